package costmodel

import (
	"math"
	"testing"

	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// equalStages is a pipeline of p devices with v chunks each, every chunk
// taking tf/v forward and tb/v backward, and transfers of c.
func equalStages(p, v int, tf, tb, c float64) StageTimes {
	var t StageTimes
	for range p * v {
		t.Forward = append(t.Forward, tf/float64(v))
		t.Backward = append(t.Backward, tb/float64(v))
	}
	for range p*v - 1 {
		t.Transfer = append(t.Transfer, c)
	}
	return t
}

// TestPipelineClosedForms holds the schedules to their closed forms on
// equal stages without transfer time: GPipe and 1F1B take (m + p − 1) ×
// (tf + tb), a bubble of (p − 1)/(m + p − 1) (Narayanan et al. 2021,
// §2.2.1); interleaving v chunks takes m·(tf + tb) + (p − 1)·(tf + tb)/v
// (§2.2.2). 1F1B holds at most p − d micro-batches on device d, GPipe
// all m.
func TestPipelineClosedForms(t *testing.T) {
	const tf, tb = 1.0, 2.0
	tests := []struct {
		s       partition.Schedule
		p, m, v int
	}{
		{partition.GPipe, 1, 1, 1}, {partition.GPipe, 2, 4, 1}, {partition.GPipe, 4, 8, 1}, {partition.GPipe, 6, 3, 1},
		{partition.OneFOneB, 1, 5, 1}, {partition.OneFOneB, 2, 1, 1}, {partition.OneFOneB, 2, 4, 1},
		{partition.OneFOneB, 4, 8, 1}, {partition.OneFOneB, 6, 32, 1}, {partition.OneFOneB, 6, 3, 1},
		{partition.Interleaved, 2, 4, 2}, {partition.Interleaved, 4, 8, 2}, {partition.Interleaved, 4, 16, 4}, {partition.Interleaved, 6, 12, 3},
	}
	for _, tc := range tests {
		order, err := partition.PipelineOrder(tc.s, tc.p, tc.m, tc.v)
		if err != nil {
			t.Fatal(err)
		}
		tl, err := Pipeline(order, equalStages(tc.p, tc.v, tf, tb, 0))
		if err != nil {
			t.Fatalf("%v p%d m%d v%d: %v", tc.s, tc.p, tc.m, tc.v, err)
		}
		p, m, v := float64(tc.p), float64(tc.m), float64(tc.v)
		want := m*(tf+tb) + (p-1)*(tf+tb)/v
		if math.Abs(tl.Makespan-want) > 1e-9 {
			t.Errorf("%v p%d m%d v%d: step %g, want %g", tc.s, tc.p, tc.m, tc.v, tl.Makespan, want)
		}
		if bubble := (p - 1) / v / (m + (p-1)/v); math.Abs(tl.Bubble-bubble) > 1e-9 {
			t.Errorf("%v p%d m%d v%d: bubble %g, want %g", tc.s, tc.p, tc.m, tc.v, tl.Bubble, bubble)
		}
		for d, got := range tl.PeakInFlight {
			// Interleaving holds its warm-up's chunks and one more
			// (Megatron-LM warms up (p−d−1)·2 + (v−1)·p forward passes).
			want := map[partition.Schedule]int{partition.GPipe: tc.m, partition.OneFOneB: min(tc.p-d, tc.m),
				partition.Interleaved: min((tc.p-d-1)*2+(tc.v-1)*tc.p+1, tc.m*tc.v)}[tc.s]
			if got != want {
				t.Errorf("%v p%d m%d: device %d holds %d micro-batches at once, want %d", tc.s, tc.p, tc.m, d, got, want)
			}
		}
	}
}

// TestPipelineTransfers: a two-stage 1F1B pipeline whose activations take
// c to cross: the first micro-batch's forward pass and the last one's
// backward pass each cross once more than they compute, so the step is
// the closed form plus 2c at least, and grows with c.
func TestPipelineTransfers(t *testing.T) {
	order, err := partition.PipelineOrder(partition.OneFOneB, 2, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	last := 0.0
	for _, c := range []float64{0, 0.1, 0.5, 1, 3} {
		tl, err := Pipeline(order, equalStages(2, 1, 1, 2, c))
		if err != nil {
			t.Fatal(err)
		}
		if floor := 9*3 + 2*c; tl.Makespan < floor-1e-9 || tl.Makespan < last {
			t.Errorf("transfer %g: step %g, want at least %g and %g", c, tl.Makespan, floor, last)
		}
		last = tl.Makespan
	}
}

// TestPipelineOrderRejected: orders that cannot run are errors, not hangs.
func TestPipelineOrderRejected(t *testing.T) {
	two := equalStages(2, 1, 1, 1, 0)
	tests := []struct {
		name  string
		order [][]partition.Pass
	}{
		{"backward first", [][]partition.Pass{{{Micro: 0, Backward: true}, {Micro: 0}}, {{Micro: 0}, {Micro: 0, Backward: true}}}},
		{"deadlock", [][]partition.Pass{{{Micro: 0}, {Micro: 0, Backward: true}, {Micro: 1}, {Micro: 1, Backward: true}},
			{{Micro: 1}, {Micro: 0}, {Micro: 0, Backward: true}, {Micro: 1, Backward: true}}}},
		{"twice", [][]partition.Pass{{{Micro: 0}, {Micro: 0}}, {}}},
		{"chunk past the stages", [][]partition.Pass{{{Chunk: 1}}, {}}},
	}
	for _, tc := range tests {
		if _, err := Pipeline(tc.order, two); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if _, err := Pipeline([][]partition.Pass{{}}, StageTimes{Forward: []float64{math.NaN()}, Backward: []float64{1}}); err == nil {
		t.Error("a NaN stage time was accepted")
	}
}

// TestInFlightActivations: a die holding k micro-batches (a pipeline
// stage under 1F1B) keeps k times the saved activations of every option
// (and fsdp-keep k times its kept weights, gathered for each micro-batch's
// forward pass and held to its backward), and nothing else changes: time,
// traffic, fsdp's gathered weights, transients.
func TestInFlightActivations(t *testing.T) {
	s, _ := wafer.Preset("temp48")
	sp := smallSpace(t, s)
	price := func(k int) *Table {
		m, err := New(s, Params{InFlight: k})
		if err != nil {
			t.Fatal(err)
		}
		tab, err := m.Price(sp)
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	one, three := price(0), price(3)
	n := 0
	for gi := range one.Options {
		for oi, o := range one.Options[gi] {
			for li := range o.Valid {
				a, b := o.Price[li], three.Options[gi][oi].Price[li]
				if !o.Valid[li] {
					continue
				}
				n++
				gathered := a.Mem.Gathered
				if o.Scheme == partition.FSDPKeep {
					gathered *= 3
				}
				if math.Abs(b.Mem.Acts-3*a.Mem.Acts) > 1e-9*a.Mem.Acts || b.Seconds != a.Seconds || b.Mem.Transient != a.Mem.Transient || math.Abs(b.Mem.Gathered-gathered) > 1e-9*gathered {
					t.Fatalf("group %d option %d layout %d: 3 in flight %+v, 1 in flight %+v", gi, oi, li, b, a)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no valid option priced")
	}
	if _, err := New(s, Params{InFlight: -1}); err == nil {
		t.Error("-1 micro-batches in flight accepted")
	}
}
