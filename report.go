package tempc

import (
	"fmt"
	"time"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/heuristics"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/plan"
)

// SolveReport is the result of `tempc solve`: the chosen plan, its
// predicted figures, and the solver record. Its JSON field names are
// documented in the README.
type SolveReport struct {
	Model string `json:"model"`
	Wafer string `json:"wafer"`
	Batch int64  `json:"batch"`
	Seq   int64  `json:"seq"`
	// Configuration names what planned (Options.Configuration);
	// Attention is fused or unfused (score matrices materialised).
	Configuration string `json:"configuration"`
	Attention     string `json:"attention"`
	// PipelineStages is 1: the plan runs the whole model on the whole
	// wafer (a pipeline kept instead is reported otherwise). OnWafer lists
	// the on-wafer pipelines tried and their steps (SolveStep), or
	// OnWaferError says why none was planned.
	PipelineStages int       `json:"pipeline_stages"`
	OnWafer        []CutStep `json:"on_wafer_pipelines,omitempty"`
	OnWaferError   string    `json:"on_wafer_pipeline_error,omitempty"`
	// OnWaferGuide says how the depth searched was chosen
	// (Options.OnWaferStages GuidedDepth).
	OnWaferGuide string `json:"on_wafer_guide,omitempty"`
	// Solver record.
	Status string `json:"status"`
	// MemoryTolerance and MemoryStatus describe the second solve, for the
	// least memory within the tolerance of the objective (MemoryStatus
	// empty when there was none).
	MemoryTolerance  float64 `json:"memory_tolerance"`
	MemoryStatus     string  `json:"memory_solve_status,omitempty"`
	ObjectiveKind    string  `json:"objective_kind"`
	Objective        float64 `json:"objective"`
	DualBound        float64 `json:"dual_bound"`
	MIPGap           float64 `json:"mip_gap"`
	SolveSeconds     float64 `json:"solve_seconds"`
	FormulateSeconds float64 `json:"formulate_seconds"`
	ModelRows        int     `json:"model_rows"`
	ModelCols        int     `json:"model_cols"`
	ModelNonzeros    int     `json:"model_nonzeros"`
	// Predicted figures of the plan.
	StepSeconds          float64 `json:"step_seconds"`
	ComputeSeconds       float64 `json:"compute_seconds"`
	CommSeconds          float64 `json:"comm_seconds"`
	ReshardSeconds       float64 `json:"reshard_seconds"`
	SyncOptimizerSeconds float64 `json:"dp_sync_and_optimizer_seconds"`
	// DPSyncSeconds is the DP gradient all-reduce alone; DPExposedSeconds
	// the part of it the last micro-batch's backward pass does not hide
	// (in SyncOptimizerSeconds, with the optimizer).
	DPSyncSeconds       float64 `json:"dp_sync_seconds"`
	DPExposedSeconds    float64 `json:"dp_sync_exposed_seconds"`
	TokensPerSecond     float64 `json:"tokens_per_second"`
	MFU                 float64 `json:"mfu"`
	EnergyJoulesPerStep float64 `json:"energy_joules_per_step"`
	// EnergyBreakdown splits the step's energy; AveragePower is it over
	// the step time, TokensPerJoule the tokens of a step over it.
	EnergyBreakdown       costmodel.Joules `json:"energy_breakdown_joules"`
	AveragePower          float64          `json:"average_power_watts"`
	TokensPerJoule        float64          `json:"tokens_per_joule"`
	PeakMemoryBytesPerDie float64          `json:"peak_memory_bytes_per_die"`
	CapacityBytesPerDie   float64          `json:"capacity_bytes_per_die"`
	Memory                costmodel.Mem    `json:"memory_bytes_per_die"`
	Layout                LayoutReport     `json:"layout"`
	Strategies            []Strategy       `json:"strategies"`
	// Mapper is the local level; DualLevel the dual-level loop's solves
	// (temp only) and MapperReports what the mapper did to each layout it
	// mapped.
	Mapper        string                 `json:"mapper"`
	DualLevel     []heuristics.Iteration `json:"dual_level,omitempty"`
	MapperReports []heuristics.Report    `json:"mapper_reports,omitempty"`
}

// LayoutReport describes the chosen layout.
type LayoutReport struct {
	Name         string `json:"name"`
	DP           int    `json:"dp"`
	Group        string `json:"group"` // rows×cols of one model-parallel group
	DiesUsed     int    `json:"dies_used"`
	MicroBatch   int    `json:"micro_batch"`
	MicroBatches int64  `json:"micro_batches"`
	Recompute    string `json:"recompute"`
	ZeRO         bool   `json:"zero"`
}

