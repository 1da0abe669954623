package tempc_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

const tinyGPT2 = "testdata/pipeline/tiny-gpt2.json" // 8 blocks of 128

// TestPlanPipelineIsExact: the split PlanPipeline chooses for two stages
// has the least bottleneck of all seven splits, each stage of each split
// solved on its own (brute force), and the stages' plans hold their
// blocks, micro-batches in flight and the shared micro-batch count.
func TestPlanPipelineIsExact(t *testing.T) {
	ctx := context.Background()
	s, _ := wafer.Preset("mesh4x4")
	o := tempc.PipelineOptions{Options: tempc.Options{Model: tinyGPT2, Spec: s, Batch: 16, Seq: 256, Mapper: "smap"}, Stages: 2, MicroBatches: 8}
	res, err := tempc.PlanPipeline(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.NonMonotone != "" {
		t.Logf("stage times not monotone: %s", res.NonMonotone)
	}
	a, _ := frontend.LoadArch(tinyGPT2, 0)
	period := func(r, first, last int) float64 {
		g, err := frontend.BuildStage(a, frontend.Options{Batch: 16, Seq: 256}, first, last)
		if err != nil {
			t.Fatal(err)
		}
		so := o.Options
		so.Model, so.Graph, so.Batch, so.Seq = "", g, 0, 0
		so.Params.InFlight = min(2-r, 8)
		so.Space.MicroBatchCount = 8
		sv, err := tempc.Solve(ctx, so)
		if err != nil {
			return math.Inf(1)
		}
		return (sv.Report.StepSeconds - sv.Report.SyncOptimizerSeconds) / 8
	}
	best := math.Inf(1)
	for n := 1; n < 8; n++ {
		best = min(best, max(period(0, 0, n), period(1, n, 8)))
	}
	got := 0.0
	for r, st := range res.Stages {
		got = max(got, st.Forward+st.Backward)
		if st.InFlight != 2-r || st.Solved.Report.Layout.MicroBatches != 8 || st.Solved.Report.Status != "optimal" {
			t.Errorf("stage %d: %d in flight, %d micro-batches, %s", r, st.InFlight, st.Solved.Report.Layout.MicroBatches, st.Solved.Report.Status)
		}
	}
	if res.Stages[0].First != 0 || res.Stages[0].Last != res.Stages[1].First || res.Stages[1].Last != 8 {
		t.Errorf("split %d–%d, %d–%d", res.Stages[0].First, res.Stages[0].Last, res.Stages[1].First, res.Stages[1].Last)
	}
	if math.Abs(got-best) > 2e-4*best {
		t.Errorf("bottleneck %g s per micro-batch, brute force %g", got, best)
	}
	if res.StepSeconds < res.Timeline.Makespan || res.Timeline.Bubble <= 0 || res.Transfer <= 0 {
		t.Errorf("step %g, timeline %+v, transfer %g", res.StepSeconds, res.Timeline, res.Transfer)
	}
}

// TestPlanPipelineInfeasible: on dies too small for any split, the error
// names each stage and the memory it needs.
func TestPlanPipelineInfeasible(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	s.Die.HBMBytes = 1e6
	_, err := tempc.PlanPipeline(context.Background(), tempc.PipelineOptions{Options: tempc.Options{Model: tinyGPT2, Spec: s, Batch: 16, Seq: 256, Mapper: "smap"},
		Stages: 2, MicroBatches: 8, Schedule: partition.GPipe})
	var inf *tempc.StageInfeasibleError
	if !errors.As(err, &inf) || !strings.Contains(err.Error(), "stage 0 (blocks 0–3, 8 micro-batches in flight) needs") ||
		!strings.Contains(err.Error(), "MB per die, above 1.00 MB") {
		t.Errorf("err = %v", err)
	}
	cluster := *s
	cluster.Cluster = wafer.DefaultCluster(s, 2)
	if _, err := tempc.PlanPipeline(context.Background(), tempc.PipelineOptions{Options: tempc.Options{Model: tinyGPT2, Spec: &cluster}, Stages: 3}); err == nil ||
		!strings.Contains(err.Error(), "3 pipeline stages on mesh4x4's cluster of 2 wafers") {
		t.Errorf("3 stages on a cluster of 2 wafers: %v", err)
	}
	// Searched over micro-batch counts, the error names them all.
	_, err = tempc.PlanPipeline(context.Background(), tempc.PipelineOptions{Options: tempc.Options{Model: tinyGPT2, Spec: s, Batch: 16, Seq: 256, Mapper: "smap"},
		Stages: 2})
	if !errors.As(err, &inf) || !strings.Contains(err.Error(), "fits with any of 2, 4, 8, 16 micro-batches; with 2: stage 0") {
		t.Errorf("err = %v", err)
	}
	for _, bad := range []tempc.PipelineOptions{
		{Options: tempc.Options{Model: tinyGPT2, Spec: s}, Stages: 9},
		{Options: tempc.Options{Model: tinyGPT2, Spec: s, Batch: 16}, Stages: 2, MicroBatches: 3},
		{Options: tempc.Options{Model: tinyGPT2, Spec: s}, Stages: 2, Schedule: partition.Interleaved},
	} {
		if _, err := tempc.PlanPipeline(context.Background(), bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestOneStagePipelineIsThePlan: a pipeline of one stage is the model's
// own plan: at the micro-batch count the plain solve chooses, it predicts
// no more than that plan's step (its space holds that plan), and its best
// count no more than that.
func TestOneStagePipelineIsThePlan(t *testing.T) {
	ctx := context.Background()
	s, _ := wafer.Preset("mesh4x4")
	o := tempc.Options{Model: tinyGPT2, Spec: s, Batch: 16, Seq: 256, Mapper: "smap"}
	plain, err := tempc.Solve(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tempc.PlanPipeline(ctx, tempc.PipelineOptions{Options: o, Stages: 1})
	if err != nil {
		t.Fatal(err)
	}
	m0, step := int(plain.Report.Layout.MicroBatches), plain.Report.StepSeconds
	found := false
	for _, c := range res.Counts {
		if c.MicroBatches == m0 {
			found = true
			if c.StepSeconds > step*(1+1e-9) {
				t.Errorf("%d micro-batches: one stage %g s, the plan %g s", m0, c.StepSeconds, step)
			}
		}
	}
	if !found || res.StepSeconds > step*(1+1e-9) || res.Timeline.Bubble != 0 {
		t.Errorf("counts %+v, best %g s (bubble %g), the plan %g s with %d micro-batches", res.Counts, res.StepSeconds, res.Timeline.Bubble, step, m0)
	}
}
