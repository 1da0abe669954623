package tempc_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tempc/tempc"
	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
	"github.com/tempc/tempc/wafer/sim"
)

// toyPipeline is a pipeline plan of p stages, one die each, on a cluster
// of one-die wafers in a row (the joined mesh is 1×p, stage k on die k):
// a forward pass is one task of tf seconds, a backward pass one of tb,
// and a boundary moves bytes over the one inter-wafer link between
// neighbours. It returns the plan and the joined mesh, whose inter-wafer
// links have the given latency and bandwidth.
func toyPipeline(t *testing.T, s partition.Schedule, p, m int, tf, tb float64, bytes int64, latency, bandwidth float64) (*plan.Plan, *wafer.Spec) {
	t.Helper()
	one, _ := wafer.Preset("mesh4x4")
	w := *one
	w.Name, w.Rows, w.Cols, w.DeadDies, w.DeadLinks = "die", 1, 1, nil, nil
	w.Cluster = &wafer.Cluster{Wafers: p, EdgeBandwidth: bandwidth, Latency: latency, JoulesPerBit: 1e-12, StaticWatts: 1}
	joined, err := w.Joined()
	if err != nil {
		t.Fatal(err)
	}
	order, err := partition.PipelineOrder(s, p, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	pass := func(name string, d wafer.DieID, secs float64) []plan.Node {
		var prog plan.Program
		id := prog.Delay(name, d, secs)
		prog.Tasks[id].Op, prog.Tasks[id].Out = name, true
		return []plan.Node{{Name: name, Count: 1, Program: &prog}}
	}
	move := func(from, to wafer.DieID) *plan.Program {
		var prog plan.Program
		id := prog.Transfer("boundary", from, to, bytes, nil)
		prog.Tasks[id].Out = true
		return &prog
	}
	pl := &plan.Pipeline{Schedule: s.String(), MicroBatches: m}
	for k := range p {
		d := wafer.DieID(k)
		st := plan.Stage{Wafer: k, FirstBlock: k, EndBlock: k + 1, Model: "toy", GraphSHA256: fmt.Sprintf("%064x", k), Layout: "one die",
			MicroBatch: 1, Dies: []wafer.DieID{d}, Forward: pass(fmt.Sprintf("f%d", k), d, tf),
			Backward: pass(fmt.Sprintf("b%d", k), d, tb), LastBackward: pass(fmt.Sprintf("b%d", k), d, tb)}
		for _, r := range order[k] {
			st.Order = append(st.Order, plan.PassRef{Micro: r.Micro, Backward: r.Backward})
		}
		pl.Stages = append(pl.Stages, st)
		if k > 0 {
			pl.Boundaries = append(pl.Boundaries, plan.Boundary{Forward: move(d-1, d), Backward: move(d, d-1)})
		}
	}
	pp := &plan.Plan{SchemaVersion: plan.SchemaVersion, Model: "toy", ModelSource: "toy", Batch: int64(m), Seq: 1,
		GraphSHA256: fmt.Sprintf("%064x", 0), Wafer: w.Name, Layout: "toy", MicroBatch: 1, CapacityBytes: 1e9, Pipeline: pl}
	for k := range p {
		pp.Dies = append(pp.Dies, wafer.DieID(k))
	}
	if err := pp.Verify(joined); err != nil {
		t.Fatal(err)
	}
	return pp, joined
}

// TestPipelineSimulatedClosedForm replays toy pipelines in the simulator
// and holds their steps to independent figures: with instant transfers,
// the closed form of GPipe and 1F1B, (m + p − 1)·(tf + tb); with
// transfers of a tenth or half a pass, the schedule's timeline
// (costmodel.Pipeline), which runs the same passes in the same order with
// the transfer time between them. In full, and extrapolated from two
// replays a period of p micro-batches apart, run side by side or one
// after the other.
func TestPipelineSimulatedClosedForm(t *testing.T) {
	const tf, tb, bw = 1e-3, 2e-3, 1e12
	for _, c := range []struct {
		s     partition.Schedule
		p, m  int
		bytes int64 // per boundary message; at 1 TB/s, 1e8 B is 0.1 ms
	}{
		{partition.OneFOneB, 2, 1, 1}, {partition.OneFOneB, 2, 8, 1}, {partition.OneFOneB, 4, 16, 1},
		{partition.GPipe, 2, 8, 1}, {partition.GPipe, 3, 12, 1},
		{partition.OneFOneB, 2, 8, 1e8}, {partition.OneFOneB, 4, 16, 1e8}, {partition.OneFOneB, 3, 9, 5e8},
		{partition.GPipe, 3, 12, 1e8}, {partition.GPipe, 4, 8, 5e8},
		{partition.OneFOneB, 3, 20, 5e8}, {partition.OneFOneB, 4, 30, 1e8}, {partition.GPipe, 4, 32, 5e8},
	} {
		for _, mode := range []string{"full", "side by side", "one after the other"} {
			full := mode == "full"
			name := fmt.Sprintf("%s/p%d/m%d/%dB/%s", c.s, c.p, c.m, c.bytes, mode)
			t.Run(name, func(t *testing.T) {
				pl, joined := toyPipeline(t, c.s, c.p, c.m, tf, tb, c.bytes, 0, float64(bw))
				cfg := sim.StepConfig{Config: sim.Config{NetworkOnly: true}, Full: full}
				if mode == "one after the other" {
					cfg.MaxParallelTasks = 1
				}
				got, err := sim.PipelineStep(joined, pl, cfg)
				if err != nil {
					t.Fatal(err)
				}
				want := float64(c.m+c.p-1) * (tf + tb)
				if c.bytes > 1 {
					order, _ := partition.PipelineOrder(c.s, c.p, c.m, 1)
					st := costmodel.StageTimes{}
					for k := range c.p {
						st.Forward, st.Backward = append(st.Forward, tf), append(st.Backward, tb)
						if k > 0 {
							st.Transfer = append(st.Transfer, float64(c.bytes)/bw)
						}
					}
					tl, err := costmodel.Pipeline(order, st)
					if err != nil {
						t.Fatal(err)
					}
					want = tl.Makespan
				}
				if replays := len(got.Replays); !full && c.m > 3*c.p && replays != 2 {
					t.Errorf("%d replays; a pipeline of %d micro-batches on %d stages is extrapolated from 2", replays, c.m, c.p)
				}
				if math.Abs(got.Makespan-want) > 1e-9*want {
					t.Errorf("simulated %.9g s, want %.9g s (%s)", got.Makespan, want, got.Method)
				}
				if b := got.Pipeline.Bubble(); c.bytes == 1 && math.Abs(b-float64(c.p-1)/float64(c.m+c.p-1)) > 1e-6 {
					t.Errorf("bubble %.6f, want (p−1)/(m+p−1) = %.6f", b, float64(c.p-1)/float64(c.m+c.p-1))
				}
			})
		}
	}
}

// TestCompilePipeline compiles a two-stage pipeline of a small GPT-2
// across two mesh4x4 wafers and holds the plan to what it claims: it
// verifies, meets its schema, survives a round trip through its file and
// ReadPlan's checks (every stage's work against its rebuilt stage graph);
// the simulator carries exactly the bytes the pipeline must move between
// the wafers (each micro-batch's activation and its gradient, and both
// halves of the tied embedding's gradient exchange for each replica
// pair), its extrapolated step matches a full replay, and it lands
// within 10% of the prediction. Tampered copies are refused.
func TestCompilePipeline(t *testing.T) {
	ctx := context.Background()
	s, _ := wafer.Preset("mesh4x4")
	const batch, seq, m = 16, 256, 8
	// Without fsdp-keep, which this tiny model's stages would take: their
	// passes are bound by the weights' gathers, and the simulator runs one
	// micro-batch's gathers under another's backward kernels, which the
	// cost model's stage times (each pass alone) do not: −24% (a known
	// gap of the cost model, not of this plumbing).
	o := tempc.PipelineOptions{Options: tempc.Options{Model: tinyGPT2, Spec: s, Batch: batch, Seq: seq, Mapper: "smap",
		Space: partition.Config{Deny: []partition.Scheme{partition.FSDPKeep}}}, Stages: 2, MicroBatches: m}
	c, err := tempc.CompilePipeline(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := plan.WriteJSON(&buf, c.Plan); err != nil {
		t.Fatal(err)
	}
	sch, err := jsonschema.NewCompiler().Compile("plan/plan.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("the pipeline plan violates its schema: %v", err)
	}
	p, joined, err := tempc.ReadPlan("pp.json", buf.Bytes(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c.Plan, p); d != "" {
		t.Errorf("the plan changed in a round trip (-want +got):\n%s", d)
	}
	if joined.Rows != s.Rows || joined.Cols != 2*s.Cols {
		t.Errorf("the plan runs on a %d×%d mesh, want %d×%d", joined.Rows, joined.Cols, s.Rows, 2*s.Cols)
	}
	got, err := tempc.Simulate(ctx, p, joined, tempc.SimulateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	full, err := tempc.Simulate(ctx, p, joined, tempc.SimulateOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	r := got.Report
	if e := math.Abs(r.Simulated-full.Report.Simulated) / full.Report.Simulated; e > 0.005 {
		t.Errorf("extrapolated step %.6g s, full replay %.6g s: %.2f%% apart", r.Simulated, full.Report.Simulated, 100*e)
	}
	if e := *r.RelErr; math.Abs(e) > 0.10 {
		t.Errorf("simulated %.6g s, predicted %.6g s: %+.1f%%", r.Simulated, r.Predicted, 100*e)
	}
	arch, err := frontend.LoadArch(tinyGPT2, seq)
	if err != nil {
		t.Fatal(err)
	}
	pl := p.Pipeline
	want := 2 * float64(m) * float64(batch/m*seq*arch.Hidden*2)
	if arch.TiedEmbeddings {
		pairs := max(len(pl.Stages[0].Groups), len(pl.Stages[1].Groups))
		want += 2 * float64(pairs) * float64(arch.Vocab*arch.EmbedDim()*2)
	}
	if x := full.Report.Pipeline.InterWaferBytes; x != want {
		t.Errorf("%.0f bytes crossed between the wafers, want %.0f", x, want)
	}
	if n := len(r.Pipeline.Stages); n != 2 || r.Pipeline.Bubble <= 0 || r.Pipeline.Bubble >= 1 {
		t.Errorf("%d stages, bubble %g: want 2 stages and a bubble in (0, 1)", n, r.Pipeline.Bubble)
	}
	for _, c := range []struct {
		name   string
		tamper func(p *plan.Plan)
		want   string
	}{
		{"blocks moved", func(p *plan.Plan) { p.Pipeline.Stages[1].FirstBlock++ }, "where the stage before ends"},
		{"a pass lost", func(p *plan.Plan) { p.Pipeline.Stages[0].Forward = p.Pipeline.Stages[0].Forward[1:] }, "stage 0"},
		{"another model", func(p *plan.Plan) { p.GraphSHA256 = strings.Repeat("0", 64) }, "not the one the plan was compiled from"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := plan.ReadJSON("pp.json", buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			c.tamper(q)
			var b bytes.Buffer
			if err := plan.WriteJSON(&b, q); err != nil {
				t.Fatal(err)
			}
			if _, _, err := tempc.ReadPlan("pp.json", b.Bytes(), "", ""); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestCompilePipelineMiddleStages: a middle stage that the split search
// planned at another position of the model (the same number of blocks
// and micro-batches in flight) is planned again at its own blocks, so
// that the plan names its own stage graph and reads back through
// ReadPlan's work checks.
func TestCompilePipelineMiddleStages(t *testing.T) {
	ctx := context.Background()
	s, _ := wafer.Preset("mesh4x4")
	// Both cases reused a stage planned elsewhere before it was planned
	// again: [2:5) for the middle stage of 3 ([3:6)), [2:4) for stage 2
	// of 4 under GPipe ([4:6)).
	for _, c := range []struct {
		stages, micro int
		s             partition.Schedule
	}{{3, 4, partition.OneFOneB}, {4, 8, partition.GPipe}} {
		o := tempc.PipelineOptions{Options: tempc.Options{Model: tinyGPT2, Spec: s, Batch: 16, Seq: 256, Mapper: "smap"},
			Stages: c.stages, MicroBatches: c.micro, Schedule: c.s}
		cp, err := tempc.CompilePipeline(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := plan.WriteJSON(&buf, cp.Plan); err != nil {
			t.Fatal(err)
		}
		p, _, err := tempc.ReadPlan("pp.json", buf.Bytes(), "", "")
		if err != nil {
			t.Fatalf("%d stages, %s: %v", c.stages, c.s, err)
		}
		for k, st := range p.Pipeline.Stages {
			if want := fmt.Sprintf("tiny-gpt2[%d:%d]", st.FirstBlock, st.EndBlock); k > 0 && k < c.stages-1 && st.Model != want {
				t.Errorf("%d stages, %s: stage %d is named %s, want %s", c.stages, c.s, k, st.Model, want)
			}
		}
	}
}

// TestPipelineOnFaultyCluster: a pipeline whose boundary rows cross dead
// links is lowered with detours and read back (before, lowering failed
// after the whole search: "route hop 4 uses dead link"); a cluster whose
// faults cut each wafer's planned dies off from the seam is refused by the
// search, before any throughput is reported.
func TestPipelineOnFaultyCluster(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		rows int // rows whose link (r,2)–(r,3) is dead
		want string
	}{{3, ""}, {4, "cannot reach each other"}} {
		s, _ := wafer.Preset("mesh4x4")
		f := *s
		f.Name = fmt.Sprintf("mesh4x4-%d-dead", tc.rows)
		for r := range tc.rows {
			f.DeadLinks = append(f.DeadLinks, wafer.DeadLink{A: wafer.Coord{R: r, C: 2}, B: wafer.Coord{R: r, C: 3}})
		}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		o := tempc.PipelineOptions{Options: tempc.Options{Model: tinyGPT2, Spec: &f, Batch: 16, Seq: 256, Mapper: "smap"}, Stages: 2, MicroBatches: 8}
		c, err := tempc.CompilePipeline(ctx, o)
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want %q", f.Name, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		var buf bytes.Buffer
		if err := plan.WriteJSON(&buf, c.Plan); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tempc.ReadPlan("pp.json", buf.Bytes(), "", ""); err != nil {
			t.Errorf("%s: read back: %v", f.Name, err)
		}
	}
}
