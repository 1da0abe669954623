package driver

import (
	"context"
	"fmt"
	"io"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/chakra"
	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// CompileOptions are the options of `tempc compile`.
type CompileOptions struct {
	tempc.Options
	// Output receives the plan JSON ("" for none, "-" for stdout).
	Output string
	// Trace receives a Perfetto/Chrome trace of the simulated plan.
	Trace string
	// DOT receives the plan's loop structure as a Graphviz graph.
	DOT string
	// Chakra, when set, is a directory that receives the step as Chakra
	// execution traces, one per die, with ASTRA-sim's configuration
	// (package chakra).
	Chakra string
	// JSON prints the report as JSON (CompileReport) instead of text.
	JSON bool
}

// CompileReport is `tempc compile --json`: the solve report and what
// lowering made of it.
type CompileReport struct {
	*tempc.SolveReport
	Plan tempc.PlanSummary `json:"plan"`
	// Chakra is the manifest of the Chakra traces written (--chakra).
	Chakra *chakra.Manifest `json:"chakra,omitempty"`
}

// PipelinedCompileReport is `tempc compile --json` when an on-wafer
// pipeline is the plan kept.
type PipelinedCompileReport struct {
	*PipelinedReport
	Plan   tempc.PlanSummary `json:"plan"`
	Chakra *chakra.Manifest  `json:"chakra,omitempty"`
}

// Compile runs the whole pipeline — graph, strategy space, pricing, ILP,
// lowering, verification — writes the plan, and prints its summary. The
// plan, trace, DOT graph and Chakra directory are one output set: written
// aside, then published together once every one is written, and not at
// all if ctx is done first (an interrupt) or one fails.
func Compile(ctx context.Context, w io.Writer, o CompileOptions) error {
	out, err := newOutputs(o.Output, o.Trace, o.DOT)
	if err != nil {
		return err
	}
	defer out.discard()
	if err := out.notInputs(o.Model, o.Wafer); err != nil {
		return err
	}
	if o.Chakra != "" {
		if err := chakra.CheckDir(o.Chakra); err != nil {
			return err
		}
		if err := out.outside(o.Chakra); err != nil {
			return err
		}
	}
	var pl *plan.Plan
	var spec *wafer.Spec
	var summary tempc.PlanSummary
	var rep any
	if o.OnWaferStages != 0 {
		c, err := tempc.CompileStep(ctx, o.Options)
		if err != nil {
			return err
		}
		pl, spec = c.Plan()
		summary = c.Summary()
		rep = stepReport(c.Step, SolveOptions{Options: o.Options}.waferName())
	} else {
		c, err := tempc.Compile(ctx, o.Options)
		if err != nil {
			return err
		}
		pl, spec, summary, rep = c.Plan, c.Spec, c.Summary, c.Report
	}
	if o.Output != "" && o.Output != "-" {
		if err := out.add(o.Output, func(f io.Writer) error { return plan.WriteJSON(f, pl) }); err != nil {
			return err
		}
	}
	if o.DOT != "" {
		if err := out.add(o.DOT, func(f io.Writer) error { return plan.WriteDOT(f, pl) }); err != nil {
			return err
		}
	}
	if o.Trace != "" {
		sr, err := tempc.Simulate(ctx, pl, spec, tempc.SimulateOptions{Progress: o.Progress})
		if err != nil {
			return err
		}
		if err := out.add(o.Trace, func(f io.Writer) error { return writeTrace(sr, f, pl, spec, [2]float64{}) }); err != nil {
			return err
		}
	}
	var traces *chakra.Manifest
	if o.Chakra != "" {
		st, err := chakra.Stage(ctx, o.Chakra, pl, spec, chakra.Options{OnStaging: trackStaging})
		if err != nil {
			return err
		}
		out.addPublisher(stagedDir{st})
		traces = st.Manifest
	}
	if err := out.commit(ctx); err != nil {
		return err
	}
	if o.Output == "-" {
		return plan.WriteJSON(w, pl) // stdout holds the plan
	}
	if o.JSON {
		if r, ok := rep.(*PipelinedReport); ok {
			return writeJSON(w, PipelinedCompileReport{PipelinedReport: r, Plan: summary, Chakra: traces})
		}
		return writeJSON(w, CompileReport{SolveReport: rep.(*tempc.SolveReport), Plan: summary, Chakra: traces})
	}
	if err := writeStepText(w, rep); err != nil {
		return err
	}
	fmt.Fprintf(w, "plan       %d tasks stored in %d blocks, %d when expanded; lowered and verified in %.2f s\n",
		summary.TasksStored, summary.Blocks, summary.TasksExpanded, summary.LowerSeconds)
	if err := commSummary(w, pl, spec); err != nil {
		return err
	}
	if traces != nil {
		var bytes int64
		for _, r := range traces.Ranks {
			bytes += r.Bytes
		}
		_, err = fmt.Fprintf(w, "chakra     %d traces of %d nodes (%d messages, %d sync), %s in %s; ASTRA-sim workload %s\n",
			len(traces.Ranks), traces.Nodes, traces.Messages, traces.SyncMessages, fileio.Bytes(bytes), o.Chakra, traces.Workload)
	}
	return err
}

// commSummary prints the plan's communication programs in brief: DMA
// descriptors per step, and the block whose busiest link carries the most
// transfers per run.
func commSummary(w io.Writer, pl *plan.Plan, s *wafer.Spec) error {
	descriptors, worst, worstN, worstLink, err := tempc.CommFigures(pl, s)
	if err != nil || worstN == 0 {
		return err
	}
	_, err = fmt.Fprintf(w, "comm       %d DMA descriptors per step; busiest link %s carries %d transfers per run of %s\n",
		descriptors, s.LinkName(worstLink), worstN, worst)
	return err
}
