package tempc

import (
	"context"
	"fmt"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
	"github.com/tempc/tempc/wafer/sim"
)

// PipelineSim is a simulated pipeline step: each stage's use of its
// wafer, the pipeline bubble simulated and predicted, and the traffic of
// the links between the wafers.
type PipelineSim struct {
	Schedule     string `json:"schedule"`
	MicroBatches int    `json:"micro_batches"`
	// Bubble is the share of the passes' span (first pass start to last
	// pass end) the stages spent outside their passes (sim.PipelineStats);
	// PredictedBubble the cost model's timeline's.
	Bubble          float64    `json:"bubble"`
	PredictedBubble float64    `json:"predicted_bubble"`
	SpanSeconds     float64    `json:"span_seconds"`
	Stages          []StageSim `json:"stages"`
	// InterWafer are the links between the wafers, both directions, every
	// row, with what they carried; InterWaferBytes their sum.
	InterWafer      []LinkUse `json:"inter_wafer_links"`
	InterWaferBytes float64   `json:"inter_wafer_bytes"`
}

// StageSim is one stage over the simulated step: its blocks (FirstBlock
// to LastBlock, both included, as `tempc pipeline` reports them), wafer
// and layout; PassSeconds the time it was inside a forward or backward pass
// and Bubble the rest of the passes' span as a share of it; BusySeconds
// its dies' mean compute-engine time; its dies' peak memory, static bytes
// included.
type StageSim struct {
	Stage       int     `json:"stage"`
	Wafer       int     `json:"wafer"`
	FirstBlock  int     `json:"first_block"`
	LastBlock   int     `json:"last_block"`
	Layout      string  `json:"layout"`
	PassSeconds float64 `json:"pass_seconds"`
	Bubble      float64 `json:"bubble"`
	BusySeconds float64 `json:"mean_busy_seconds"`
	PeakMemory  float64 `json:"peak_memory_bytes_per_die"`
}

// staticBytes is what each die of p holds all step: a pipeline stage's
// own, or the plan's.
func staticBytes(p *plan.Plan) func(wafer.DieID) float64 {
	if p.Pipeline == nil {
		return func(wafer.DieID) float64 { return p.StaticBytes }
	}
	of := map[wafer.DieID]float64{}
	for _, st := range p.Pipeline.Stages {
		for _, d := range st.Dies {
			of[d] = st.StaticBytes
		}
	}
	return func(d wafer.DieID) float64 { return of[d] }
}

// pipelineReport adds a pipeline plan's stages and inter-wafer links to r.
func pipelineReport(r *SimulateReport, p *plan.Plan, s *wafer.Spec, st *sim.StepResult) {
	pl := p.Pipeline
	ps := &PipelineSim{Schedule: pl.Schedule, MicroBatches: pl.MicroBatches, PredictedBubble: pl.PredictedBubble}
	if st.Pipeline != nil {
		ps.Bubble, ps.SpanSeconds = st.Pipeline.Bubble(), st.Pipeline.Span
	}
	for k, stage := range pl.Stages {
		ss := StageSim{Stage: k, Wafer: stage.Wafer, FirstBlock: stage.FirstBlock, LastBlock: stage.EndBlock - 1, Layout: stage.Layout}
		if st.Pipeline != nil && k < len(st.Pipeline.PassSeconds) {
			ss.PassSeconds = st.Pipeline.PassSeconds[k]
			if ps.SpanSeconds > 0 {
				ss.Bubble = 1 - ss.PassSeconds/ps.SpanSeconds
			}
		}
		for _, d := range stage.Dies {
			ss.BusySeconds += st.Dies[d].BusySeconds / float64(len(stage.Dies))
			ss.PeakMemory = max(ss.PeakMemory, stage.StaticBytes+st.Dies[d].PeakMemoryBytes)
		}
		ps.Stages = append(ps.Stages, ss)
	}
	for _, l := range st.Links {
		if s.OnSeam(l.Link) {
			ps.InterWafer = append(ps.InterWafer, LinkUse{Link: l.Name, Bytes: l.Bytes, Utilization: l.Utilization})
			ps.InterWaferBytes += l.Bytes
		}
	}
	r.Pipeline = ps
}

