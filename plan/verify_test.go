package plan

import (
	"math"
	"strings"
	"testing"

	"github.com/tempc/tempc/wafer"
)

// testSHA is a well-formed graph digest (of nothing in particular).
const testSHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// validPlan is a small plan Verify accepts on mesh4x4: a loop of two runs
// around a block of three runs in which die 0 computes block 0 of "op"
// (allocating 1 kB it frees at its second compute), sends 1 MiB to die 1,
// and die 1 computes block 1 of "op" on it; then an optimizer block.
func validPlan() *Plan {
	var p Program
	a := p.Compute("a", 0, 1e9, 0)
	x := p.Transfer("x", 0, 1, 1<<20, nil, a)
	b := p.Compute("b", 1, 1e9, 0, x)
	p.Compute("c", 0, 1e9, 0, a)
	p.Tasks[a].Op, p.Tasks[a].Block, p.Tasks[a].Alloc = "op", 0, 1000
	p.Tasks[b].Op, p.Tasks[b].Block = "op", 1
	p.Tasks[3].Op, p.Tasks[3].Block, p.Tasks[3].Free = "op2", 0, 1000
	q := p.Split(0)
	var opt Program
	opt.Compute("adam", 0, 1e6, 0)
	opt.Tasks[0].Op = "adam"
	return &Plan{SchemaVersion: SchemaVersion, Model: "m", ModelSource: "m", Batch: 8, Seq: 128, GraphSHA256: testSHA,
		Wafer: "mesh4x4", Layout: "l", MicroBatch: 1, Dies: []wafer.DieID{0, 1}, StaticBytes: 1e6, CapacityBytes: 1e9,
		PredictedSeconds: 1, Steps: []Node{
			{Name: "loop", Count: 2, Body: []Node{{Name: "b", Count: 3, Program: &q}}},
			{Name: "optimizer", Count: 1, Program: &opt}}}
}

func mesh(t *testing.T) *wafer.Spec {
	t.Helper()
	s, ok := wafer.Preset("mesh4x4")
	if !ok {
		t.Fatal("no mesh4x4")
	}
	return s
}

// block returns the program of the loop's block.
func block(p *Plan) *Program { return p.Steps[0].Body[0].Program }

// prepend puts a block before the plan's steps in which die 0 computes op
// "pre" and allocates alloc bytes it never frees.
func prepend(p *Plan, alloc int64) {
	var pre Program
	pre.Compute("pre", 0, 1, 0)
	pre.Tasks[0].Alloc, pre.Tasks[0].Op = alloc, "pre"
	p.Steps = append([]Node{{Name: "pre", Count: 1, Program: &pre}}, p.Steps...)
}

