package lower

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
)

// TestCheckWorkAcceptsValidPlans lowers, for every strategy family, the
// global level's choice and assignments sampled over all layouts, and
// checks every plan against its graph. The models cover direct and
// streamed schemes, replicated pointwise work, prime batches (13 and 7
// sequences: one group of one-sequence micro-batches), uneven head splits (6 heads) and sequence splits (500
// and 250 tokens), GQA, the three recomputation modes, and groups shifted
// or made irregular by faults.
func TestCheckWorkAcceptsValidPlans(t *testing.T) {
	models := []struct {
		model, wafer string
		batch, seq   int64
		samples      int
		long         bool
	}{
		{"gpt2", "mesh4x4", 16, 512, 40, false},
		{"gpt2", "mesh4x4", 13, 500, 40, false},
		{"testdata/tiny-llama.json", "mesh4x4", 12, 256, 40, false},
		{"testdata/tiny-llama.json", "mesh4x4", 7, 250, 40, false},
		{"gpt2", "mesh4x4-faulty", 16, 512, 40, false},
		{"llama2-7b", "mesh4x4", 12, 1000, 4, true},
		{"gpt3-6.7b", "temp48", 128, 2048, 4, true},
	}
	plans := 0
	for _, m := range models {
		samples := m.samples
		if testing.Short() {
			if m.long {
				continue
			}
			samples /= 4
		}
		for _, fam := range partition.Families {
			tab := priced(t, m.model, m.wafer, m.batch, m.seq, partition.Config{Family: fam})
			for i, a := range append(sampled(tab, samples, 1), optimum(t, tab)) {
				p := lowered(t, tab, a)
				plans++
				if err := CheckWork(p, tab.Space); err != nil {
					t.Errorf("%s %d×%d %s, plan %d (%s): %v", m.model, m.batch, m.seq, fam, i, p.Layout, err)
				}
			}
		}
	}
	t.Logf("%d plans checked", plans)
}

// removeTasks drops the tasks of a block for which drop holds, renumbering
// the others and their dependencies.
func removeTasks(prog *plan.Program, drop func(*plan.Task) bool) {
	newID := make([]plan.TaskID, len(prog.Tasks))
	var out []plan.Task
	for i, t := range prog.Tasks {
		if drop(&prog.Tasks[i]) {
			newID[i] = -1
			continue
		}
		newID[i] = plan.TaskID(len(out))
		var deps []plan.TaskID
		for _, d := range t.Deps {
			if newID[d] >= 0 {
				deps = append(deps, newID[d])
			}
		}
		t.ID, t.Deps = newID[i], deps
		out = append(out, t)
	}
	prog.Tasks = out
}

// eachBlock calls f on every block of the plan.
func eachBlock(p *plan.Plan, f func(n *plan.Node)) {
	p.Walk(func(n *plan.Node, _ int) error { f(n); return nil })
}

