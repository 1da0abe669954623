package driver

import (
	"fmt"
	"io"
	"time"

	"tempc/costmodel"
	"tempc/frontend"
	"tempc/heuristics"
	"tempc/ilp"
	"tempc/partition"
	"tempc/wafer"
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
	// Progress, when set, receives a line per pipeline stage.
	Progress io.Writer
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

// price loads the model and wafer and prices the strategy space.
func price(o PlanOptions) (*priced, error) {
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
	m, err := costmodel.New(s, costmodel.Params{})
	if err != nil {
		return nil, err
	}
	mapper, err := heuristics.ByName(o.Mapper, o.Seed)
	if err != nil {
		return nil, err
	}
	var t *costmodel.Table
	if _, ok := mapper.(heuristics.TEMP); ok {
		t, err = m.Price(sp) // canonical mappings; the dual-level loop refines the chosen one
	} else {
		t, err = heuristics.MapAll(m, sp, mapper)
	}
	if err != nil {
		return nil, err
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
}

// solveAll solves the global level; with the temp mapper it runs the
// dual-level loop, re-pricing chosen layouts on their refined mappings.
func solveAll(o PlanOptions) (*solved, error) {
	p, err := price(o)
	if err != nil {
		return nil, err
	}
	r := &solved{priced: p}
	solve := func(t *costmodel.Table) (*ilp.Solution, error) {
		sol, err := ilp.Solve(t, ilp.Config{Objective: o.Objective}, ilp.HiGHS{}, o.Solver)
		if err == nil {
			r.solveSeconds += sol.Result.Seconds
			o.say("solved: %s, objective %.6g", t.Space.Layouts[sol.Assignment.Layout].Name(), sol.Result.Objective)
		}
		return sol, err
	}
	if _, ok := p.mapper.(heuristics.TEMP); ok {
		r.sol, p.table, r.iterations, r.reports, err = heuristics.DualLevel(p.model, p.table, p.mapper, solve, o.Objective, o.Iterations)
	} else {
		r.sol, err = solve(p.table)
	}
	if err != nil {
		return nil, err
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
		return err
	}
	r := report(sv, o.PlanOptions, time.Since(start))
	if o.JSON {
		return writeJSON(w, r)
	}
	return r.WriteText(w)
}
