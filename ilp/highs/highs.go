package highs

import (
	"fmt"
	"time"

	"github.com/tempc/tempc/ilp"
)

// Solver solves ilp.Problems with the HiGHS MIP solver (Huangfu and Hall,
// "Parallelizing the dual revised simplex method", Math. Prog. Comp. 2018;
// branch-and-cut by the HiGHS team) through its C API (capi.go).
type Solver struct{}

var _ ilp.Solver = Solver{}

// Solve passes p to HiGHS, sets time_limit, mip_rel_gap, threads and
// output_flag, solves, and reads back status, objective, dual bound and
// gap. A solve stopped by the time limit returns its incumbent, if any.
func (Solver) Solve(p *ilp.Problem, o ilp.Options) (*ilp.Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	start := time.Now()
	res, err := runBounded(p, o)
	if err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.Rows, res.Cols = len(p.Rows), len(p.Cols)
	for _, r := range p.Rows {
		res.Nonzeros += len(ilp.MergeTerms(r.Terms))
	}
	return res, nil
}

// runBounded runs capiRun but returns by the time limit (or deadline)
// plus a grace period even when HiGHS does not: a presolve round or a
// rounding heuristic on a model of 200,000 rows can run for minutes
// without looking at the clock (HiGHS's own log, ilp.Options.Log, on the
// gpt3-6.7b --unaliased model: one presolve round ran past a 5 s limit by
// over two minutes, randomized rounding past a 20 s one by 15 s). The
// abandoned solve
// finishes on its own goroutine and frees its HiGHS instance when HiGHS
// stops; the caller gets a time-limit result without an incumbent.
//
// HiGHS runs one at a time in the process (highsRuns): its task scheduler
// is shared by all instances, and instances solving at once on different
// threads are not safe. A solve queued behind an abandoned one starts
// with the time its own deadline leaves, or not at all.
func runBounded(p *ilp.Problem, o ilp.Options) (*ilp.Result, error) {
	deadline := time.Now().Add(o.TimeLimit)
	if !o.Deadline.IsZero() && o.Deadline.Before(deadline) {
		deadline = o.Deadline
	}
	o.Deadline = deadline
	type outcome struct {
		res *ilp.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		highsRuns <- struct{}{}
		defer func() { <-highsRuns }()
		res, err := capiRun(p, o)
		done <- outcome{res, err}
	}()
	grace := time.Second + o.TimeLimit/20
	timer := time.NewTimer(time.Until(deadline) + grace)
	defer timer.Stop()
	select {
	case out := <-done:
		return out.res, out.err
	case <-o.Cancel: // nil: never
		// HiGHS stops at its next interrupt check; its instance is freed
		// then, on the goroutine above.
		return &ilp.Result{Status: ilp.TimeLimit, Detail: "interrupted"}, nil
	case <-timer.C:
		return &ilp.Result{Status: ilp.TimeLimit, Detail: fmt.Sprintf("HiGHS had not stopped %v after its time limit; abandoned without an incumbent", grace.Round(time.Millisecond))}, nil
	}
}

// highsRuns holds a token while a HiGHS solve runs: the one piece of
// process-wide state, because HiGHS's own scheduler is process-wide.
var highsRuns = make(chan struct{}, 1)
