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
	// gpt2 on mesh4x4: optimal, gap 0%, layout dp2-4x2-mb8-none-zero
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
