package tempc_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/plan"
)

// TestCompileGraphAndReadPlan: a plan compiled from an ir.Graph records no
// model source; written and read back with the model named, it verifies
// and does its graph's work, and carries the solver's record and groups.
func TestCompileGraphAndReadPlan(t *testing.T) {
	g, err := frontend.Load("gpt2", frontend.Options{Batch: 16, Seq: 512})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := tempc.Compile(ctx, tempc.Options{Graph: g, Batch: 8, Wafer: "mesh4x4"}); err == nil || !strings.Contains(err.Error(), "fixes its batch and sequence (16 × 512), but Options gives batch 8") {
		t.Errorf("a batch other than the graph's: %v", err)
	}
	res, err := tempc.Compile(ctx, tempc.Options{Graph: g, Wafer: "mesh4x4", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Plan
	if p.ModelSource != "" || p.Solver == nil || p.Solver.Status != res.Report.Status || len(p.Groups) != res.Report.Layout.DP ||
		len(p.Strategies) != len(res.Report.Strategies) || !strings.HasPrefix(p.Compiler, "tempc ") {
		t.Errorf("plan records: source %q, solver %+v, %d groups (dp %d), %d strategies, compiler %q",
			p.ModelSource, p.Solver, len(p.Groups), res.Report.Layout.DP, len(p.Strategies), p.Compiler)
	}
	var b bytes.Buffer
	if err := plan.WriteJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tempc.ReadPlan("p.json", b.Bytes(), "", ""); err == nil || !strings.Contains(err.Error(), "no model_source") {
		t.Errorf("read back without a model: %v", err)
	}
	back, s, err := tempc.ReadPlan("p.json", b.Bytes(), "", "gpt2")
	if err != nil {
		t.Fatal(err)
	}
	if back.PredictedSeconds != p.PredictedSeconds || s.Name != "mesh4x4" {
		t.Errorf("read back %g s on %s, wrote %g s", back.PredictedSeconds, s.Name, p.PredictedSeconds)
	}
}

// TestCompileHonoursContext: planning stops when its context ends, with
// the deadline in the error.
func TestCompileHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	_, err := tempc.Compile(ctx, tempc.Options{Model: "gpt2", Wafer: "temp48", Batch: 16, Seq: 512})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
	if _, err := tempc.Solve(context.Background(), tempc.Options{Wafer: "mesh4x4"}); err == nil || !strings.Contains(err.Error(), "no model") {
		t.Errorf("no model: %v", err)
	}
	var oom *ilp.OutOfMemoryError
	_, err = tempc.Solve(context.Background(), tempc.Options{Model: "gpt3-175b", Wafer: "temp32"})
	if !errors.As(err, &oom) || tempc.Failure(tempc.Options{Model: "gpt3-175b", Wafer: "temp32"}, err).Status != "infeasible" {
		t.Errorf("gpt3-175b on temp32: %v", err)
	}
}

// TestPipelineStagesCompile: each pipeline stage of gpt2 (the embedding
// with blocks 0–3, blocks 4–7 alone, blocks 8–11 with the head) is a graph
// the whole pipeline compiles — solved, lowered, verified and held to its
// work (a middle stage's first norm, which reads only the received
// activation, included).
func TestPipelineStagesCompile(t *testing.T) {
	a, _ := frontend.Preset("gpt2")
	for _, r := range [][2]int{{0, 4}, {4, 8}, {8, 12}} {
		g, err := frontend.BuildStage(&a, frontend.Options{Batch: 8, Seq: 256}, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		res, err := tempc.Compile(context.Background(), tempc.Options{Graph: g, Wafer: "mesh4x4", Seed: 1})
		if err != nil {
			t.Fatalf("%s: %v", g.Name, err)
		}
		if res.Report.Status != "optimal" || res.Report.StepSeconds <= 0 {
			t.Errorf("%s: %s, step %g s", g.Name, res.Report.Status, res.Report.StepSeconds)
		}
	}
}
