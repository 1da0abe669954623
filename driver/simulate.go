package driver

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// SimulateOptions are the options of `tempc simulate`.
type SimulateOptions struct {
	// Plan is the plan file; Wafer overrides the wafer it names; Model
	// overrides where the model it was compiled from is read (its
	// model_source), to check the plan computes that graph's work.
	Plan, Wafer, Model string
	JSON               bool
	// Full replays every run of the step instead of extrapolating its
	// steady state (sim.Step).
	Full bool
	// Trace, when set, is a Perfetto trace file of the replay; Window
	// limits it to [from, to) seconds of the step (to 0: the end).
	Trace    string
	Window   [2]float64
	Progress io.Writer
	// Stdin is read for the plan when Plan is "-".
	Stdin io.Reader
	// SVG, when set, receives the wafer heatmap of the step.
	SVG string
}

// heatmapOf is the wafer map of a simulated plan.
func heatmapOf(sr *tempc.Simulation, p *plan.Plan, s *wafer.Spec) *waferMap {
	r := &sr.Report
	title := []string{fmt.Sprintf("%s on %s, %s", p.Model, s.Name, p.Layout),
		fmt.Sprintf("step %.4g s simulated (%.4g s predicted); busiest link %s at %.0f%%; peak %s on %s", r.Simulated, r.Predicted,
			r.MaxLink, 100*r.MaxLinkUtil, fileio.Bytes(r.SimulatedMemory), r.PeakMemoryDie)}
	return &waferMap{spec: s, title: title, dies: r.Dies, links: r.Links, groups: tempc.PlanGroups(p), stats: true}
}

// Simulate reads a plan, verifies it against its wafer, replays it in the
// bundled simulator and reports simulated against predicted. The plan is
// read to at most plan.MaxFileBytes; the trace and heatmap are one output
// set (see Compile).
func Simulate(ctx context.Context, w io.Writer, o SimulateOptions) error {
	out, err := newOutputs(o.Trace, o.SVG)
	if err != nil {
		return err
	}
	defer out.discard()
	if err := out.notInputs(o.Plan, o.Wafer, o.Model); err != nil {
		return err
	}
	var data []byte
	if o.Plan == "-" {
		if o.Stdin == nil {
			return errors.New("driver: plan \"-\" (standard input) but no input to read")
		}
		o.Plan = "<stdin>"
		data, err = fileio.ReadAll(o.Stdin, o.Plan, plan.MaxFileBytes, "plan")
	} else {
		data, err = fileio.Read(o.Plan, plan.MaxFileBytes, fileio.AllowPipes, "plan file")
	}
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	p, s, err := tempc.ReadPlan(o.Plan, data, o.Wafer, o.Model)
	if err != nil {
		return err
	}
	res, err := tempc.Simulate(ctx, p, s, tempc.SimulateOptions{Full: o.Full, Progress: o.Progress})
	if err != nil {
		return err
	}
	if o.Trace != "" {
		if err := out.add(o.Trace, func(f io.Writer) error { return writeTrace(res, f, p, s, o.Window) }); err != nil {
			return err
		}
	}
	if o.SVG != "" {
		if err := out.add(o.SVG, heatmapOf(res, p, s).writeSVG); err != nil {
			return err
		}
	}
	if err := out.commit(ctx); err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(w, res.Report)
	}
	return writeSimulateText(w, &res.Report, s)
}
