package tempc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/heuristics"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ilp/highs"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// Price loads the model and wafer of o and prices its strategy space,
// without solving it: the Solved it returns has no Solution or Report.
// Pricing stops with an error when ctx ends.
func Price(ctx context.Context, o Options) (*Solved, error) {
	start := time.Now()
	g, err := o.graph(ctx)
	if err != nil {
		return nil, err
	}
	s := o.Spec
	if s == nil {
		if s, err = wafer.Load(o.Wafer); err != nil {
			return nil, err
		}
	}
	sp, err := partition.Build(g, s, o.Space)
	if err != nil {
		return nil, err
	}
	o.say("space: %s", sp)
	m, err := costmodel.New(s, o.Params)
	if err != nil {
		return nil, err
	}
	mapper, err := o.NewMapper(o.Mapper)
	if err != nil {
		return nil, err
	}
	var t *costmodel.Table
	if _, ok := mapper.(heuristics.TEMP); ok {
		t, err = m.PriceContext(ctx, sp) // canonical mappings; the dual-level loop refines the chosen one
	} else {
		t, err = heuristics.MapAll(ctx, m, sp, mapper)
	}
	if err != nil {
		return nil, o.TimeUp("pricing", err)
	}
	o.say("priced in %.2f s", time.Since(start).Seconds())
	return &Solved{Table: t, Spec: s, CostModel: m, Mapper: mapper, PrepareSeconds: time.Since(start).Seconds()}, nil
}

// Solved is a model's strategy space priced on a wafer and solved by the
// global level (and, for the temp mapper, the dual-level loop).
type Solved struct {
	// Report is what `tempc solve --json` prints.
	Report *SolveReport
	// Table is the priced strategy space (the final one: the dual-level
	// loop re-prices chosen layouts on their refined mappings); Spec the
	// wafer; CostModel the analytic model that priced it; Mapper the
	// local level.
	Table     *costmodel.Table
	Spec      *wafer.Spec
	CostModel *costmodel.Model
	Mapper    heuristics.Mapper
	// Solution is the chosen assignment with the solver's record.
	Solution *ilp.Solution
	// Iterations are the dual-level loop's solves and MapperReports what
	// the mapper did to each layout it mapped (temp only).
	Iterations    []heuristics.Iteration
	MapperReports []heuristics.Report
	// PrepareSeconds is the wall time of loading, building and pricing;
	// SolveSeconds of all solves.
	PrepareSeconds float64
	SolveSeconds   float64
	// Deadline is the end of the planning budget (Options.Solver's time
	// limit from the start).
	Deadline time.Time
}

