package tempc_test

import (
	"context"
	"fmt"
	"math"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/partition"
)

// Compile GPT-2 for a 4×4 mesh and replay the plan in the simulator.
func Example() {
	ctx := context.Background()
	res, err := tempc.Compile(ctx, tempc.Options{Model: "gpt2", Wafer: "mesh4x4", Batch: 16, Seq: 512, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	r := res.Report
	fmt.Printf("%s on %s: %s, gap %.0f%%, layout %s\n", r.Model, r.Wafer, r.Status, 100*r.MIPGap, r.Layout.Name)
	sim, err := tempc.Simulate(ctx, res.Plan, res.Spec, tempc.SimulateOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := sim.Report
	fmt.Printf("fits %v; simulated within 10%% of predicted: %v\n", s.Fits, math.Abs(*s.RelErr) < 0.10)
	// Output:
	// gpt2 on mesh4x4: optimal, gap 0%, layout dp2-2x4-mb8-none-zero
	// fits true; simulated within 10% of predicted: true
}

// Solve the global level for TEMP's schemes and for Megatron-LM's 1D tensor
// parallelism as its users run it, and compare the predicted steps.
func ExampleSolve() {
	ctx := context.Background()
	o := tempc.Options{Model: "gpt2", Wafer: "mesh4x4", Batch: 16, Seq: 512, Seed: 1}
	temp, err := tempc.Solve(ctx, o)
	if err != nil {
		fmt.Println(err)
		return
	}
	o.Space.Baseline, o.Mapper = partition.Megatron1, "smap"
	meg, err := tempc.Solve(ctx, o)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(temp.Report.Configuration, "vs", meg.Report.Configuration+":", temp.Report.StepSeconds < meg.Report.StepSeconds)
	for _, s := range meg.Report.Strategies[:3] {
		fmt.Println(s.Group, s.Scheme)
	}
	// Output:
	// temp vs megatron1/smap: true
	// embed/embedding vocab
	// block/attn.qkv megatron-col
	// block/attn.core heads
}

// Cut an 8-block GPT-2 into two pipeline stages on two 4×4 wafers, lower
// the pipeline into one plan over the cluster and replay it.
func ExampleCompilePipeline() {
	ctx := context.Background()
	cp, err := tempc.CompilePipeline(ctx, tempc.PipelineOptions{
		Options: tempc.Options{Model: "testdata/pipeline/tiny-gpt2.json", Wafer: "mesh4x4", Batch: 16, Seq: 256, Mapper: "smap",
			Space: partition.Config{Deny: []partition.Scheme{partition.FSDPKeep}}}, // see TestCompilePipeline
		Stages: 2, MicroBatches: 8})
	if err != nil {
		fmt.Println(err)
		return
	}
	sim, err := tempc.Simulate(ctx, cp.Plan, cp.Spec, tempc.SimulateOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := sim.Report
	fmt.Printf("%s on %s, %s, %d micro-batches\n", s.Model, s.Wafer, s.Pipeline.Schedule, s.Pipeline.MicroBatches)
	for _, st := range s.Pipeline.Stages {
		fmt.Printf("stage %d: blocks %d–%d on wafer %d, %s\n", st.Stage, st.FirstBlock, st.LastBlock, st.Wafer, st.Layout)
	}
	fmt.Printf("%d inter-wafer links; simulated within 10%% of predicted: %v\n", len(s.Pipeline.InterWafer), math.Abs(*s.RelErr) < 0.10)
	// Output:
	// tiny-gpt2 on mesh4x4×2, 1f1b, 8 micro-batches
	// stage 0: blocks 0–3 on wafer 0, dp2-2x4-mb1-none-zero
	// stage 1: blocks 4–7 on wafer 1, dp2-2x4-mb1-none-zero
	// 8 inter-wafer links; simulated within 10% of predicted: true
}
