package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/heuristics"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ilp/highs"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// PlanOptions selects a model, a wafer and the strategy space of the
// global level; the zero value of every field but Model and Wafer means
// its default.
type PlanOptions struct {
	Model string
	Wafer string
	// Spec, when set, is used instead of loading Wafer.
	Spec       *wafer.Spec
	Batch, Seq int64
	// Space shapes the strategy space (family, micro-batches,
	// recomputation, aliasing).
	Space partition.Config
	// Objective is what the ILP minimises.
	Objective ilp.Objective
	// Solver sets the time limit, gap and threads.
	Solver ilp.Options
	// Mapper is the local level: temp (default), smap or gmap; Seed seeds
	// temp's annealing; Iterations caps the dual-level loop (temp only).
	Mapper     string
	Seed       uint64
	Iterations int
	// MemoryTolerance makes memory the secondary objective: of the plans
	// within this fraction of the best objective, the one with least peak
	// memory per die (0, the default: among the best only; negative: no
	// second solve).
	MemoryTolerance float64
	// NoTCME turns the temp mapper's re-routing off (heuristics.TEMP's
	// NoReroute): the ablation's step between the relay schemes and TCME.
	NoTCME bool
	// Params are the cost model's (the DP bucket among them, which
	// lowering follows).
	Params costmodel.Params
	// Progress, when set, receives a line per pipeline stage.
	Progress io.Writer
}

// Configuration names what plans: "temp" (every scheme, the temp mapper),
// a canonical baseline with its mapper ("megatron1/smap"), a tuned family
// ("megatron3-tuned/gmap"), or the full space with another mapper
// ("auto/gmap"); "-no-tcme" marks the temp mapper without re-routing.
func (o PlanOptions) Configuration() string {
	mapper := o.Mapper
	if mapper == "" {
		mapper = "temp"
	}
	if mapper == "temp" && o.NoTCME {
		mapper = "temp-no-tcme"
	}
	switch f := o.Space.Family; {
	case o.Space.Baseline != "":
		return string(o.Space.Baseline) + "/" + mapper
	case f != "" && f != partition.Auto:
		return string(f) + "-tuned/" + mapper
	case mapper == "temp" || mapper == "temp-no-tcme":
		return mapper
	}
	return "auto/" + mapper
}

// mapperNamed is the mapper called name with the options' seed and TCME
// switch.
func (o PlanOptions) mapperNamed(name string) (heuristics.Mapper, error) {
	mp, err := heuristics.ByName(name, o.Seed)
	if t, ok := mp.(heuristics.TEMP); ok && o.NoTCME {
		t.NoReroute = true
		mp = t
	}
	return mp, err
}

// priced is a model and wafer run through partition and costmodel.
type priced struct {
	table    *costmodel.Table
	spec     *wafer.Spec
	model    *costmodel.Model
	mapper   heuristics.Mapper
	prepared time.Duration // frontend + partition + pricing
}

func (o PlanOptions) say(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// limit is the planning time limit: Solver.TimeLimit, or
// ilp.DefaultTimeLimit.
func (o PlanOptions) limit() time.Duration {
	if o.Solver.TimeLimit <= 0 {
		return ilp.DefaultTimeLimit
	}
	return o.Solver.TimeLimit
}

// budget is the planning deadline, the time limit from now. Loading,
// pricing and the dual-level loop check it between their steps (one
// layout priced, one mapping, one solve: a mapping and its re-pricing run
// to their end, well under a second on temp48), and each HiGHS solve is
// given the time left.
func (o PlanOptions) budget() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), o.limit())
}

// timeUp turns a planning deadline hit during stage into an error that
// says what ran out and what to do.
func (o PlanOptions) timeUp(stage string, err error) error {
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	limit := o.limit()
	return fmt.Errorf("driver: time limit %v reached while %s (%w); raise --time-limit or shrink the space (--max-group, --micro-batches, --recompute, or without --unaliased)", limit, stage, err)
}

