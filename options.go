package tempc

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
	"github.com/tempc/tempc/ir"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// Options selects a model, a wafer and the strategy space of the global
// level; the zero value of every field but Model (or Graph) and Wafer (or
// Spec) means its default.
type Options struct {
	// Model is a preset name (frontend.PresetNames), a Hugging Face
	// config.json (or its folder), a tempc JSON graph or an ONNX file;
	// Batch and Seq size it (0: 128 sequences of the model's context).
	Model      string
	Batch, Seq int64
	// Graph, when set, is used instead of loading Model; Batch and Seq
	// are then the graph's own (others are an error). A plan compiled
	// from it records Model as its model_source, so with Model empty
	// ReadPlan needs the model to check the plan's work.
	Graph *ir.Graph
	// Wafer is a preset name (wafer.PresetNames) or a wafer JSON file;
	// Spec, when set, is used instead of loading Wafer.
	Wafer string
	Spec  *wafer.Spec
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
	// OnWaferStages, for SolveStep and CompileStep, also plans the model
	// as a pipeline on equal slabs of the wafer (PlanOnWafer) and keeps it
	// when faster: AnyDepth tries every cut of the wafer, GuidedDepth the
	// cut and micro-batch count Megatron-Core's search chooses, n ≥ 2 the
	// cuts of n stages, 0 (the default) none. PipelineTimeLimit bounds that
	// search (0: DefaultPipelineTimeLimit).
	OnWaferStages     int
	PipelineTimeLimit time.Duration
	// Progress, when set, receives a line per pipeline stage.
	Progress io.Writer
}

// Configuration names what plans: "temp" (every scheme, the temp mapper),
// a canonical baseline with its mapper ("megatron1/smap"), a tuned family
// ("megatron3-tuned/gmap"), or the full space with another mapper
// ("auto/gmap"); "-no-tcme" marks the temp mapper without re-routing.
func (o Options) Configuration() string {
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

// NewMapper is the mapper called name (heuristics.ByName) with the
// options' seed and TCME switch.
func (o Options) NewMapper(name string) (heuristics.Mapper, error) {
	mp, err := heuristics.ByName(name, o.Seed)
	if t, ok := mp.(heuristics.TEMP); ok && o.NoTCME {
		t.NoReroute = true
		mp = t
	}
	return mp, err
}

func (o Options) say(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// limit is the planning time limit: Solver.TimeLimit, or
// ilp.DefaultTimeLimit.
func (o Options) limit() time.Duration {
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
func (o Options) budget(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, o.limit())
}

// graph is the training graph to plan: Graph, or Model loaded (a pipe
// or FIFO allowed: the user named it) until ctx ends.
func (o Options) graph(ctx context.Context) (*ir.Graph, error) {
	if o.Graph != nil {
		if g := o.Graph; o.Batch != 0 && o.Batch != g.Batch || o.Seq != 0 && o.Seq != g.Seq {
			return nil, fmt.Errorf("tempc: graph %s fixes its batch and sequence (%d × %d), but Options gives batch %d, sequence %d: leave them zero", g.Name, g.Batch, g.Seq, o.Batch, o.Seq)
		}
		if err := o.Graph.Verify(); err != nil {
			return nil, fmt.Errorf("tempc: graph %s: %w", o.Graph.Name, err)
		}
		return o.Graph, nil
	}
	if o.Model == "" {
		return nil, errors.New("tempc: no model: set Options.Model or Options.Graph")
	}
	return frontend.LoadContext(ctx, o.Model, frontend.Options{Batch: o.Batch, Seq: o.Seq, Pipes: true})
}

// TimeUp turns a planning deadline hit during stage into an error that
// says what ran out and what to do.
func (o Options) TimeUp(stage string, err error) error {
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	limit := o.limit()
	return fmt.Errorf("tempc: time limit %v reached while %s (%w); raise the time limit (--time-limit; Options.Solver.TimeLimit) or shrink the space (--max-group, --micro-batches, --recompute, or without --unaliased)", limit, stage, err)
}
