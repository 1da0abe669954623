package tempc

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// PlanSummary is a lowered plan in figures.
type PlanSummary struct {
	// TasksStored counts the tasks of the plan's blocks, TasksExpanded
	// those of the whole step (every run of every block); Blocks the
	// blocks.
	TasksStored   int64   `json:"tasks_stored"`
	TasksExpanded int64   `json:"tasks_expanded"`
	Blocks        int     `json:"blocks"`
	LowerSeconds  float64 `json:"lower_seconds"`
	// DMADescriptors is the step's DMA descriptors over all dies.
	DMADescriptors int64 `json:"dma_descriptors_per_step"`
}

// Result is a model compiled for a wafer: solved, lowered to per-die
// programs and verified.
type Result struct {
	*Solved
	// Plan is the lowered plan (plan.WriteJSON writes the plan file);
	// Summary it in figures.
	Plan    *plan.Plan
	Summary PlanSummary
}

// Compile runs the whole pipeline — graph, strategy space, pricing, ILP,
// lowering, verification — and returns the plan with the solve report.
// The lowered plan is held to its wafer (plan.Verify) and to its graph's
// work (lower.CheckWork); a failure of either is a bug in tempc and says
// so. When ctx ends, Compile returns its error (wrapped) and no plan, at
// the latest once the step it is in (a solve, lowering, a check) ends.
func Compile(ctx context.Context, o Options) (*Result, error) {
	sv, err := Solve(ctx, o)
	if err != nil {
		return nil, err
	}
	return compileSolved(ctx, o, sv)
}

// CompiledStep is a step planned with on-wafer pipelining considered
// (SolveStep) and compiled: Single, the whole model on the whole wafer,
// or, when the pipeline was kept (Step.Pipelined), Pipeline. Step keeps
// what both searches gave.
type CompiledStep struct {
	Step     *Step
	Single   *Result
	Pipeline *CompiledPipeline
}

// Plan is the compiled plan and Spec the wafer it runs on (a pipeline's:
// its slabs joined, the wafer itself or, cut across rows, transposed).
func (c *CompiledStep) Plan() (*plan.Plan, *wafer.Spec) {
	if c.Pipeline != nil {
		return c.Pipeline.Plan, c.Pipeline.Spec
	}
	return c.Single.Plan, c.Single.Spec
}

// Summary is the compiled plan in figures.
func (c *CompiledStep) Summary() PlanSummary {
	if c.Pipeline != nil {
		return c.Pipeline.Summary
	}
	return c.Single.Summary
}

// CompileStep plans the step as SolveStep does and lowers and verifies
// the plan kept, as Compile (one wafer) or CompilePipeline (a pipeline)
// do.
func CompileStep(ctx context.Context, o Options) (*CompiledStep, error) {
	st, err := SolveStep(ctx, o)
	if err != nil {
		return nil, err
	}
	c := &CompiledStep{Step: st}
	if st.Pipelined() {
		po := PipelineOptions{Options: o, Stages: len(st.Pipeline.Stages)}
		c.Pipeline, err = lowerPipeline(ctx, po, st.Pipeline)
	} else {
		c.Single, err = compileSolved(ctx, o, st.Single)
	}
	if err := cancelled(ctx, err); err != nil {
		return nil, err
	}
	return c, nil
}

// compileSolved lowers and verifies a solved plan (Compile).
func compileSolved(ctx context.Context, o Options, sv *Solved) (*Result, error) {
	if err := cancelled(ctx, nil); err != nil {
		return nil, err
	}
	lowerStart := time.Now()
	pl, err := lower.Lower(sv.Table, sv.Solution.Assignment)
	if err := cancelled(ctx, err); err != nil {
		return nil, err
	}
	pl.ModelSource = modelSource(o.Model)
	pl.Configuration = o.Configuration()
	pl.Compiler = "tempc " + Version()
	pl.Solver = solverRecord(sv, o)
	if err := pl.Verify(sv.Spec); err != nil {
		return nil, fmt.Errorf("tempc: the lowered plan does not verify (a bug): %w", err)
	}
	if err := lower.CheckWork(pl, sv.Table.Space); err != nil {
		return nil, fmt.Errorf("tempc: the lowered plan does not do the graph's work (a bug): %w", err)
	}
	if err := cancelled(ctx, nil); err != nil {
		return nil, err
	}
	lowering := time.Since(lowerStart)
	o.say("lowered and verified in %.2f s", lowering.Seconds())
	stored, expanded := pl.Size()
	descriptors, _, _, _, err := CommFigures(pl, sv.Spec)
	if err != nil {
		return nil, err
	}
	return &Result{Solved: sv, Plan: pl, Summary: PlanSummary{TasksStored: stored, TasksExpanded: expanded,
		Blocks: blocks(pl), LowerSeconds: lowering.Seconds(), DMADescriptors: descriptors}}, nil
}

// solverRecord is how the global level chose sv's plan, as a plan
// records it.
func solverRecord(sv *Solved, o Options) *plan.Solver {
	res := sv.Solution.Result
	return &plan.Solver{Name: "HiGHS", Status: res.Status.String(), Objective: o.Objective.String(),
		Value: res.Objective, DualBound: res.DualBound, MIPGap: res.MIPGap, Seconds: sv.SolveSeconds,
		Rows: res.Rows, Cols: res.Cols, Nonzeros: res.Nonzeros}
}

// CommFigures is the step's DMA descriptors, and the block whose busiest
// link carries the most transfers per run, with that link and count.
func CommFigures(pl *plan.Plan, s *wafer.Spec) (descriptors int64, worst string, worstN int, worstLink wafer.LinkID, err error) {
	worstLink = -1
	err = pl.Walk(func(n *plan.Node, runs int) error {
		c, err := n.Program.Comm(s)
		if err != nil {
			return err
		}
		for _, d := range c.DMA {
			descriptors += int64(len(d)) * int64(runs)
		}
		if l, k := c.Busiest(); k > worstN {
			worst, worstN, worstLink = n.Name, k, l
		}
		return nil
	})
	return descriptors, worst, worstN, worstLink, err
}

func blocks(p *plan.Plan) int {
	n := 0
	p.Walk(func(*plan.Node, int) error { n++; return nil })
	return n
}

// modelSource is what a plan records as its model_source: a preset's
// name, or a model file's absolute path, so that the plan can be
// simulated from any directory.
func modelSource(model string) string {
	if model == "" {
		return "" // planned from Options.Graph: ReadPlan needs the model given
	}
	if _, ok := frontend.Preset(model); ok {
		return model
	}
	if abs, err := filepath.Abs(model); err == nil {
		return abs
	}
	return model
}