// price loads the model and wafer and prices the strategy space before
// ctx's deadline.
func price(ctx context.Context, o PlanOptions) (*priced, error) {
	start := time.Now()
	g, err := frontend.Load(o.Model, frontend.Options{Batch: o.Batch, Seq: o.Seq})
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
	mapper, err := o.mapperNamed(o.Mapper)
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
		return nil, o.timeUp("pricing", err)
	}
	o.say("priced in %.2f s", time.Since(start).Seconds())
	return &priced{table: t, spec: s, model: m, mapper: mapper, prepared: time.Since(start)}, nil
}

// solved is a priced space after the global level (and, for the temp
// mapper, the dual-level loop).
type solved struct {
	*priced
	sol          *ilp.Solution
	iterations   []heuristics.Iteration
	reports      []heuristics.Report
	solveSeconds float64 // all solves
	// deadline is the end of the planning budget (PlanOptions.budget).
	deadline time.Time
}

// solveAll solves the global level; with the temp mapper it runs the
// dual-level loop, re-pricing chosen layouts on their refined mappings.
func solveAll(o PlanOptions) (*solved, error) {
	ctx, cancel := o.budget()
	defer cancel()
	p, err := price(ctx, o)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	r := &solved{priced: p, deadline: deadline}
	solve := func(t *costmodel.Table) (*ilp.Solution, error) {
		so := o.Solver
		if so.TimeLimit = time.Until(deadline); so.TimeLimit <= 0 {
			return nil, o.timeUp("solving", context.DeadlineExceeded)
		}
		so.Deadline = deadline
		sol, err := ilp.Solve(t, ilp.Config{Objective: o.Objective}, highs.Solver{}, so)
		if errors.Is(err, ilp.ErrTimeLimit) { // HiGHS stopped at the time left
			return nil, o.timeUp("solving", fmt.Errorf("%w: %w", err, context.DeadlineExceeded))
		}
		if err == nil {
			r.solveSeconds += sol.Result.Seconds
			o.say("solved: %s, objective %.6g", t.Space.Layouts[sol.Assignment.Layout].Name(), sol.Result.Objective)
		}
		return sol, err
	}
	if _, ok := p.mapper.(heuristics.TEMP); ok {
		r.sol, p.table, r.iterations, r.reports, err = heuristics.DualLevel(ctx, p.model, p.table, p.mapper, solve, o.Objective, o.Iterations)
	} else {
		r.sol, err = solve(p.table)
	}
	if err != nil {
		return nil, err
	}
	so := o.Solver
	so.TimeLimit, so.Deadline = time.Until(deadline), deadline
	if o.MemoryTolerance >= 0 && so.TimeLimit > 0 {
		// Once, on the final table: the dual-level loop chooses by the
		// objective alone. Without time left the plan stands as solved
		// (no memory_solve_status in the report).
		cfg := ilp.Config{Objective: o.Objective, MemoryTolerance: o.MemoryTolerance}
		if err := r.sol.LeastMemory(p.table, cfg, highs.Solver{}, so); err != nil {
			return nil, err
		}
		r.solveSeconds += r.sol.Memory.Seconds
		o.say("least memory within %g: %s, %.3g GB per die", o.MemoryTolerance, p.table.Space.Layouts[r.sol.Assignment.Layout].Name(), r.sol.Breakdown.Mem.Total()/1e9)
	}
	return r, nil
}

// SolveOptions are the options of `tempc solve`.
type SolveOptions struct {
	PlanOptions
	JSON bool
}

// Solve chooses the layout and per-group strategies of a model on a wafer
// and writes the plan's figures and the solver record to w.
func Solve(w io.Writer, o SolveOptions) error {
	start := time.Now()
	sv, err := solveAll(o.PlanOptions)
	if err != nil {
		if o.JSON {
			if werr := writeJSON(w, failure(o.PlanOptions, err)); werr != nil {
				return werr
			}
		}
		return err
	}
	r := report(sv, o.PlanOptions, time.Since(start))
	if o.JSON {
		return writeJSON(w, r)
	}
	return r.WriteText(w)
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

func failure(o PlanOptions, err error) *FailureReport {
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