// TestCheckWorkRejects breaks a valid plan one way per case; Verify, which
// does not know the graph, accepts the first ones (verifies), and
// CheckWork's error names the pass and what is missing.
func TestCheckWorkRejects(t *testing.T) {
	// gpt2 on mesh4x4: 4 groups of 2×2 dies streaming blocks (4 per die
	// forward, 8 backward), no recomputation; tiny-llama under full
	// recomputation.
	gpt2 := priced(t, "gpt2", "mesh4x4", 16, 512, partition.Config{})
	full := priced(t, "testdata/tiny-llama.json", "mesh4x4", 12, 256, partition.Config{Recompute: []partition.Recompute{partition.Full}})
	tests := []struct {
		name     string
		tab      *costmodel.Table
		mutate   func(t *testing.T, p *plan.Plan)
		verifies bool
		want     []string
	}{
		{"last block of an op removed", gpt2, func(t *testing.T, p *plan.Plan) {
			eachBlock(p, func(n *plan.Node) {
				if n.Name == "fwd.layers" {
					last := -1
					for _, task := range n.Program.Tasks {
						if task.Op == "block/mlp.down.fwd" {
							last = max(last, task.Block)
						}
					}
					removeTasks(n.Program, func(task *plan.Task) bool { return task.Op == "block/mlp.down.fwd" && task.Block == last })
				}
			})
		}, true, []string{`lower: node "fwd.layers": block 127 of block/mlp.down.fwd is never computed (16 dies of 8 per group, 8 blocks each)`}},
		{"whole op removed", gpt2, func(t *testing.T, p *plan.Plan) {
			eachBlock(p, func(n *plan.Node) {
				removeTasks(n.Program, func(task *plan.Task) bool { return task.Op == "block/mlp.up.pw.fwd" })
			})
		}, true, []string{"lower: plan computes 0 of the", "FLOPs of block/mlp.up.pw.fwd per step"}},
		// Without the activations it saves, the backward pass frees more
		// than the die holds: Verify notices too.
		{"whole op with memory removed", gpt2, func(t *testing.T, p *plan.Plan) {
			eachBlock(p, func(n *plan.Node) {
				removeTasks(n.Program, func(task *plan.Task) bool { return task.Op == "block/attn.qkv.fwd" })
			})
		}, false, []string{"lower: plan computes 0 of the", "FLOPs of block/attn.qkv.fwd per step"}},
		{"optimizer removed", gpt2, func(t *testing.T, p *plan.Plan) {
			p.Steps = p.Steps[:len(p.Steps)-1]
		}, true, []string{"lower: plan computes 0 of the", "FLOPs of adam per step"}},
		{"no steps", gpt2, func(t *testing.T, p *plan.Plan) { p.Steps = []plan.Node{} }, false,
			[]string{"lower: plan computes 0 of the", "HBM bytes of embed/embedding.fwd per step"}},
		{"a layer fewer", gpt2, func(t *testing.T, p *plan.Plan) { p.Steps[0].Body[2].Count-- }, false,
			[]string{"lower: plan computes", "of the", "FLOPs of block/attn.qkv.fwd per step"}},
		{"recomputation removed", full, func(t *testing.T, p *plan.Plan) {
			eachBlock(p, func(n *plan.Node) {
				removeTasks(n.Program, func(task *plan.Task) bool { return task.Op == "block/mlp.up.recompute.fwd" })
			})
		}, true, []string{"lower: plan computes 0 of the", "FLOPs of block/mlp.up.recompute.fwd per step"}},
		{"a block moved to another die", gpt2, func(t *testing.T, p *plan.Plan) {
			task := &p.Steps[len(p.Steps)-1].Program.Tasks[0]
			task.Die = (task.Die + 1) % 16
		}, true, []string{`lower: node "optimizer": a die computes 2 blocks of adam per run; its schemes compute 1 per die (8 dies per group)`}},
		{"an op the graph does not have", gpt2, func(t *testing.T, p *plan.Plan) {
			for i := range p.Steps[len(p.Steps)-1].Program.Tasks {
				p.Steps[len(p.Steps)-1].Program.Tasks[i].Op = "sgd"
			}
		}, true, []string{`lower: node "optimizer" computes sgd, which is no pass of the graph's op groups`}},
		{"work of no op", gpt2, func(t *testing.T, p *plan.Plan) {
			p.Steps[len(p.Steps)-1].Program.Compute("extra", 0, 1e12, 0)
		}, true, []string{`lower: node "optimizer" task 16 "extra" computes 1e+12 FLOPs (0 bytes) of no op`}},
		{"1e308 FLOPs", gpt2, func(t *testing.T, p *plan.Plan) {
			p.Steps[len(p.Steps)-1].Program.Tasks[0].FLOPs = 1e308
		}, true, []string{"lower: plan computes 1e+308 FLOPs of adam per step, more than twice the whole pass", "on each of its 16 dies"}},
		// plan.Verify holds the groups to the layout's degree too.
		{"another layout", gpt2, func(t *testing.T, p *plan.Plan) { p.Layout = "dp5-1x3-mb1-none" }, false,
			[]string{`lower: the plan's layout "dp5-1x3-mb1-none" is none of the`}},
		{"another batch", gpt2, func(t *testing.T, p *plan.Plan) { p.Batch = 32 }, true,
			[]string{"lower: the plan is of gpt2 at batch 32 × seq 512, the graph of gpt2 at batch 16 × seq 512"}},
		{"another graph", gpt2, func(t *testing.T, p *plan.Plan) { p.GraphSHA256 = strings.Repeat("0", 64) }, true,
			[]string{"lower: the graph of gpt2 is not the one the plan was compiled from", "recompile"}},
	}
	valid := map[*costmodel.Table][]byte{}
	for _, tab := range []*costmodel.Table{gpt2, full} {
		p := lowered(t, tab, optimum(t, tab))
		if err := CheckWork(p, tab.Space); err != nil {
			t.Fatalf("valid plan rejected: %v", err)
		}
		var b bytes.Buffer
		if err := plan.WriteJSON(&b, p); err != nil {
			t.Fatal(err)
		}
		valid[tab] = b.Bytes()
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := plan.ReadJSON("valid.json", valid[tc.tab])
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(t, p)
			if err := p.Verify(tc.tab.Space.Spec); (err == nil) != tc.verifies {
				t.Errorf("Verify: %v, want verifies %v", err, tc.verifies)
			}
			err = CheckWork(p, tc.tab.Space)
			if err == nil {
				t.Fatal("broken plan passes CheckWork")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			t.Log(err)
		})
	}
}

// TestCheckWorkChangedModelFile compiles a model file, edits the file, and
// checks the plan against the graph rebuilt from the edited file.
func TestCheckWorkChangedModelFile(t *testing.T) {
	orig, err := os.ReadFile("testdata/tiny-llama.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	tab := priced(t, path, "mesh4x4", 12, 256, partition.Config{})
	p := lowered(t, tab, optimum(t, tab))
	edited := strings.Replace(string(orig), `"intermediate_size": 688`, `"intermediate_size": 1024`, 1)
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	err = CheckWork(p, priced(t, path, "mesh4x4", 12, 256, partition.Config{}).Space)
	if err == nil || !strings.Contains(err.Error(), "is not the one the plan was compiled from") {
		t.Errorf("plan of the old file checked against the new one: %v", err)
	}
}

// TestCheckWorkSpaceLosesOps: a strategy space that gives some of the
// graph's ops to no group (here its pointwise ops dropped) cannot vouch for
// a plan, and CheckWork says which ops; the space of a graph file whose
// ops carry no keys covers every op (they are keyed by name).
func TestCheckWorkSpaceLosesOps(t *testing.T) {
	tab := priced(t, "../frontend/testdata/graph/tiny-forward.json", "mesh4x4", 0, 0, partition.Config{})
	p := lowered(t, tab, optimum(t, tab))
	if err := CheckWork(p, tab.Space); err != nil {
		t.Fatalf("the key-less graph's own plan: %v", err)
	}
	lossy := *tab.Space
	lossy.Pointwise = nil
	err := CheckWork(p, &lossy)
	if err == nil || !strings.Contains(err.Error(), "lower: the strategy space of tiny-mlp gives ops") {
		t.Errorf("err = %v", err)
	}
}