// Strategy is the chosen scheme of one op group (as the plan records it)
// and why it costs what it costs.
type Strategy struct {
	plan.Strategy
	// Seconds is the group's share of the step (all its layers and
	// micro-batches); Compute and Comm split it.
	Seconds        float64 `json:"seconds"`
	ComputeSeconds float64 `json:"compute_seconds"`
	CommSeconds    float64 `json:"comm_seconds"`
	// Per step, on the busiest die of the group: LinkBytesPerDie is the D2D
	// traffic the scheme sends, HBMBytesPerDie what its kernels and DMA
	// read and write in HBM, SRAMBytesPerDie what they read and write in
	// SRAM (streamed blocks) (costmodel.SchemeMove).
	LinkBytesPerDie float64 `json:"link_bytes_per_die"`
	HBMBytesPerDie  float64 `json:"hbm_bytes_per_die"`
	SRAMBytesPerDie float64 `json:"sram_bytes_per_die"`
	ActivationBytes float64 `json:"activation_bytes_per_die"`
	GatheredBytes   float64 `json:"gathered_bytes_per_die"`
	TransientBytes  float64 `json:"transient_bytes_per_die"`
}

// report assembles a SolveReport from a solved space; total is the wall
// time of everything up to here.
func report(sv *Solved, o Options, total time.Duration) *SolveReport {
	sol := sv.Solution
	t := sv.Table
	sp := t.Space
	b := sol.Breakdown
	l := &sp.Layouts[sol.Assignment.Layout]
	r := &SolveReport{Model: sp.Graph.Name, Wafer: sv.Spec.Name, Batch: sp.Graph.Batch, Seq: sp.Graph.Seq,
		Configuration: o.Configuration(), Attention: attentionName(sp.Config.UnfusedAttention), PipelineStages: 1,
		Status: sol.Result.Status.String(), ObjectiveKind: o.Objective.String(), Objective: sol.Result.Objective,
		DualBound: sol.Result.DualBound, MIPGap: sol.Result.MIPGap, SolveSeconds: sv.SolveSeconds,
		FormulateSeconds: total.Seconds() - sv.SolveSeconds, Mapper: sv.Mapper.Name(), DualLevel: sv.Iterations,
		MapperReports: sv.MapperReports,
		ModelRows:     sol.Result.Rows, ModelCols: sol.Result.Cols, ModelNonzeros: sol.Result.Nonzeros,
		StepSeconds: b.Seconds, ComputeSeconds: b.Compute, CommSeconds: b.Comm, ReshardSeconds: b.Reshard,
		SyncOptimizerSeconds: b.Fixed.Seconds + b.DPExposed, DPExposedSeconds: b.DPExposed, EnergyJoulesPerStep: b.Energy, PeakMemoryBytesPerDie: b.Mem.Total(),
		CapacityBytesPerDie: t.Capacity, Memory: b.Mem}
	r.MemoryTolerance = o.MemoryTolerance
	if sol.Memory != nil {
		r.MemoryStatus = sol.Memory.Status.String()
	}
	if li := sol.Assignment.Layout; li < len(t.Sync) {
		r.DPSyncSeconds = t.Sync[li].Seconds
	}
	r.TokensPerSecond = float64(sp.Graph.Batch*sp.Graph.Seq) / b.Seconds
	r.EnergyBreakdown, r.AveragePower = b.Parts, b.Energy/b.Seconds
	r.TokensPerJoule = float64(sp.Graph.Batch*sp.Graph.Seq) / b.Energy
	used := l.DP * l.P()
	r.MFU = t.ModelFLOPs / b.Seconds / (sv.Spec.Die.PeakFLOPS * float64(used))
	r.Layout = LayoutReport{Name: l.Name(), DP: l.DP, Group: fmt.Sprintf("%dx%d", l.Shape.Rows, l.Shape.Cols),
		DiesUsed: used, MicroBatch: l.MicroBatch, MicroBatches: l.MicroBatches(sp.Graph.Batch),
		Recompute: l.Recompute.String(), ZeRO: l.ZeRO}
	for gi, st := range lower.Strategies(t, sol.Assignment) {
		pr := b.Groups[gi]
		r.Strategies = append(r.Strategies, Strategy{Strategy: st,
			Seconds: pr.Seconds, ComputeSeconds: pr.Compute, CommSeconds: pr.Comm, LinkBytesPerDie: pr.Traffic,
			HBMBytesPerDie: pr.HBM, SRAMBytesPerDie: pr.SRAM,
			ActivationBytes: pr.Mem.Acts, GatheredBytes: pr.Mem.Gathered, TransientBytes: pr.Mem.Transient})
	}
	return r
}

func attentionName(unfused bool) string {
	if unfused {
		return "unfused"
	}
	return "fused"
}
