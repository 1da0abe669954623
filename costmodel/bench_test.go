package costmodel

import (
	"math/rand/v2"
	"testing"

	"github.com/tempc/tempc/wafer"
)

// BenchmarkFlowsPermutation prices a random permutation of all 48 dies of
// temp48 (the fluid fair-share model, the costliest analytic call).
func BenchmarkFlowsPermutation(b *testing.B) {
	s, _ := wafer.Preset("temp48")
	m, _ := New(s, Params{})
	rng := rand.New(rand.NewPCG(1, 2))
	perm := rng.Perm(s.NumDies())
	var flows []Flow
	for a, d := range perm {
		if a != d {
			r, _ := s.Route(wafer.DieID(a), wafer.DieID(d), wafer.XY)
			flows = append(flows, Flow{Route: r, Bytes: 64 << 20})
		}
	}
	for b.Loop() {
		m.Flows(flows)
	}
}

// BenchmarkAllReduce48 prices a ring all-reduce over all 48 dies.
func BenchmarkAllReduce48(b *testing.B) {
	s, _ := wafer.Preset("temp48")
	m, _ := New(s, Params{})
	cyc, _ := s.Cycle(wafer.Rect{Rows: 6, Cols: 8})
	for b.Loop() {
		if _, err := m.AllReduce([][]wafer.DieID{cyc}, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMulticastBroadcast merges the XY routes from one corner of
// temp48 to every other die into a tree and prices a 64 MiB multicast on
// it (what pricing a K/V multicast costs per group shape, at its largest).
func BenchmarkMulticastBroadcast(b *testing.B) {
	s, _ := wafer.Preset("temp48")
	m, _ := New(s, Params{})
	var routes []wafer.Route
	for d := wafer.DieID(1); int(d) < s.NumDies(); d++ {
		r, _ := s.Route(0, d, wafer.XY)
		routes = append(routes, r)
	}
	for b.Loop() {
		t, _ := wafer.Merge(routes)
		if _, err := m.Multicast([]wafer.Tree{t}, 64<<20); err != nil {
			b.Fatal(err)
		}
	}
}
