package driver

import (
	"fmt"
	"io"
	"time"

	"tempc/costmodel"
	"tempc/frontend"
	"tempc/ilp"
	"tempc/partition"
	"tempc/wafer"
)

// PlanOptions selects a model, a wafer and the strategy space of the
// global level; the zero value of every field but Model and Wafer means
// its default.
type PlanOptions struct {
	Model      string
	Wafer      string
	Batch, Seq int64
	// Space shapes the strategy space (family, micro-batches,
	// recomputation, aliasing).
	Space partition.Config
	// Objective is what the ILP minimises.
	Objective ilp.Objective
	// Solver sets the time limit, gap and threads.
	Solver ilp.Options
	// Progress, when set, receives a line per pipeline stage.
	Progress io.Writer
}

// priced is a model and wafer run through partition and costmodel.
type priced struct {
	table    *costmodel.Table
	spec     *wafer.Spec
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
	s, err := wafer.Load(o.Wafer)
	if err != nil {
		return nil, err
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
	t, err := m.Price(sp)
	if err != nil {
		return nil, err
	}
	o.say("priced in %.2f s", time.Since(start).Seconds())
	return &priced{table: t, spec: s, prepared: time.Since(start)}, nil
}

// SolveOptions are the options of `tempc solve`.
type SolveOptions struct {
	PlanOptions
	JSON bool
}

// Solve chooses the layout and per-group strategies of a model on a wafer
// and writes the plan's figures and the solver record to w.
func Solve(w io.Writer, o SolveOptions) error {
	p, err := price(o.PlanOptions)
	if err != nil {
		return err
	}
	start := time.Now()
	sol, err := ilp.Solve(p.table, ilp.Config{Objective: o.Objective}, ilp.HiGHS{}, o.Solver)
	if err != nil {
		return err
	}
	r := report(p, o.PlanOptions, sol)
	r.FormulateSeconds = p.prepared.Seconds() + time.Since(start).Seconds() - sol.Result.Seconds
	if o.JSON {
		return writeJSON(w, r)
	}
	return r.WriteText(w)
}
