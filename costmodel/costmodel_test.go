package costmodel

import (
	"math"
	"testing"

	"github.com/tempc/tempc/wafer"
)

func model(t *testing.T, name string) *Model {
	t.Helper()
	s, ok := wafer.Preset(name)
	if !ok {
		t.Fatal(name)
	}
	m, err := New(s, Params{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

func TestComputeAndTransfer(t *testing.T) {
	m := model(t, "temp48")
	// 1.8e15 FLOPs at 1.8 PFLOP/s: 1 s; 2e12 HBM bytes at 1 TB/s: 2 s.
	if m.Compute(1.8e15, 1e9) != 1 || m.Compute(1e12, 2e12) != 2 {
		t.Error("roofline")
	}
	half, _ := New(m.Spec, Params{ComputeEfficiency: 0.5})
	if half.Compute(1.8e15, 0) != 2 {
		t.Error("efficiency not applied")
	}
	// 3 hops of 200 ns plus 4 MB at 4 TB/s (1 µs).
	if got := m.Transfer(3, 4e6); !near(got, 1.6e-6) {
		t.Errorf("transfer %g", got)
	}
	if _, err := New(m.Spec, Params{HBMEfficiency: 1.5}); err == nil {
		t.Error("efficiency above 1 accepted")
	}
}

func route(t *testing.T, m *Model, a, b wafer.Coord) wafer.Route {
	t.Helper()
	r, err := m.Spec.Route(m.Spec.ID(a), m.Spec.ID(b), wafer.XY)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFlows(t *testing.T) {
	m := model(t, "mesh4x4")
	B, lat := m.Spec.Link.Bandwidth, m.Spec.Link.Latency
	const n = 1e8
	c := func(r, col int) wafer.Coord { return wafer.Coord{R: r, C: col} }
	tests := []struct {
		name  string
		flows []Flow
		want  float64
	}{
		{"one", []Flow{{route(t, m, c(0, 0), c(0, 3)), n}}, n/B + 3*lat},
		// Two flows merging into (0,1)→(0,2) from different input ports: B/2 each.
		{"merge", []Flow{{route(t, m, c(0, 0), c(0, 2)), n}, {route(t, m, c(0, 1), c(0, 2)), n}}, 2*n/B + 2*lat},
		// Disjoint flows do not interfere.
		{"disjoint", []Flow{{route(t, m, c(0, 0), c(0, 1)), n}, {route(t, m, c(1, 0), c(1, 1)), n}}, n/B + lat},
		// Three flows into (0,2)→(0,3): two arrive over the same link (one
		// input port: half the link, B/4 each), one is injected there (the
		// other half). The injected one ends at 2n/B with the others half
		// done; they then share the whole link and end at 3n/B.
		{"ports", []Flow{{route(t, m, c(0, 0), c(0, 3)), n}, {route(t, m, c(0, 1), c(0, 3)), n}, {route(t, m, c(0, 2), c(0, 3)), n}},
			3*n/B + 3*lat},
	}
	for _, tc := range tests {
		if got := m.Flows(tc.flows).Seconds; !near(got, tc.want) {
			t.Errorf("%s: %.9g, want %.9g", tc.name, got, tc.want)
		}
	}
	ld := m.Flows(tests[3].flows)
	if ld.MaxLinkBytes != 3*n || m.Spec.LinkName(ld.MaxLink) != "(0,2)→(0,3)" {
		t.Errorf("max link %s with %g bytes", m.Spec.LinkName(ld.MaxLink), ld.MaxLinkBytes)
	}
}

// TestFairShareByInputPort: a link fed by two input ports gives each half,
// however many flows come through one of them.
func TestFairShareByInputPort(t *testing.T) {
	m := model(t, "mesh4x4")
	s := m.Spec
	c := func(r, col int) wafer.DieID { return s.ID(wafer.Coord{R: r, C: col}) }
	// Flows a, b enter (0,1) from (0,0) and leave east; flow x is injected at (0,1).
	a := s.Links(route(t, m, wafer.Coord{R: 0, C: 0}, wafer.Coord{R: 0, C: 2}))
	b := s.Links(wafer.Route{c(1, 0), c(0, 0), c(0, 1), c(0, 2)})
	x := s.Links(route(t, m, wafer.Coord{R: 0, C: 1}, wafer.Coord{R: 0, C: 2}))
	rate := fairShare([][]wafer.LinkID{a, b, x}, []bool{true, true, true}, func(wafer.LinkID) float64 { return 1 })
	if !near(rate[0], 0.25) || !near(rate[1], 0.25) || !near(rate[2], 0.5) {
		t.Errorf("rates %v, want [0.25 0.25 0.5]", rate)
	}
}

func TestAllReduceClosedForm(t *testing.T) {
	m := model(t, "mesh4x4")
	s := m.Spec
	cyc, _ := s.Cycle(wafer.Rect{Rows: 2, Cols: 4})
	const n = 256e6
	c, err := m.AllReduce([][]wafer.DieID{cyc}, n)
	if err != nil {
		t.Fatal(err)
	}
	P := 8.0
	want := 2*(P-1)/P*n/s.Link.Bandwidth + 2*(P-1)*s.Link.Latency
	if !near(c.Seconds, want) {
		t.Errorf("all-reduce %.9g, closed form %.9g", c.Seconds, want)
	}
	// A 1×4 row closed as a ring pays the 3-hop wrap-around every step.
	row := s.Snake(wafer.Rect{Rows: 1, Cols: 4})
	c, _ = m.AllGather([][]wafer.DieID{row}, n)
	want = 3 * (3*s.Link.Latency + n/4/s.Link.Bandwidth)
	if !near(c.Seconds, want) {
		t.Errorf("all-gather on a row %.9g, want %.9g", c.Seconds, want)
	}
}

func TestStreams(t *testing.T) {
	m := model(t, "temp48")
	s := m.Spec
	const block = 16e6
	tBlock := s.Link.Latency + block/s.Link.Bandwidth // one hop
	chain := s.Snake(wafer.Rect{Rows: 1, Cols: 8})
	cycle, _ := s.Cycle(wafer.Rect{Rows: 2, Cols: 4})
	for _, comp := range []float64{tBlock / 10, tBlock * 10} {
		// fill/drain one compute, then P−1 rounds of max(compute, comm).
		want := comp + 7*math.Max(comp, tBlock)
		ring, _ := m.RingStream([][]wafer.DieID{cycle}, block, comp)
		relay, _ := m.RelayStream([][]wafer.DieID{chain}, block, comp)
		if !near(ring.Seconds, want) || !near(relay.Seconds, want) {
			t.Errorf("compute %g: ring on cycle %g, relay on chain %g, want %g", comp, ring.Seconds, relay.Seconds, want)
		}
		// The naive ring on the straight chain waits 7 hops every round.
		naive, _ := m.RingStream([][]wafer.DieID{chain}, block, comp)
		wrap := 7*s.Link.Latency + block/s.Link.Bandwidth
		if want := comp + 7*math.Max(comp, wrap); !near(naive.Seconds, want) {
			t.Errorf("naive ring %g, want %g", naive.Seconds, want)
		}
	}
}

func TestEnergy(t *testing.T) {
	m := model(t, "temp48")
	r := route(t, m, wafer.Coord{R: 0, C: 0}, wafer.Coord{R: 0, C: 2})
	// 2e12 FLOPs at 2 TFLOPS/W = 1 J; 1e9 HBM bytes · 8 · 6 pJ = 0.048 J;
	// 1e9 D2D bytes · 8 · 2 hops · 5 pJ = 0.08 J.
	if got := m.Energy(2e12, 1e9, []Flow{{r, 1e9}}); !near(got, 1.128) {
		t.Errorf("energy %g J, want 1.128", got)
	}
}

func TestConcurrent(t *testing.T) {
	m := model(t, "mesh4x4")
	r := route(t, m, wafer.Coord{R: 0, C: 0}, wafer.Coord{R: 0, C: 1})
	a := Cost{Seconds: 1e-3, Flows: []Flow{{r, 1e9}}} // 0.25 ms of link time
	b := Cost{Seconds: 2e-4, Flows: []Flow{{r, 4e9}}} // 1 ms of link time
	// Together they need 5e9 bytes on one link: 1.25 ms plus a hop.
	if got, err := m.Concurrent(a, b); err != nil || !near(got.Seconds, 5e9/m.Spec.Link.Bandwidth+m.Spec.Link.Latency) {
		t.Errorf("concurrent %g (%v)", got.Seconds, err)
	}
}
