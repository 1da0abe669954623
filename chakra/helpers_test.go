package chakra

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// tinyWafer is mesh4x4's dies on a 2×3 mesh whose die (1,2) is dead.
func tinyWafer(t testing.TB) *wafer.Spec {
	t.Helper()
	s, _ := wafer.Preset("mesh4x4")
	w := *s
	w.Name, w.Rows, w.Cols = "tiny2x3", 2, 3
	w.DeadDies = []wafer.Coord{{R: 1, C: 2}}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	return &w
}

// progBuilder appends tasks to a program with their IDs.
type progBuilder struct{ plan.Program }

func (b *progBuilder) add(t plan.Task) plan.TaskID {
	t.ID = plan.TaskID(len(b.Tasks))
	b.Tasks = append(b.Tasks, t)
	return t.ID
}

// tinyPlan is a step on tinyWafer with every kind of task and every way
// a dependency crosses dies: a micro-batch loop of 3 around a block run
// twice — a compute on die 0; a transfer 0→1 and a compute on 1 waiting
// for it; a send 1→4 and its receive, which waits for what the send
// does; a compute on 4 waiting for the receive; a delay on 3 and a
// compute on 3 waiting for it and for die 0's compute (no message
// carries that: a sync message does); a compute on 2 that nothing waits
// for — then an optimizer block behind a barrier, a compute on each die.
func tinyPlan(t testing.TB) (*plan.Plan, *wafer.Spec) {
	s := tinyWafer(t)
	var f progBuilder
	c0 := f.add(plan.Task{Kind: plan.Compute, Name: "a", Die: 0, FLOPs: 3.6e9, HBMBytes: 1e6})
	tr := f.add(plan.Task{Kind: plan.Transfer, Name: "x", Die: 0, Dst: 1, Bytes: 4096, Deps: []plan.TaskID{c0}})
	c1 := f.add(plan.Task{Kind: plan.Compute, Name: "b", Die: 1, FLOPs: 7.2e9, Efficiency: 0.5, Deps: []plan.TaskID{tr}, Out: true})
	f.add(plan.Task{Kind: plan.Send, Name: "y", Die: 1, Dst: 4, Bytes: 1000, Tag: 7, Deps: []plan.TaskID{c1}})
	rv := f.add(plan.Task{Kind: plan.Recv, Name: "y", Die: 4, Peer: 1, Bytes: 1000, Tag: 7, Deps: []plan.TaskID{c1}, Out: true})
	f.add(plan.Task{Kind: plan.Compute, Name: "c", Die: 4, FLOPs: 1.8e8, HBMBytes: 2e6, Deps: []plan.TaskID{rv}, Out: true})
	d3 := f.add(plan.Task{Kind: plan.Compute, Name: "d", Die: 3, Seconds: 2.5e-6})
	f.add(plan.Task{Kind: plan.Compute, Name: "e", Die: 3, FLOPs: 1.8e9, Deps: []plan.TaskID{d3, c0}, Out: true})
	f.add(plan.Task{Kind: plan.Compute, Name: "f", Die: 2, FLOPs: 1.8e6, Out: true})
	var o progBuilder
	for d := range wafer.DieID(5) {
		o.add(plan.Task{Kind: plan.Compute, Name: "adam", Die: d, FLOPs: 1e6, HBMBytes: 1e6})
	}
	p := &plan.Plan{SchemaVersion: plan.SchemaVersion, Model: "tiny", Wafer: s.Name, Layout: "hand-made",
		Dies: []wafer.DieID{0, 1, 2, 3, 4}, Steps: []plan.Node{
			{Name: "mb", Count: 3, Body: []plan.Node{{Name: "fwd", Count: 2, Program: &f.Program}}},
			{Name: "opt", Count: 1, Barrier: true, Program: &o.Program},
		}}
	return p, s
}

