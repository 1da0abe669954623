package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// stepPlan is a micro-batch loop of m around a layer loop of l, each layer
// a 1 ms kernel on dies 0 and 1 and a 1 MiB transfer from 0 to 1 after it;
// open leaves the transfer out of the handoff (background work).
func stepPlan(m, l int, open bool) *plan.Plan {
	var p plan.Program
	a := p.Delay("a", 0, 1e-3)
	b := p.Delay("b", 1, 1e-3)
	x := p.Transfer("x", 0, 1, 1<<20, nil, a)
	p.Tasks[a].Out = true
	p.Tasks[b].Out = true
	p.Tasks[x].Out = !open
	p.Tasks[a].Alloc, p.Tasks[b].Free = 1000, 0
	q := p.Split(0)
	return &plan.Plan{Steps: []plan.Node{{Name: "micro-batch", Count: m, Body: []plan.Node{{Name: "layers", Count: l, Program: &q}}}}}
}

// TestStepExtrapolatesClosedLoops: a closed step's extrapolation from
// replays of one and two runs per loop equals the full replay; an open
// step is replayed in full.
func TestStepExtrapolatesClosedLoops(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	p := stepPlan(5, 7, false)
	full, err := Step(s, p, StepConfig{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	short, err := Step(s, p, StepConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(short.Loops) != 2 || len(short.Replays) != 4 {
		t.Fatalf("loops %v, %d replays; want 2 and 4", short.Loops, len(short.Replays))
	}
	if math.Abs(full.Makespan-short.Makespan) > 1e-12 || full.Makespan < 35e-3 {
		t.Errorf("full %.9g s, extrapolated %.9g s (35 kernels of 1 ms on each die at least)", full.Makespan, short.Makespan)
	}
	for i := range full.Dies {
		if math.Abs(full.Dies[i].PeakMemoryBytes-short.Dies[i].PeakMemoryBytes) > 1e-6 {
			t.Errorf("die %d: peak memory full %g, extrapolated %g", i, full.Dies[i].PeakMemoryBytes, short.Dies[i].PeakMemoryBytes)
		}
	}
	if got := full.Dies[0].PeakMemoryBytes; got != 35*1000 {
		t.Errorf("die 0 peak %g bytes, want 35 kB (never freed)", got)
	}
	open, err := Step(s, stepPlan(5, 7, true), StepConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(open.Loops) != 0 || !strings.HasPrefix(open.Method, "whole step") {
		t.Errorf("open step: loops %v, method %q", open.Loops, open.Method)
	}
}

// TestCornerWeights: nested loops get the plain multilinear weights;
// sibling loops (one depth) add their differences without a joint term.
func TestCornerWeights(t *testing.T) {
	nested := cornerWeights([]Loop{{Depth: 0, Count: 4, Short: 1}, {Depth: 1, Count: 10, Short: 2}})
	t1, t2 := 3.0, 8.0
	want := []float64{(1 - t1) * (1 - t2), t1 * (1 - t2), (1 - t1) * t2, t1 * t2}
	siblings := cornerWeights([]Loop{{Depth: 1, Count: 4, Short: 1}, {Depth: 1, Count: 10, Short: 2, Open: true}})
	// M00 + t1 (M10 − M00) + t2 (M01 − M00)
	want2 := []float64{1 - t1 - t2, t1, t2, 0}
	for c := range want {
		if math.Abs(nested[c]-want[c]) > 1e-12 || math.Abs(siblings[c]-want2[c]) > 1e-12 {
			t.Errorf("corner %d: nested %g (want %g), siblings %g (want %g)", c, nested[c], want[c], siblings[c], want2[c])
		}
	}
}

// TestStepPeakMovesBetweenBlocks: a block before the loops holds a large
// transient (5 kB), each forward layer keeps 1 kB until its backward
// layer frees it. One- and two-layer replays peak at the transient; the
// real step, 40 layers, at the end of its forward pass — which the peak
// extrapolated block by block finds, the whole replay's peak would not.
func TestStepPeakMovesBetweenBlocks(t *testing.T) {
	block := func(name string, alloc, free, scratch int64) plan.Program {
		var p plan.Program
		id := p.Delay(name, 0, 1e-4)
		p.Tasks[id].Out = true
		p.Tasks[id].Alloc, p.Tasks[id].Free, p.Tasks[id].Scratch = alloc, free, scratch
		return p
	}
	pre, fwd, bwd := block("pre", 0, 0, 5000), block("fwd", 1000, 0, 100), block("bwd", 0, 1000, 100)
	p := &plan.Plan{Steps: []plan.Node{{Name: "pre", Count: 1, Program: &pre},
		{Name: "fwd.layers", Count: 40, Program: &fwd}, {Name: "bwd.layers", Count: 40, Program: &bwd}}}
	s, _ := wafer.Preset("mesh4x4")
	full, err := Step(s, p, StepConfig{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	short, err := Step(s, p, StepConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(short.Replays) < 2 {
		t.Fatalf("%d replays: the layer loops were not extrapolated", len(short.Replays))
	}
	if got, want := full.Dies[0].PeakMemoryBytes, 40*1000.0+100; got != want {
		t.Errorf("full replay peak %g bytes, want %g", got, want)
	}
	if got, want := short.Dies[0].PeakMemoryBytes, full.Dies[0].PeakMemoryBytes; math.Abs(got-want) > 1e-6 {
		t.Errorf("extrapolated peak %g bytes, full replay %g", got, want)
	}
}
