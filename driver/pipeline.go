package driver

import (
	"context"
	"fmt"
	"io"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/plan"
)

// PipelineOptions are the options of `tempc pipeline`.
type PipelineOptions struct {
	tempc.PipelineOptions
	JSON bool
	// Output, when set, lowers the pipeline into one plan over the
	// cluster and writes it there ("-": standard output);
	// Simulate lowers it and replays it in the simulator.
	Output   string
	Simulate bool
}

// PipelineReport is `tempc pipeline --json`: the pipeline's predicted
// step and each stage's plan.
type PipelineReport struct {
	Model           string  `json:"model"`
	Wafer           string  `json:"wafer"`
	Wafers          int     `json:"wafers"`
	Schedule        string  `json:"schedule"`
	MicroBatches    int     `json:"micro_batches"`
	StepSeconds     float64 `json:"step_seconds"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	Bubble          float64 `json:"bubble"`
	TransferSeconds float64 `json:"transfer_seconds_per_micro_batch"`
	TiedSeconds     float64 `json:"tied_exchange_seconds"`
	Solves          int     `json:"stage_solves"`
	// OnWafer, for a pipeline on one wafer, names how the wafer was cut
	// into the stages' slabs ("6 slabs of rows", each Slab "1x8" on the
	// wafer); Wafer is then the slabs' ("temp48.rows1x8") and a "wafer"
	// of this report is a slab.
	OnWafer string `json:"on_wafer_cut,omitempty"`
	Slab    string `json:"slab,omitempty"`
	// Counts are the micro-batch counts tried and the best step of each.
	Counts      []tempc.CountStep `json:"micro_batch_counts"`
	NonMonotone string            `json:"non_monotone,omitempty"`
	// TimeUp says the time limit ended the search before every
	// micro-batch count was planned.
	TimeUp bool          `json:"time_up,omitempty"`
	Stages []StageReport `json:"stages"`
	// Plan is the lowered plan's size (with -o or --simulate);
	// Simulation the simulated step (--simulate), as `tempc simulate`
	// reports it.
	Plan       *tempc.PlanSummary    `json:"plan,omitempty"`
	Simulation *tempc.SimulateReport `json:"simulation,omitempty"`
}

// StageReport is one stage: its blocks, the micro-batches it holds, its
// plan's layout and solver record, its time per micro-batch by pass, its
// DP sync and optimizer, its busy time in the schedule and its memory.
type StageReport struct {
	First           int     `json:"first_block"`
	Last            int     `json:"last_block"`
	InFlight        int     `json:"micro_batches_in_flight"`
	Layout          string  `json:"layout"`
	Status          string  `json:"status"`
	MIPGap          float64 `json:"mip_gap"`
	ForwardSeconds  float64 `json:"forward_seconds_per_micro_batch"`
	BackwardSeconds float64 `json:"backward_seconds_per_micro_batch"`
	FixedSeconds    float64 `json:"dp_sync_and_optimizer_seconds"`
	BusySeconds     float64 `json:"busy_seconds"`
	PeakMemory      float64 `json:"peak_memory_bytes_per_die"`
	Capacity        float64 `json:"capacity_bytes_per_die"`
}

// Pipeline plans a model across wafers in pipeline stages and reports the
// predicted step.
func Pipeline(ctx context.Context, w io.Writer, o PipelineOptions) error {
	out, err := newOutputs(o.Output)
	if err != nil {
		return err
	}
	defer out.discard()
	if err := out.notInputs(o.Model, o.Wafer); err != nil {
		return err
	}
	var res *tempc.PipelineResult
	var compiled *tempc.CompiledPipeline
	if o.Output != "" || o.Simulate {
		if compiled, err = tempc.CompilePipeline(ctx, o.PipelineOptions); err != nil {
			return err
		}
		res = compiled.PipelineResult
	} else if res, err = tempc.PlanPipeline(ctx, o.PipelineOptions); err != nil {
		return err
	}
	r := pipelineReport(res)
	if compiled != nil {
		r.Plan = &compiled.Summary
		if o.Output == "-" {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return plan.WriteJSON(w, compiled.Plan)
		}
		if o.Output != "" {
			if err := out.add(o.Output, func(f io.Writer) error { return plan.WriteJSON(f, compiled.Plan) }); err != nil {
				return err
			}
		}
	}
	if o.Simulate {
		sim, err := tempc.Simulate(ctx, compiled.Plan, compiled.Spec, tempc.SimulateOptions{})
		if err != nil {
			return err
		}
		r.Simulation = &sim.Report
	}
	if err := out.commit(ctx); err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(w, r)
	}
	writePipelineText(w, &r)
	if r.Plan != nil {
		fmt.Fprintf(w, "plan       %d tasks stored, %d per step, lowered and verified in %.2f s\n", r.Plan.TasksStored, r.Plan.TasksExpanded, r.Plan.LowerSeconds)
	}
	if sm := r.Simulation; sm != nil {
		fmt.Fprintf(w, "simulated  %.4f s (%+.2f%% against the prediction), %.0f tokens/s; bubble %.1f%% (predicted %.1f%%)",
			sm.Simulated, 100*deref(sm.RelErr), float64(compiled.Plan.Batch*compiled.Plan.Seq)/sm.Simulated, 100*sm.Pipeline.Bubble, 100*sm.Pipeline.PredictedBubble)
		if r.Wafers > 1 {
			fmt.Fprintf(w, "; %s between wafers", fileio.Bytes(sm.Pipeline.InterWaferBytes))
		}
		fmt.Fprintf(w, "; %.1f s\n", sm.WallSeconds)
		for _, st := range sm.Pipeline.Stages {
			fmt.Fprintf(w, "sim stage %-3d in passes %.4g s (bubble %.1f%%), dies busy %.4g s on average, peak %s per die\n",
				st.Stage, st.PassSeconds, 100*st.Bubble, st.BusySeconds, fileio.Bytes(st.PeakMemory))
		}
	}
	if r.TimeUp {
		fmt.Fprintf(w, "note       the time limit ended the search after the micro-batch counts above; raise --time-limit to plan the others\n")
	}
	if r.NonMonotone != "" {
		fmt.Fprintf(w, "note       stage times were not monotone in blocks (%s): the split may not be the best\n", r.NonMonotone)
	}
	return nil
}

// pipelineReport is a planned pipeline's report, without plan or
// simulation.
func pipelineReport(res *tempc.PipelineResult) PipelineReport {
	r := PipelineReport{Model: res.Model, Wafer: res.Wafer, Wafers: len(res.Stages), Schedule: res.Schedule.String(),
		MicroBatches: res.MicroBatches, StepSeconds: res.StepSeconds, TokensPerSecond: res.TokensPerSecond,
		Bubble: res.Timeline.Bubble, TransferSeconds: res.Transfer, TiedSeconds: res.TiedSeconds, Solves: res.Solves, Counts: res.Counts, NonMonotone: res.NonMonotone, TimeUp: res.TimeUp}
	if r.Wafers == 1 {
		r.TransferSeconds = 0 // a single stage sends nothing between wafers
	}
	if c := res.Cut; c != nil {
		r.OnWafer = c.String()
		for _, cs := range res.Cuts {
			if cs.Cut == r.OnWafer {
				r.Slab = cs.Slab
			}
		}
	}
	for i, st := range res.Stages {
		sr := st.Solved.Report
		r.Stages = append(r.Stages, StageReport{First: st.First, Last: st.Last - 1, InFlight: st.InFlight, Layout: sr.Layout.Name,
			Status: sr.Status, MIPGap: sr.MIPGap, ForwardSeconds: st.Forward, BackwardSeconds: st.Backward, FixedSeconds: st.Fixed,
			BusySeconds: res.Timeline.Busy[i], PeakMemory: sr.PeakMemoryBytesPerDie, Capacity: sr.CapacityBytesPerDie})
	}
	return r
}

// writePipelineText prints a pipeline's plan: its depth, micro-batch
// counts, predicted step and stages.
func writePipelineText(w io.Writer, r *PipelineReport) {
	between := "wafers"
	if r.OnWafer != "" {
		between = "slabs"
		fmt.Fprintf(w, "pipeline   %s on one wafer cut into %s (%s each, as %s), %s, %d micro-batches; %d stage plans solved\n", r.Model, r.OnWafer, r.Slab, r.Wafer, r.Schedule, r.MicroBatches, r.Solves)
	} else {
		fmt.Fprintf(w, "pipeline   %s on %d × %s, %s, %d micro-batches; %d stage plans solved\n", r.Model, r.Wafers, r.Wafer, r.Schedule, r.MicroBatches, r.Solves)
	}
	if len(r.Counts) > 1 {
		fmt.Fprintf(w, "counts    ")
		for _, c := range r.Counts {
			fmt.Fprintf(w, " m=%d %.4g s;", c.MicroBatches, c.StepSeconds)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "step       %.4f s predicted, %.0f tokens/s; bubble %.1f%%", r.StepSeconds, r.TokensPerSecond, 100*r.Bubble)
	if r.Wafers > 1 { // one wafer has no neighbour to send to
		fmt.Fprintf(w, "; %.3g ms per micro-batch between %s", 1e3*r.TransferSeconds, between)
	}
	if r.TiedSeconds > 0 {
		fmt.Fprintf(w, "; %.3g s to exchange the tied embedding's gradient", r.TiedSeconds)
	}
	fmt.Fprintln(w)
	for i, s := range r.Stages {
		fmt.Fprintf(w, "stage %-4d blocks %d–%d, %s (%s, gap %.2g%%), %d in flight: %.3g + %.3g ms per micro-batch, %.3g s sync+optimizer; %s of %s per die\n",
			i, s.First, s.Last, s.Layout, s.Status, 100*s.MIPGap, s.InFlight, 1e3*s.ForwardSeconds, 1e3*s.BackwardSeconds, s.FixedSeconds,
			fileio.Bytes(s.PeakMemory), fileio.Bytes(s.Capacity))
	}
}

func deref(x *float64) float64 {
	if x == nil {
		return 0
	}
	return *x
}