// longPlan is a step on tinyWafer whose dies 0 and 1 each compute
// 70,000 times, a task per run that nothing of its run waits for, then
// an optimizer block behind a barrier on die 1: die 0's list of sinks
// outgrows sinkCompact (65,536) and is joined as it goes.
func longPlan(t testing.TB) (*plan.Plan, *wafer.Spec) {
	s := tinyWafer(t)
	var f, o progBuilder
	f.add(plan.Task{Kind: plan.Compute, Name: "step", Die: 0, FLOPs: 1e6, Out: true})
	f.add(plan.Task{Kind: plan.Compute, Name: "step", Die: 1, FLOPs: 1e6, Out: true})
	o.add(plan.Task{Kind: plan.Compute, Name: "adam", Die: 1, FLOPs: 1e6})
	o.add(plan.Task{Kind: plan.Compute, Name: "adam", Die: 0, FLOPs: 1e6})
	p := &plan.Plan{SchemaVersion: plan.SchemaVersion, Model: "long", Wafer: s.Name, Dies: []wafer.DieID{0, 1},
		Steps: []plan.Node{{Name: "loop", Count: 70000, Program: &f.Program}, {Name: "opt", Count: 1, Barrier: true, Program: &o.Program}}}
	return p, s
}

// gpt2Table prices gpt2 (16 sequences of 512 tokens) on mesh4x4 once.
var gpt2Table = sync.OnceValues(func() (*costmodel.Table, error) {
	g, err := frontend.Load("gpt2", frontend.Options{Batch: 16, Seq: 512})
	if err != nil {
		return nil, err
	}
	s, _ := wafer.Preset("mesh4x4")
	sp, err := partition.Build(g, s, partition.Config{})
	if err != nil {
		return nil, err
	}
	m, err := costmodel.New(s, costmodel.Params{})
	if err != nil {
		return nil, err
	}
	return m.Price(sp)
})

// gpt2Plan lowers gpt2 on mesh4x4 in the named layout, each op group
// taking its fastest valid scheme — a plan without a solver (the global
// level's choice needs HiGHS, through cgo) — and verifies it.
func gpt2Plan(t testing.TB, layout string) (*plan.Plan, *wafer.Spec) {
	t.Helper()
	tab, err := gpt2Table()
	if err != nil {
		t.Fatal(err)
	}
	sp := tab.Space
	a, err := fastest(tab, layout)
	if err != nil {
		t.Fatal(err)
	}
	p, err := lower.Lower(tab, a)
	if err != nil {
		t.Fatal(err)
	}
	p.ModelSource = "gpt2"
	if err := p.Verify(sp.Spec); err != nil {
		t.Fatal(fmt.Errorf("%s: %w", layout, err))
	}
	return p, sp.Spec
}

// fastest is the assignment of the named layout in which every op group
// takes its fastest valid scheme; it must fit in memory.
func fastest(tab *costmodel.Table, layout string) (ilp.Assignment, error) {
	sp := tab.Space
	li := slices.IndexFunc(sp.Layouts, func(l partition.Layout) bool { return l.Name() == layout })
	if li < 0 {
		return ilp.Assignment{}, fmt.Errorf("no layout %s", layout)
	}
	a := ilp.Assignment{Layout: li, Options: make([]int, len(sp.Groups))}
	for gi := range sp.Groups {
		best := -1
		for oi, o := range tab.Options[gi] {
			if o.Valid[li] && (best < 0 || o.Price[li].Seconds < tab.Options[gi][best].Price[li].Seconds) {
				best = oi
			}
		}
		if best < 0 {
			return a, fmt.Errorf("%s: group %d has no valid scheme", layout, gi)
		}
		a.Options[gi] = best
	}
	if b, err := ilp.Evaluate(tab, a); err != nil || !b.Fits {
		return a, fmt.Errorf("%s: the fastest schemes do not fit (%v)", layout, err)
	}
	return a, nil
}

// gpt2Layouts are the layouts the tests export: one 16-die group
// streaming blocks (with transfers), four 2×2 groups, and pure data
// parallelism (every die its own group).
var gpt2Layouts = []string{"dp1-4x4-mb4-full", "dp4-2x2-mb4-none", "dp16-1x1-mb1-none"}
