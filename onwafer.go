package tempc

import (
	"context"
	"errors"
	"fmt"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// CutStep is what one cut of the wafer gave an on-wafer pipeline: its
// best step, or why no split of the model fits it.
type CutStep struct {
	// Cut names the cut ("6 slabs of rows"), Slab one slab's shape on the
	// wafer ("1x8") and Stages the pipeline depth.
	Cut    string `json:"cut"`
	Slab   string `json:"slab"`
	Stages int    `json:"stages"`
	// MicroBatches and StepSeconds are the best pipeline's (zero with
	// Error).
	MicroBatches int     `json:"micro_batches,omitempty"`
	StepSeconds  float64 `json:"step_seconds,omitempty"`
	Error        string  `json:"error,omitempty"`
}

// PlanOnWafer plans the model as a pipeline on one wafer: for every cut
// of the wafer into equal slabs of whole columns or rows
// (wafer.Spec.Cuts; o.Stages, when set, keeps the cuts of that depth),
// it runs the pipeline search of PlanPipeline with one stage per slab and
// keeps the fastest. The slabs exchange activations over the die-to-die
// links between them (wafer.Spec.Slabs), so the plan lowers, verifies and
// simulates as a pipeline across wafers does; its Cluster is the slabs'.
// Cuts deeper than the model has blocks are skipped. The result's Cuts
// lists what every cut gave. o.Solver.TimeLimit bounds the whole search
// (zero: DefaultPipelineTimeLimit); when it ends, the best of the cuts
// planned is kept (TimeUp). A wafer with faults has no cuts: an error.
func PlanOnWafer(ctx context.Context, o PipelineOptions) (*PipelineResult, error) {
	caller := ctx
	ctx, cancel := o.budget(ctx)
	defer cancel()
	res, err := planOnWafer(ctx, o, nil)
	if err := o.timeUp(caller, "searching the on-wafer pipelines", err); err != nil {
		return nil, err
	}
	if err := cancelled(caller, nil); err != nil {
		return nil, err
	}
	return res, nil
}

// planOnWafer is PlanOnWafer within ctx; only, when set, is the one cut
// searched.
func planOnWafer(ctx context.Context, o PipelineOptions, only *wafer.Cut) (*PipelineResult, error) {
	spec := o.Spec
	if spec == nil {
		var err error
		if spec, err = wafer.Load(o.Wafer); err != nil {
			return nil, err
		}
	}
	if err := spec.SingleWafer(); err != nil {
		return nil, err
	}
	if len(spec.Cuts()) == 0 {
		if _, err := spec.Slabs(wafer.Cut{Stages: 2}); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("tempc: %s (%d×%d) cannot be cut into equal slabs of whole rows or columns", spec.Name, spec.Rows, spec.Cols)
	}
	if o.Graph != nil || o.Model == "" {
		return nil, errors.New("tempc: an on-wafer pipeline needs a model by name (preset, config.json or ONNX), not a graph")
	}
	arch, err := frontend.LoadArchContext(ctx, o.Model, o.Seq, true)
	if err != nil {
		return nil, err
	}
	var best *PipelineResult
	var tried []CutStep
	var firstErr error
	timeUp := false
	for _, c := range spec.Cuts() {
		if o.Stages != 0 && c.Stages != o.Stages || c.Stages > int(arch.Layers) || only != nil && c != *only {
			continue
		}
		r, k := c.Shape(spec)
		step := CutStep{Cut: c.String(), Slab: fmt.Sprintf("%dx%d", r, k), Stages: c.Stages}
		slabs, err := spec.Slabs(c)
		if err != nil {
			return nil, err
		}
		po := o
		po.Spec, po.Wafer, po.Stages = slabs, slabs.Name, c.Stages
		res, err := planPipeline(ctx, po)
		switch {
		case err != nil && ctx.Err() != nil:
			if !errors.Is(err, context.DeadlineExceeded) {
				return nil, err // the caller's cancellation
			}
			timeUp = true
		case err != nil:
			// This cut has no pipeline (no split fits, no layout, no
			// micro-batch count divides the batch, …): the others may.
			step.Error = err.Error()
			if firstErr == nil {
				firstErr = err
			}
		default:
			step.MicroBatches, step.StepSeconds = res.MicroBatches, res.StepSeconds
			res.Cut = &c
			if best == nil || res.StepSeconds < best.StepSeconds {
				best = res
			}
			timeUp = res.TimeUp
		}
		if err == nil || step.Error != "" {
			tried = append(tried, step)
		}
		if timeUp {
			break
		}
	}
	if best == nil {
		if timeUp {
			return nil, context.DeadlineExceeded
		}
		if firstErr == nil {
			return nil, fmt.Errorf("tempc: no cut of %s into 2 to %d slabs for %s's %d blocks", spec.Name, arch.Layers, arch.Name, arch.Layers)
		}
		return nil, fmt.Errorf("tempc: no on-wafer pipeline of %s fits %s: %w", arch.Name, spec.Name, firstErr)
	}
	best.Cuts, best.TimeUp = tried, best.TimeUp || timeUp
	return best, nil
}

// AnyDepth, as Options.OnWaferStages, searches every cut of the wafer
// and every micro-batch count. GuidedDepth searches the cut and the
// micro-batch count Megatron-Core's own on-wafer search finds best
// (Guide): the free space's search of every cut and count takes minutes a
// model (a stage solve is a whole solve of tempc's space), the baseline's
// seconds, and searching the pipeline shape the baseline chose keeps the
// free space a superset of the baseline's best pipeline.
const (
	AnyDepth    = -1
	GuidedDepth = -2
)

// Guide is the configuration whose on-wafer search chooses the depth
// GuidedDepth searches: Megatron-Core with the gmap mapper.
const Guide = "megatron-core/gmap"

// Step is a training step planned on one wafer with on-wafer pipelining
// considered: the whole model on the whole wafer (Single, or SingleErr
// saying why none fits) and the best on-wafer pipeline (Pipeline, or
// PipelineErr). Pipelined says which is kept.
type Step struct {
	Single      *Solved
	SingleErr   error
	Pipeline    *PipelineResult
	PipelineErr error
	// Guided, with GuidedDepth, says how the depth searched was chosen
	// ("megatron-core/gmap chose 8 stages"), or why none was.
	Guided string
}

// Pipelined says the on-wafer pipeline is the plan kept: it fits and is
// faster than the single plan, or the single plan does not fit.
func (s *Step) Pipelined() bool {
	return s.Pipeline != nil && (s.Single == nil || s.Pipeline.StepSeconds < s.Single.Report.StepSeconds)
}

// StepSeconds is the predicted step of the plan kept.
func (s *Step) StepSeconds() float64 {
	if s.Pipelined() {
		return s.Pipeline.StepSeconds
	}
	return s.Single.Report.StepSeconds
}

// SolveStep plans o's model on one wafer: Solve, and, when
// o.OnWaferStages is set and the objective is time, PlanOnWafer, keeping
// the faster (Step.Pipelined). The single plan runs within
// o.Solver.TimeLimit as Solve's does; the on-wafer search within
// o.PipelineTimeLimit (zero: DefaultPipelineTimeLimit), each stage solve
// within o.Solver.TimeLimit. It fails only when neither fits (the single
// plan's error, the pipeline's added) or ctx ends.
func SolveStep(ctx context.Context, o Options) (*Step, error) {
	st := &Step{}
	st.Single, st.SingleErr = Solve(ctx, o)
	if err := cancelled(ctx, nil); err != nil {
		return nil, err
	}
	var oom *ilp.OutOfMemoryError
	var nl *ilp.NoLayoutError
	switch {
	case o.OnWaferStages == 0:
		return st, st.SingleErr
	case st.SingleErr != nil && !errors.As(st.SingleErr, &oom) && !errors.As(st.SingleErr, &nl) && !errors.Is(st.SingleErr, partition.ErrNoLayout):
		return nil, st.SingleErr // not that the whole wafer is too small: a pipeline would fail alike
	case o.Objective != ilp.StepTime:
		st.PipelineErr = fmt.Errorf("tempc: on-wafer pipelines are planned for step time, not %s", o.Objective)
		return st, st.SingleErr
	}
	po := PipelineOptions{Options: o}
	if o.OnWaferStages > 0 {
		po.Stages = o.OnWaferStages
	}
	limit := o.PipelineTimeLimit
	if limit <= 0 {
		limit = DefaultPipelineTimeLimit
	}
	pctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var only *wafer.Cut
	if o.OnWaferStages == GuidedDepth {
		var g *PipelineResult
		if g, st.Guided = guide(pctx, o); g == nil {
			st.PipelineErr = errors.New("tempc: no on-wafer pipeline searched: " + st.Guided)
		} else {
			only, po.Stages, po.MicroBatches = g.Cut, g.Cut.Stages, g.MicroBatches
		}
	}
	if st.PipelineErr == nil {
		st.Pipeline, st.PipelineErr = planOnWafer(pctx, po, only)
	}
	if err := cancelled(ctx, nil); err != nil {
		return nil, err
	}
	if st.PipelineErr != nil && errors.Is(st.PipelineErr, context.DeadlineExceeded) {
		st.PipelineErr = fmt.Errorf("tempc: time limit %v reached while searching the on-wafer pipelines before any was planned (%w); raise --pipeline-time-limit", limit, st.PipelineErr)
	}
	if st.Single == nil && st.Pipeline == nil {
		return nil, fmt.Errorf("%w; and on-wafer pipelines: %w", st.SingleErr, st.PipelineErr)
	}
	return st, nil
}

// guide is the best on-wafer pipeline of Guide's space for o's model and
// wafer (its micro-batch sizes and group bound kept), with a line saying
// so, or nil and why there is none. GuidedDepth searches its cut and
// micro-batch count in o's space.
func guide(ctx context.Context, o Options) (*PipelineResult, string) {
	g := Options{Model: o.Model, Batch: o.Batch, Seq: o.Seq, Wafer: o.Wafer, Spec: o.Spec, Mapper: "gmap", Seed: o.Seed,
		Solver: o.Solver, Params: o.Params}
	g.Space.Baseline, g.Space.MicroBatches, g.Space.MaxGroupDies = partition.MegatronCore, o.Space.MicroBatches, o.Space.MaxGroupDies
	res, err := planOnWafer(ctx, PipelineOptions{Options: g}, nil)
	if err != nil {
		return nil, fmt.Sprintf("%s found no on-wafer pipeline (%v)", Guide, err)
	}
	return res, fmt.Sprintf("%s chose %s, %d micro-batches (%.6g s)", Guide, res.Cut, res.MicroBatches, res.StepSeconds)
}

// MFU is the pipeline's model FLOPs utilisation: every stage's model
// FLOPs over the step, against the peak of the dies its stages use.
func (r *PipelineResult) MFU() float64 {
	flops, peak := 0.0, 0.0
	for _, st := range r.Stages {
		sv := st.Solved
		flops += sv.Table.ModelFLOPs
		peak += sv.Spec.Die.PeakFLOPS * float64(sv.Report.Layout.DiesUsed)
	}
	return flops / r.StepSeconds / peak
}
