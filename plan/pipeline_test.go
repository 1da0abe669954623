package plan

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// flatten writes a node tree out as the names of the blocks it runs, in
// order, each as often as it runs.
func flatten(nodes []Node) []string {
	var out []string
	for _, n := range nodes {
		for range n.Count {
			if n.Program != nil {
				out = append(out, n.Name)
			}
			out = append(out, flatten(n.Body)...)
		}
	}
	return out
}

// TestStageSteps: a stage's step tree (Stage.Steps) runs its passes in
// its order — forward, backward, the last backward pass's own blocks,
// then Finish — for every stage of GPipe and 1F1B pipelines, and an
// order restricted to fewer micro-batches (Stage.passes) is the
// schedule's order for that many.
func TestStageSteps(t *testing.T) {
	block := func(name string) []Node { return []Node{{Name: name, Count: 1, Program: &Program{}}} }
	for _, s := range []partition.Schedule{partition.OneFOneB, partition.GPipe} {
		for p := 1; p <= 5; p++ {
			for m := 1; m <= 12; m++ {
				order, err := partition.PipelineOrder(s, p, m, 1)
				if err != nil {
					t.Fatal(err)
				}
				for k := range p {
					st := Stage{Forward: block("F"), Backward: block("B"), LastBackward: block("L"), Finish: block("opt")}
					for _, r := range order[k] {
						st.Order = append(st.Order, PassRef{Micro: r.Micro, Backward: r.Backward})
					}
					var want []string
					for i, r := range st.Order {
						switch {
						case !r.Backward:
							want = append(want, "F")
						case i == len(st.Order)-1:
							want = append(want, "L")
						default:
							want = append(want, "B")
						}
					}
					want = append(want, "opt")
					if got := flatten(st.Steps(m)); !slices.Equal(got, want) {
						t.Errorf("%s p=%d m=%d stage %d: runs %v, want %v", s, p, m, k, got, want)
					}
					if n := len(st.Steps(m)); n > 5 {
						t.Errorf("%s p=%d m=%d stage %d: %d nodes; runs of passes should make at most 5", s, p, m, k, n)
					}
					for short := 1; short < m; short++ {
						less, _ := partition.PipelineOrder(s, p, short, 1)
						var want []PassRef
						for _, r := range less[k] {
							want = append(want, PassRef{Micro: r.Micro, Backward: r.Backward})
						}
						if got := st.passes(short); !slices.Equal(got, want) {
							t.Errorf("%s p=%d stage %d: %d micro-batches' order restricted to %d is %v, want %v", s, p, k, m, short, got, want)
						}
					}
				}
			}
		}
	}
}

// testPipeline is a pipeline of two stages on a cluster of two mesh4x4
// wafers, each stage on die (0,3) or (0,0) of its wafer (the inter-wafer
// link joins them), with the joined mesh.
func testPipeline(t *testing.T) (*Plan, *wafer.Spec) {
	t.Helper()
	s := mesh(t)
	c := *s
	c.Cluster = wafer.DefaultCluster(s, 2)
	joined, err := c.Joined()
	if err != nil {
		t.Fatal(err)
	}
	a, b := joined.OnWafer(0, 3), joined.OnWafer(1, 0)
	pass := func(name string, d wafer.DieID, alloc, free int64) []Node {
		var p Program
		id := p.Delay(name, d, 1e-3)
		p.Tasks[id].Op, p.Tasks[id].Out, p.Tasks[id].Alloc, p.Tasks[id].Free = name, true, alloc, free
		return []Node{{Name: name, Count: 1, Program: &p}}
	}
	move := func(from, to wafer.DieID) *Program {
		var p Program
		p.Transfer("x", from, to, 1<<20, nil)
		p.Tasks[0].Out = true
		return &p
	}
	pl := &Pipeline{Schedule: "1f1b", MicroBatches: 4}
	for k, d := range []wafer.DieID{a, b} {
		st := Stage{Wafer: k, FirstBlock: k, EndBlock: k + 1, Model: "m", GraphSHA256: testSHA, Layout: "l", MicroBatch: 2,
			Dies: []wafer.DieID{d}, Forward: pass("f", d, 100, 0), Backward: pass("b", d, 0, 100), LastBackward: pass("b", d, 0, 100),
			Finish: pass("adam", d, 0, 0), StaticBytes: 1e6}
		st.Finish[0].Barrier = true
		order, _ := partition.PipelineOrder(partition.OneFOneB, 2, 4, 1)
		for _, r := range order[k] {
			st.Order = append(st.Order, PassRef{Micro: r.Micro, Backward: r.Backward})
		}
		pl.Stages = append(pl.Stages, st)
	}
	pl.Boundaries = []Boundary{{Forward: move(a, b), Backward: move(b, a)}}
	p := &Plan{SchemaVersion: SchemaVersion, Model: "m", ModelSource: "m", Batch: 8, Seq: 128, GraphSHA256: testSHA,
		Wafer: "mesh4x4", Layout: "pp2", MicroBatch: 2, Dies: []wafer.DieID{a, b}, StaticBytes: 1e6, CapacityBytes: 1e9, Pipeline: pl}
	return p, joined
}

