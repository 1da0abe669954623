package driver

import (
	"fmt"
	"io"

	"github.com/tempc/tempc"
)

// PipelinedReport is `tempc solve --json` when an on-wafer pipeline is
// the plan kept (tempc.SolveStep): the header a SolveReport has (model,
// wafer, configuration, attention, pipeline_stages, step_seconds,
// tokens_per_second, mfu, layout.name), the pipeline, the cuts tried, and
// the best plan of the whole model on the whole wafer it beat (or why
// none fits).
type PipelinedReport struct {
	Model           string             `json:"model"`
	Wafer           string             `json:"wafer"`
	Batch           int64              `json:"batch"`
	Seq             int64              `json:"seq"`
	Configuration   string             `json:"configuration"`
	Attention       string             `json:"attention"`
	Status          string             `json:"status"`
	PipelineStages  int                `json:"pipeline_stages"`
	StepSeconds     float64            `json:"step_seconds"`
	TokensPerSecond float64            `json:"tokens_per_second"`
	MFU             float64            `json:"mfu"`
	PeakMemory      float64            `json:"peak_memory_bytes_per_die"`
	Capacity        float64            `json:"capacity_bytes_per_die"`
	Layout          tempc.LayoutReport `json:"layout"`
	Pipeline        PipelineReport     `json:"pipeline"`
	OnWafer         []tempc.CutStep    `json:"on_wafer_pipelines"`
	OnWaferGuide    string             `json:"on_wafer_guide,omitempty"`
	// SingleWafer is the whole model on the whole wafer, slower (or
	// SingleWaferError: why it does not fit).
	SingleWafer      *tempc.SolveReport `json:"single_wafer,omitempty"`
	SingleWaferError string             `json:"single_wafer_error,omitempty"`
}

// stepReport is a planned step's report: a SolveReport (with the
// pipelines tried) when the single plan is kept, a PipelinedReport when
// the pipeline is.
func stepReport(st *tempc.Step, wafer string) any {
	if !st.Pipelined() {
		r := *st.Single.Report
		if st.Pipeline != nil {
			r.OnWafer = st.Pipeline.Cuts
		}
		if st.PipelineErr != nil {
			r.OnWaferError = st.PipelineErr.Error()
		}
		r.OnWaferGuide = st.Guided
		return &r
	}
	res := st.Pipeline
	first := res.Stages[0].Solved.Report
	r := &PipelinedReport{Model: res.Model, Wafer: wafer, Batch: first.Batch, Seq: first.Seq, Configuration: first.Configuration,
		Attention: first.Attention, Status: "optimal", PipelineStages: len(res.Stages), StepSeconds: res.StepSeconds,
		TokensPerSecond: res.TokensPerSecond, MFU: res.MFU(), Pipeline: pipelineReport(res), OnWafer: res.Cuts,
		OnWaferGuide: st.Guided, Capacity: first.CapacityBytesPerDie}
	r.Layout = tempc.LayoutReport{Name: tempc.PipelineLayout(res), MicroBatches: int64(res.MicroBatches)}
	for _, s := range res.Stages {
		sr := s.Solved.Report
		if sr.Status != "optimal" && r.Status == "optimal" {
			r.Status = sr.Status // the first stage plan not proved optimal
		}
		r.PeakMemory = max(r.PeakMemory, sr.PeakMemoryBytesPerDie)
		r.Layout.DiesUsed += sr.Layout.DiesUsed
	}
	if st.Single != nil {
		r.SingleWafer = st.Single.Report
	} else {
		r.SingleWaferError = st.SingleErr.Error()
	}
	return r
}

// writeStepText prints a planned step (a SolveReport or a
// PipelinedReport): the single plan as solve does, with the pipelines
// tried, if any, or the pipeline kept and the single plan it beat.
func writeStepText(w io.Writer, rep any) error {
	switch r := rep.(type) {
	case *tempc.SolveReport:
		if err := writeSolveText(w, r); err != nil {
			return err
		}
		writeCuts(w, r.OnWafer, r.OnWaferGuide, r.OnWaferError, r.StepSeconds)
	case *PipelinedReport:
		fmt.Fprintf(w, "%s, batch %d × seq %d: %s, attention %s, %d pipeline stages on one wafer\n", r.Model, r.Batch, r.Seq, r.Configuration, r.Attention, r.PipelineStages)
		writePipelineText(w, &r.Pipeline)
		fmt.Fprintf(w, "throughput %.0f tokens/s, MFU %.1f%% of the %d dies used\n", r.TokensPerSecond, 100*r.MFU, r.Layout.DiesUsed)
		if r.SingleWafer != nil {
			fmt.Fprintf(w, "unpipelined %.4f s (%s): the pipeline is %.3g× faster\n", r.SingleWafer.StepSeconds, r.SingleWafer.Layout.Name, r.SingleWafer.StepSeconds/r.StepSeconds)
		} else {
			fmt.Fprintf(w, "unpipelined does not fit: %s\n", r.SingleWaferError)
		}
		writeCuts(w, r.OnWafer, r.OnWaferGuide, "", r.StepSeconds)
	}
	return nil
}

// writeCuts prints how the depth was chosen and what each cut of the
// wafer gave.
func writeCuts(w io.Writer, cuts []tempc.CutStep, guide, why string, best float64) {
	if guide != "" && why == "" {
		fmt.Fprintf(w, "depth      %s\n", guide)
	}
	if why != "" {
		fmt.Fprintf(w, "pipelines  none planned: %s\n", why)
	}
	for _, c := range cuts {
		if c.Error != "" {
			fmt.Fprintf(w, "cut        %-18s %s slabs: %s\n", c.Cut, c.Slab, c.Error)
			continue
		}
		fmt.Fprintf(w, "cut        %-18s %s slabs: %.4f s with %d micro-batches (%.3g× the plan kept)\n", c.Cut, c.Slab, c.StepSeconds, c.MicroBatches, c.StepSeconds/best)
	}
}