// TestVerifyRejects breaks the valid plan one way per case; every error
// names what is wrong (and, for a task, the node, die and task).
func TestVerifyRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Plan)
		want   []string // "" alone: valid
	}{
		{"valid", func(p *Plan) {}, nil},
		{"no prediction", func(p *Plan) { p.PredictedSeconds = 0 }, nil},
		{"micro-batch zero", func(p *Plan) { p.MicroBatch = 0 }, []string{"plan: micro_batch 0 must lie in [1, batch 8]"}},
		{"micro-batch above the batch", func(p *Plan) { p.MicroBatch = 9 }, []string{"plan: micro_batch 9 must lie in [1, batch 8]"}},
		// Buffers above the capacity are refused before the memory sums,
		// whose rounding above 2^53 once made Verify panic (alloc 2^53+2,
		// then alloc 1 and free 2^53+4).
		{"buffer above memory", func(p *Plan) { block(p).Tasks[0].Alloc, block(p).Tasks[3].Free = 1<<53+2, 1<<53+4 },
			[]string{`task 0 "a": a buffer of 9007199254740994 bytes`}},
		// A free of what nothing allocated used to drive the live bytes
		// negative, so that a later allocation above the capacity fitted
		// (the audit's case was 100 TB; buffers above the capacity are now
		// refused on their own, so this one stays below it).
		{"free before alloc", func(p *Plan) {
			b := block(p)
			b.Tasks[0].Alloc, b.Tasks[0].Free = 0, 600e6
			b.Tasks[4].Alloc, b.Tasks[4].Free = 900e6, 0
		}, []string{`plan: die (0,0), node "b" task 0 "a", run 1 of 2 of "loop", run 1 of 3 of "b": frees 600000000 bytes, more than the 0 it has allocated and not freed`}},
		// Each run of the block frees 500 bytes more than it allocates:
		// the 1000 bytes the block before allocates last two runs.
		{"free across loop runs", func(p *Plan) {
			block(p).Tasks[4].Free = 1500
			prepend(p, 1000)
		}, []string{`plan: die (0,0), node "b" task 4 "c", run 1 of 2 of "loop", run 3 of 3 of "b": frees 1500 bytes, more than the 1000 it has allocated and not freed`}},
		{"free across outer loop runs", func(p *Plan) {
			block(p).Tasks[4].Free = 1001
			prepend(p, 4)
		}, []string{`run 2 of 2 of "loop", run 2 of 3 of "b": frees 1001 bytes, more than the 1000 it has allocated`}},
		// Memory was checked only on the dies the plan lists.
		{"unlisted die over capacity", func(p *Plan) {
			p.Dies = nil
			block(p).Tasks[0].Scratch = 999_500_000
		}, []string{"plan: die (0,0) holds 1.00 GB", `node "b" task 0 "a"`, "above its 1.00 GB"}},
		{"negative alloc", func(p *Plan) { block(p).Tasks[0].Alloc = -1 }, []string{`node "b": plan: die (0,0), task 0 "a": has negative bytes or memory 0, -1/0/0`}},
		{"negative free", func(p *Plan) { block(p).Tasks[4].Free = -1 }, []string{"has negative bytes or memory 0, 0/-1/0"}},
		{"negative scratch", func(p *Plan) { block(p).Tasks[0].Scratch = -5 }, []string{"has negative bytes or memory 0, 1000/0/-5"}},
		{"negative bytes", func(p *Plan) { block(p).Tasks[1].Bytes, block(p).Tasks[2].Bytes = -1, -1 }, []string{`task 1 "x": has negative bytes or memory -1`}},
		{"negative flops", func(p *Plan) { block(p).Tasks[0].FLOPs = -1 }, []string{`task 0 "a": has size -1; sizes must be finite`}},
		{"NaN flops", func(p *Plan) { block(p).Tasks[0].FLOPs = math.NaN() }, []string{"has size NaN"}},
		{"infinite hbm bytes", func(p *Plan) { block(p).Tasks[0].HBMBytes = math.Inf(1) }, []string{"has size +Inf"}},
		{"NaN flops on a send", func(p *Plan) { block(p).Tasks[1].FLOPs = math.NaN() }, []string{`task 1 "x": has size NaN`}},
		{"flops on a send", func(p *Plan) { block(p).Tasks[1].FLOPs = 1e12 }, []string{"is a send with FLOPs"}},
		{"op on a receive", func(p *Plan) { block(p).Tasks[2].Op = "op" }, []string{"is a recv with FLOPs, memory bytes, an efficiency, seconds or an op"}},
		{"negative block", func(p *Plan) { block(p).Tasks[0].Block = -1 }, []string{"computes block -1 of op"}},
		{"send to itself", func(p *Plan) { block(p).Tasks[1].Dst, block(p).Tasks[2].Die = 0, 0 }, []string{"sends to itself"}},
		{"message above memory", func(p *Plan) { block(p).Tasks[1].Bytes, block(p).Tasks[2].Bytes = 2e9, 2e9 }, []string{`task 1 "x": moves 2000000000 bytes, more than a die's 1000000000`}},
		{"negative predicted step", func(p *Plan) { p.PredictedSeconds = -1 }, []string{"plan: predicted_step_seconds = -1, want ≥ 0"}},
		{"NaN predicted step", func(p *Plan) { p.PredictedSeconds = math.NaN() }, []string{"predicted_step_seconds = NaN, want a finite number ≥ 0"}},
		{"infinite predicted step", func(p *Plan) { p.PredictedSeconds = math.Inf(1) }, []string{"predicted_step_seconds = +Inf, want a finite number ≥ 0"}},
		{"NaN static bytes", func(p *Plan) { p.StaticBytes = math.NaN() }, []string{"static_bytes_per_die = NaN, want a finite number ≥ 0"}},
		{"NaN capacity", func(p *Plan) { p.CapacityBytes = math.NaN() }, []string{"capacity_bytes_per_die = NaN, want a finite number > 0"}},
		{"no steps", func(p *Plan) { p.Steps = []Node{} }, []string{"plan: steps is empty: the plan does no work"}},
		{"no compute op", func(p *Plan) {
			p.Steps = p.Steps[:1]
			for i := range block(p).Tasks {
				block(p).Tasks[i].Op = ""
			}
		}, []string{"plan: the step computes no op"}},
		{"runs overflow", func(p *Plan) { p.Steps[0].Count, p.Steps[0].Body[0].Count = 1<<20, 1<<20 }, []string{`plan: node "b" runs 1099511627776 times per step with its loops; at most 2^31`}},
		{"zero batch", func(p *Plan) { p.Batch = 0 }, []string{"plan: batch 0 and seq 128 must be positive"}},
		{"bad digest", func(p *Plan) { p.GraphSHA256 = "abc" }, []string{`plan: graph_sha256 "abc" is not 64 lower-case hex digits`}},
		{"old version", func(p *Plan) { p.SchemaVersion = 1 }, []string{"plan: schema version 1, want 4"}},
		{"duplicate block", func(p *Plan) { block(p).Tasks[4].Op = "op" }, []string{`node "b": plan: die (0,0), task 4 "c": block 0 of op is already computed by task 0`}},
		{"missing block", func(p *Plan) { block(p).Tasks[0].Block = 2 }, []string{`node "b": plan: block 0 of op is never computed (2 blocks computed)`}},
	}
	s := mesh(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := validPlan()
			tc.mutate(p)
			err := p.Verify(s)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("valid plan rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("broken plan verified")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