// Solve loads the model and wafer of o, builds and prices the strategy
// space and solves the global level; with the temp mapper it runs the
// dual-level loop, re-pricing chosen layouts on their refined mappings.
// The whole of it runs within o.Solver.TimeLimit (ilp.DefaultTimeLimit
// when zero) and ctx. An infeasible model returns an
// *ilp.OutOfMemoryError or *ilp.NoLayoutError saying why; Failure turns
// any error into the report `--json` prints.
func Solve(ctx context.Context, o Options) (*Solved, error) {
	start := time.Now()
	caller := ctx
	ctx, cancel := o.budget(ctx)
	defer cancel()
	r, err := Price(ctx, o)
	if err := cancelled(caller, err); err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	r.Deadline = deadline
	p := r
	solve := func(t *costmodel.Table) (*ilp.Solution, error) {
		so := o.Solver
		if so.TimeLimit = time.Until(deadline); so.TimeLimit <= 0 {
			return nil, o.TimeUp("solving", context.DeadlineExceeded)
		}
		so.Deadline, so.Cancel = deadline, caller.Done()
		sol, err := ilp.Solve(t, ilp.Config{Objective: o.Objective}, highs.Solver{}, so)
		if err := cancelled(caller, nil); err != nil {
			return nil, err
		}
		if errors.Is(err, ilp.ErrTimeLimit) { // HiGHS stopped at the time left
			return nil, o.TimeUp("solving", fmt.Errorf("%w: %w", err, context.DeadlineExceeded))
		}
		if err == nil {
			r.SolveSeconds += sol.Result.Seconds
			o.say("solved: %s, objective %.6g", t.Space.Layouts[sol.Assignment.Layout].Name(), sol.Result.Objective)
		}
		return sol, err
	}
	if _, ok := p.Mapper.(heuristics.TEMP); ok {
		r.Solution, p.Table, r.Iterations, r.MapperReports, err = heuristics.DualLevel(ctx, p.CostModel, p.Table, p.Mapper, solve, o.Objective, o.Iterations)
	} else {
		r.Solution, err = solve(p.Table)
	}
	if err := cancelled(caller, err); err != nil {
		return nil, err
	}
	so := o.Solver
	so.TimeLimit, so.Deadline, so.Cancel = time.Until(deadline), deadline, caller.Done()
	if o.MemoryTolerance >= 0 && so.TimeLimit > 0 {
		// Once, on the final table: the dual-level loop chooses by the
		// objective alone. Without time left the plan stands as solved
		// (no memory_solve_status in the report).
		cfg := ilp.Config{Objective: o.Objective, MemoryTolerance: o.MemoryTolerance}
		if err := cancelled(caller, r.Solution.LeastMemory(p.Table, cfg, highs.Solver{}, so)); err != nil {
			return nil, err
		}
		r.SolveSeconds += r.Solution.Memory.Seconds
		o.say("least memory within %g: %s, %.3g GB per die", o.MemoryTolerance, p.Table.Space.Layouts[r.Solution.Assignment.Layout].Name(), r.Solution.Breakdown.Mem.Total()/1e9)
	}
	r.Report = report(r, o, time.Since(start))
	return r, nil
}

// cancelled is err, or the caller's own error when its context ended: the
// planning budget (a deadline Solve sets inside the caller's context)
// stops the search and keeps what it found, but a caller that cancels, or
// whose own deadline passes, gets its context's error and no plan.
func cancelled(caller context.Context, err error) error {
	if cerr := caller.Err(); cerr != nil {
		return fmt.Errorf("tempc: planning stopped: %w", context.Cause(caller))
	}
	return err
}

// FailureReport is what `--json` prints when no plan comes out, so that a
// script reads why from stdout (the command still exits 1). Status is
// "infeasible" (no assignment fits, or no layout can run every op group),
// "time-limit" (the planning deadline ended it) or "error".
type FailureReport struct {
	Status      string `json:"status"`
	Model       string `json:"model"`
	Wafer       string `json:"wafer"`
	Explanation string `json:"explanation"`
	// For an out-of-memory infeasibility: the least memory per die any
	// assignment needs, the capacity, and the layout that needs least, by
	// term.
	NeedBytesPerDie     float64        `json:"need_bytes_per_die,omitempty"`
	CapacityBytesPerDie float64        `json:"capacity_bytes_per_die,omitempty"`
	BestLayout          string         `json:"best_layout,omitempty"`
	Memory              *costmodel.Mem `json:"memory_bytes_per_die,omitempty"`
}

// Failure is the report of a planning error: why no plan came out.
func Failure(o Options, err error) *FailureReport {
	r := &FailureReport{Status: "error", Model: o.Model, Wafer: o.Wafer, Explanation: err.Error()}
	if o.Spec != nil {
		r.Wafer = o.Spec.Name
	}
	var oom *ilp.OutOfMemoryError
	var nl *ilp.NoLayoutError
	switch {
	case errors.As(err, &oom):
		r.Status, r.Model, r.Wafer = "infeasible", oom.Model, oom.Wafer
		r.NeedBytesPerDie, r.CapacityBytesPerDie, r.BestLayout, r.Memory = oom.Need, oom.Have, oom.Layout, &oom.Mem
	case errors.As(err, &nl):
		r.Status, r.Model, r.Wafer = "infeasible", nl.Model, nl.Wafer
	case errors.Is(err, context.DeadlineExceeded):
		r.Status = "time-limit"
	}
	return r
}
