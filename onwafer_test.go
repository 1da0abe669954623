package tempc_test

import (
	"context"
	"math"
	"testing"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// TestOnWaferPipeline: GPT-2 as Megatron-Core runs it, cut into two slabs
// of columns and into two slabs of rows (planned on the transposed
// wafer), compiles into a pipeline plan whose joined mesh is the wafer
// (or its transpose) die for die; the plan verifies, and the simulator,
// replaying it on that mesh, lands within 15% of the prediction. Keeping
// the faster of the single plan and the pipeline (SolveStep) reports the
// minimum of the two.
func TestOnWaferPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("plans and simulates two pipelines")
	}
	ctx := context.Background()
	o := tempc.Options{Model: "gpt2", Wafer: "temp48", Batch: 32, Seq: 1024, Mapper: "gmap"}
	o.Space.Baseline = partition.MegatronCore
	for _, c := range []wafer.Cut{{Stages: 2}, {Stages: 2, AcrossRows: true}} {
		s, _ := wafer.Preset("temp48")
		slabs, err := s.Slabs(c)
		if err != nil {
			t.Fatal(err)
		}
		po := tempc.PipelineOptions{Options: o, Stages: 2}
		po.Spec, po.Wafer = slabs, ""
		cp, err := tempc.CompilePipeline(ctx, po)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		rows, cols := s.Rows, s.Cols
		if c.AcrossRows {
			rows, cols = cols, rows
		}
		if cp.Spec.Rows != rows || cp.Spec.Cols != cols || cp.Spec.Link != s.Link || cp.Spec.Seam.Link != s.Link {
			t.Errorf("%v: planned on %d×%d, links %+v and %+v", c, cp.Spec.Rows, cp.Spec.Cols, cp.Spec.Link, cp.Spec.Seam.Link)
		}
		if err := cp.Plan.Verify(cp.Spec); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		sr, err := tempc.Simulate(ctx, cp.Plan, cp.Spec, tempc.SimulateOptions{})
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if e := sr.Report.Simulated/cp.StepSeconds - 1; math.Abs(e) > 0.15 || !sr.Report.Fits {
			t.Errorf("%v: simulated %.6g s against %.6g s predicted (%+.1f%%), fits %v", c, sr.Report.Simulated, cp.StepSeconds, 100*e, sr.Report.Fits)
		}
		if cp.Plan.Pipeline == nil || len(cp.Plan.Pipeline.Stages) != 2 {
			t.Errorf("%v: not a two-stage pipeline plan", c)
		}
	}
	o.OnWaferStages = 2
	st, err := tempc.SolveStep(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if st.Single == nil || st.Pipeline == nil || len(st.Pipeline.Cuts) != 2 {
		t.Fatalf("single %v, pipeline %+v", st.SingleErr, st.PipelineErr)
	}
	want := math.Min(st.Single.Report.StepSeconds, st.Pipeline.StepSeconds)
	if st.StepSeconds() != want || st.Pipelined() != (st.Pipeline.StepSeconds < st.Single.Report.StepSeconds) {
		t.Errorf("kept %.6g s (pipelined %v) of %.6g and %.6g", st.StepSeconds(), st.Pipelined(), st.Single.Report.StepSeconds, st.Pipeline.StepSeconds)
	}
	for _, cs := range st.Pipeline.Cuts {
		if cs.Error == "" && cs.StepSeconds < st.Pipeline.StepSeconds {
			t.Errorf("cut %s gave %.6g s, faster than the pipeline kept (%.6g s)", cs.Cut, cs.StepSeconds, st.Pipeline.StepSeconds)
		}
	}
	faulty := o
	faulty.Spec, _ = wafer.Preset("temp48")
	faulty.Spec.DeadDies = []wafer.Coord{{R: 0, C: 0}}
	if err := faulty.Spec.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := tempc.PlanOnWafer(ctx, tempc.PipelineOptions{Options: faulty}); err == nil {
		t.Error("a faulty wafer was cut into slabs")
	}
}