// readPipeline joins a pipeline plan's cluster into one mesh, verifies the
// plan on it, and holds each stage to its stage graph's work: the stage
// graph is rebuilt from the model (model, or the plan's model_source) and
// its blocks, and its step — the stage's passes in its order
// (plan.Stage.Steps) — checked by lower.CheckStageWork as a plan of its own.
func readPipeline(p *plan.Plan, cluster *wafer.Spec, file, model string) (*plan.Plan, *wafer.Spec, error) {
	if cluster.Cluster == nil {
		return nil, nil, fmt.Errorf("tempc: %s is a pipeline plan, but its wafer %s describes no cluster", file, cluster.Name)
	}
	joined, err := cluster.Joined()
	if err != nil {
		return nil, nil, err
	}
	if err := p.Verify(joined); err != nil {
		return nil, nil, err
	}
	typed := model != "" // a model the user named may be a pipe; a plan's model_source must be a file
	model, err = planModel(p, file, model)
	if err != nil {
		return nil, nil, err
	}
	arch, err := frontend.LoadArchContext(context.Background(), model, p.Seq, typed)
	if err != nil {
		return nil, nil, fmt.Errorf("tempc: reading the model %s was compiled from (pass --model if it moved): %w", file, err)
	}
	opt := frontend.Options{Batch: p.Batch, Seq: p.Seq}
	full, err := frontend.BuildStage(arch, opt, 0, int(arch.Layers))
	if err != nil {
		return nil, nil, err
	}
	if h := lower.GraphSHA256(full); h != p.GraphSHA256 {
		return nil, nil, fmt.Errorf("tempc: %s: the graph of %s is not the one the plan was compiled from (sha256 %.12s…, the plan's %.12s…): the model changed; recompile",
			file, arch.Name, h, p.GraphSHA256)
	}
	one := *cluster
	one.Cluster = nil
	prev := 0
	var spaces []*partition.Space
	for k := range p.Pipeline.Stages {
		st := &p.Pipeline.Stages[k]
		if st.FirstBlock != prev || st.EndBlock <= st.FirstBlock || st.EndBlock > int(arch.Layers) {
			return nil, nil, fmt.Errorf("tempc: %s: stage %d holds blocks %d to %d; the stages must cut %s's %d blocks in order", file, k, st.FirstBlock, st.EndBlock-1, arch.Name, arch.Layers)
		}
		prev = st.EndBlock
		g, err := frontend.BuildStage(arch, opt, st.FirstBlock, st.EndBlock)
		if err != nil {
			return nil, nil, err
		}
		sp, err := partition.Build(g, &one, partition.Config{MicroBatches: []int{st.MicroBatch}, UnfusedAttention: p.Attention == "unfused"})
		if err != nil {
			return nil, nil, fmt.Errorf("tempc: %s: stage %d: %w", file, k, err)
		}
		stage := &plan.Plan{Model: st.Model, Batch: p.Batch, Seq: p.Seq, GraphSHA256: st.GraphSHA256, Layout: st.Layout,
			Steps: st.Steps(p.Pipeline.MicroBatches)}
		if err := lower.CheckStageWork(stage, sp); err != nil {
			return nil, nil, fmt.Errorf("tempc: %s: stage %d: %w", file, k, err)
		}
		spaces = append(spaces, sp)
	}
	if prev != int(arch.Layers) {
		return nil, nil, fmt.Errorf("tempc: %s: the stages hold blocks 0 to %d of %s's %d", file, prev-1, arch.Name, arch.Layers)
	}
	var tied int64
	if arch.TiedEmbeddings {
		tied = tiedBytes(arch)
	}
	if err := lower.CheckPipeline(p, joined, spaces, boundaryBytes(arch, p.Batch, p.Seq, p.Pipeline.MicroBatches), tied); err != nil {
		return nil, nil, fmt.Errorf("tempc: %s: %w", file, err)
	}
	return p, joined, nil
}