// TestVerifyPipeline: the test pipeline verifies and expands to its
// stages' passes, boundaries and finishes; each broken copy is rejected
// with an error naming what is wrong.
func TestVerifyPipeline(t *testing.T) {
	p, joined := testPipeline(t)
	if err := p.Verify(joined); err != nil {
		t.Fatal(err)
	}
	ex, err := p.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	// 8 passes and a finish per stage, 4 transfers each way, and the two
	// finishes' barriers.
	if n := len(ex.Program.Tasks); n != 2*9+8+2 {
		t.Errorf("the expanded pipeline has %d tasks, want %d", n, 2*9+8+2)
	}
	if _, err := p.Expand(func(*Node) int { return 1 }); err == nil {
		t.Error("a pipeline shortened by node counts expanded")
	}
	for _, c := range []struct {
		name   string
		break_ func(p *Plan)
		want   string
	}{
		{"one wafer", nil, "runs on a wafer cluster"},
		{"steps too", func(p *Plan) { p.Steps = []Node{p.Pipeline.Stages[0].Forward[0]} }, "steps must be empty"},
		{"old schema", func(p *Plan) { p.SchemaVersion = 5 }, "needs schema version 6"},
		{"no boundary", func(p *Plan) { p.Pipeline.Boundaries = nil }, "has 0 boundaries, want 1"},
		{"short order", func(p *Plan) { p.Pipeline.Stages[1].Order = p.Pipeline.Stages[1].Order[1:] }, "order has 7 passes, want 8"},
		{"backward first", func(p *Plan) {
			o := p.Pipeline.Stages[1].Order
			o[0], o[1] = o[1], o[0]
		}, "pass B0 before its forward pass"},
		{"same wafer", func(p *Plan) { p.Pipeline.Stages[1].Wafer = 0 }, "stage 1 on wafer 0: want a distinct wafer"},
		{"die off its wafer", func(p *Plan) { p.Pipeline.Stages[1].Dies = []wafer.DieID{0} }, "die 0 is dead, missing or not on its wafer 1"},
		{"boundary from the wrong stage", func(p *Plan) {
			p.Pipeline.Boundaries[0].Forward = p.Pipeline.Boundaries[0].Backward
		}, "boundary 0→1, task 0 \"x\": starts on die"},
		{"no last backward", func(p *Plan) { p.Pipeline.Stages[0].LastBackward = nil }, "needs forward, backward and last_backward"},
		{"over capacity", func(p *Plan) { p.Pipeline.Stages[0].StaticBytes = 1e9 }, "stage 0: plan: die"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, joined := testPipeline(t)
			s := joined
			if c.break_ == nil {
				s = mesh(t)
			} else {
				c.break_(q)
			}
			err := q.Verify(s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestPassRefText: passes read back as written; malformed ones are
// refused.
func TestPassRefText(t *testing.T) {
	for _, r := range []PassRef{{0, false}, {31, true}} {
		b, _ := r.MarshalText()
		var back PassRef
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Errorf("%s read back as %v, %v", b, back, err)
		}
	}
	for _, bad := range []string{"", "F", "X1", "B-1", "F1x"} {
		var r PassRef
		if err := r.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q read as %v", bad, r)
		}
	}
	_ = fmt.Sprint
}
