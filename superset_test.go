package tempc_test

import (
	"context"
	"testing"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/partition"
)

// TestAutoSupersetOfModernBaselines: the free space is a superset of
// Megatron-Core's — its schemes, fused attention, overlap, recomputation,
// distributed optimizer and on-wafer pipelines — so with the same mapper
// and the same pipeline depths searched, its plan is never predicted
// slower, unpipelined or pipelined, on a model with tied embeddings
// (GPT-2) and one with grouped K/V heads (TinyLlama's shape).
func TestAutoSupersetOfModernBaselines(t *testing.T) {
	if testing.Short() {
		t.Skip("plans four steps with on-wafer pipelines")
	}
	for _, model := range []string{"gpt2", "lower/testdata/tiny-llama.json"} {
		o := tempc.Options{Model: model, Wafer: "mesh4x4", Batch: 16, Seq: 256, Mapper: "gmap", OnWaferStages: tempc.AnyDepth}
		mc := o
		mc.Space.Baseline = partition.MegatronCore
		a, err := tempc.SolveStep(context.Background(), o)
		if err != nil {
			t.Fatalf("%s auto: %v", model, err)
		}
		b, err := tempc.SolveStep(context.Background(), mc)
		if err != nil {
			t.Fatalf("%s megatron-core: %v", model, err)
		}
		if a.Single == nil || b.Single == nil || a.Pipeline == nil || b.Pipeline == nil {
			t.Fatalf("%s: auto %v / %v, megatron-core %v / %v", model, a.SingleErr, a.PipelineErr, b.SingleErr, b.PipelineErr)
		}
		for _, c := range []struct {
			what      string
			auto, mcs float64
		}{
			{"unpipelined", a.Single.Report.StepSeconds, b.Single.Report.StepSeconds},
			{"pipelined", a.Pipeline.StepSeconds, b.Pipeline.StepSeconds},
			{"kept", a.StepSeconds(), b.StepSeconds()},
		} {
			if c.auto > c.mcs*(1+1e-3) {
				t.Errorf("%s %s: auto %.6g s, megatron-core %.6g s", model, c.what, c.auto, c.mcs)
			}
		}
		for i, cs := range b.Pipeline.Cuts {
			if ac := a.Pipeline.Cuts[i]; cs.Error == "" && (ac.Error != "" || ac.StepSeconds > cs.StepSeconds*(1+1e-3)) {
				t.Errorf("%s %s: auto %.6g s (%s), megatron-core %.6g s", model, cs.Cut, ac.StepSeconds, ac.Error, cs.StepSeconds)
			}
		}
	}
}
