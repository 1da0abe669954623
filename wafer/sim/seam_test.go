package sim

import (
	"math"
	"strings"
	"testing"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// joinedPair is two mesh4x4 wafers with 1 TiB of SRAM per die (so that no
// message spills) joined into one 4×8 mesh. Their seam is slower than a
// die-to-die link on every count: a quarter of its 4 TB/s (an edge of
// 4 TB/s over 4 rows), 2.5 times its 200 ns, twice its 5 pJ/bit.
func joinedPair(t testing.TB) *wafer.Spec {
	t.Helper()
	s := network(t, "mesh4x4")
	s.Cluster = &wafer.Cluster{Wafers: 2, EdgeBandwidth: 4e12, Latency: 500e-9, JoulesPerBit: 10e-12, StaticWatts: 16}
	j, err := s.Joined()
	if err != nil {
		t.Fatal(err)
	}
	if bw := j.Seam.Link.Bandwidth; bw != j.Link.Bandwidth/4 {
		t.Fatalf("seam bandwidth %g B/s, want a quarter of %g", bw, j.Link.Bandwidth)
	}
	return j
}

// TestSeamUncontendedTransfer: one message from SRAM to SRAM takes the
// latencies of the links it crosses plus its bytes over the slowest
// link's bandwidth (package doc, "Consequences worth knowing"): across
// the seam h·Lat + Lat_seam + N/BW_seam, as the seam paces the die-to-die
// links after it; within a wafer h·Lat + N/BW, as on one wafer.
func TestSeamUncontendedTransfer(t *testing.T) {
	s := joinedPair(t)
	lat, bw := s.Link.Latency, s.Link.Bandwidth
	seamLat, seamBW := s.Seam.Link.Latency, s.Seam.Link.Bandwidth
	tests := []struct {
		name     string
		src, dst wafer.Coord
		hops     int  // die-to-die hops of the XY route
		seam     bool // whether it crosses the seam
	}{
		{"seam alone east", wafer.Coord{R: 1, C: 3}, wafer.Coord{R: 1, C: 4}, 0, true},
		{"seam alone west", wafer.Coord{R: 2, C: 4}, wafer.Coord{R: 2, C: 3}, 0, true},
		{"seam first", wafer.Coord{R: 0, C: 3}, wafer.Coord{R: 3, C: 7}, 6, true},
		{"seam last", wafer.Coord{R: 3, C: 0}, wafer.Coord{R: 3, C: 4}, 3, true},
		{"corner to corner", wafer.Coord{R: 0, C: 0}, wafer.Coord{R: 3, C: 7}, 9, true},
		{"westwards", wafer.Coord{R: 2, C: 7}, wafer.Coord{R: 0, C: 1}, 7, true},
		{"wafer 0", wafer.Coord{R: 0, C: 0}, wafer.Coord{R: 3, C: 3}, 6, false},
		{"wafer 1", wafer.Coord{R: 3, C: 7}, wafer.Coord{R: 1, C: 4}, 5, false},
	}
	for _, tc := range tests {
		for _, bytes := range []int64{1 << 10, 1<<20 + 7, 64 << 20} {
			for _, pkt := range []int64{4 << 10, DefaultPacketBytes} {
				var p plan.Program
				p.Transfer("x", s.ID(tc.src), s.ID(tc.dst), bytes, nil)
				r := run(t, s, sramOnly(&p), Config{PacketBytes: pkt})
				want := float64(tc.hops)*lat + float64(bytes)/bw
				if tc.seam {
					want = float64(tc.hops)*lat + seamLat + float64(bytes)/seamBW
				}
				if relErr(r.Makespan, want) > 1e-9 {
					t.Errorf("%s, %d bytes, %d-byte packets: %.9g s, want %.9g s", tc.name, bytes, pkt, r.Makespan, want)
				}
			}
		}
	}
}

// TestSeamLeavesWaferTrafficAlone: traffic within one wafer of a joined
// pair runs exactly as on a wafer alone (the default buffers are the
// same: the die-to-die link's credit round trip, 1.6 MB, exceeds the
// seam's, 1 MB).
func TestSeamLeavesWaferTrafficAlone(t *testing.T) {
	s := joinedPair(t)
	one := network(t, "mesh4x4")
	if BufferFor(s, DefaultPacketBytes) != BufferFor(one, DefaultPacketBytes) {
		t.Fatalf("buffers differ: %d joined, %d alone", BufferFor(s, DefaultPacketBytes), BufferFor(one, DefaultPacketBytes))
	}
	for w := range 2 {
		var joined, alone plan.Program
		for i := range 16 {
			a, b := wafer.DieID(i), wafer.DieID((i*7+3)%16)
			alone.Transfer("perm", a, b, 3<<20, nil)
			joined.Transfer("perm", s.OnWafer(w, a), s.OnWafer(w, b), 3<<20, nil)
		}
		got, want := run(t, s, sramOnly(&joined), Config{}), run(t, one, sramOnly(&alone), Config{})
		if got.Makespan != want.Makespan || got.Events != want.Events {
			t.Errorf("wafer %d: %.9g s in %d events, alone %.9g s in %d", w, got.Makespan, got.Events, want.Makespan, want.Events)
		}
	}
}

// TestSeamLinkStatsAndEnergy: a message along row 0 from (0,0) to (0,7)
// puts its N bytes on each of its 7 links, the seam link among them, which
// is busy N/BW_seam; its D2D energy is 8N bits over 6 die-to-die links at
// 5 pJ/bit and the seam at 10 pJ/bit.
func TestSeamLinkStatsAndEnergy(t *testing.T) {
	s := joinedPair(t)
	const n = 8 << 20
	var p plan.Program
	p.Transfer("x", s.ID(wafer.Coord{R: 0, C: 0}), s.ID(wafer.Coord{R: 0, C: 7}), n, nil)
	r := run(t, s, sramOnly(&p), Config{})
	seam, _ := s.LinkBetween(s.ID(wafer.Coord{R: 0, C: 3}), s.ID(wafer.Coord{R: 0, C: 4}))
	var carried, seams int
	for _, l := range r.Links {
		if l.Bytes == 0 {
			continue
		}
		carried++
		if l.Bytes != n {
			t.Errorf("%s carried %g bytes, want %d", l.Name, l.Bytes, n)
		}
		if l.Link == seam {
			seams++
			if want := n / s.Seam.Link.Bandwidth; relErr(l.BusySeconds, want) > 1e-9 {
				t.Errorf("seam %s busy %.9g s, want %.9g s", l.Name, l.BusySeconds, want)
			}
		}
	}
	if carried != 7 || seams != 1 {
		t.Errorf("%d links carried bytes (%d seam), want 7 (1)", carried, seams)
	}
	want := 8 * n * (6*s.Link.JoulesPerBit + s.Seam.Link.JoulesPerBit)
	if relErr(r.Energy.D2D, want) > 1e-12 {
		t.Errorf("D2D energy %.9g J, want %.9g J", r.Energy.D2D, want)
	}
	if relErr(r.Energy.Static, s.StaticWatts()*r.Makespan) > 1e-12 {
		t.Errorf("static energy %.9g J, want %.9g J", r.Energy.Static, s.StaticWatts()*r.Makespan)
	}
}

// TestSeamBuffers: the default buffer covers the larger credit round trip
// of the two kinds of link. A seam of 2 µs at 1 TB/s has 4 MB in flight
// in a round trip, 61.04 packets of 64 KiB, against the die-to-die
// link's 1.6 MB (24.4); so 62 + 2 packets.
func TestSeamBuffers(t *testing.T) {
	s := network(t, "mesh4x4")
	s.Cluster = &wafer.Cluster{Wafers: 2, EdgeBandwidth: 4e12, Latency: 2e-6, JoulesPerBit: 10e-12, StaticWatts: 16}
	j, err := s.Joined()
	if err != nil {
		t.Fatal(err)
	}
	if got := BufferFor(j, DefaultPacketBytes); got != 64 {
		t.Errorf("BufferFor = %d packets, want 64", got)
	}
	// The seam's own message still runs at its bandwidth: 2 µs + N/1 TB/s.
	const n = 64 << 20
	var p plan.Program
	p.Transfer("x", j.ID(wafer.Coord{R: 0, C: 3}), j.ID(wafer.Coord{R: 0, C: 4}), n, nil)
	r := run(t, j, sramOnly(&p), Config{})
	if want := 2e-6 + n/1e12; relErr(r.Makespan, want) > 1e-9 {
		t.Errorf("over the seam %.9g s, want %.9g s", r.Makespan, want)
	}
}

// TestSeamRejects: seam figures the simulator cannot work with are
// refused before the run.
func TestSeamRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *wafer.Spec)
		want   string
	}{
		{"zero bandwidth", func(s *wafer.Spec) { s.Seam.Link.Bandwidth = 0 }, "inter-wafer link bandwidth 0 is not a positive"},
		{"infinite bandwidth", func(s *wafer.Spec) { s.Seam.Link.Bandwidth = math.Inf(1) }, "inter-wafer link bandwidth +Inf"},
		{"NaN latency", func(s *wafer.Spec) { s.Seam.Link.Latency = math.NaN() }, "inter-wafer link latency NaN"},
		{"ragged wafers", func(s *wafer.Spec) { s.Seam.Cols = 3 }, "wafers of 3 columns do not tile its 8 columns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := joinedPair(t)
			tc.mutate(s)
			var p plan.Program
			p.Transfer("x", 0, 7, 1<<20, nil)
			if _, err := Run(s, &p, Config{}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v, want %q", err, tc.want)
			}
		})
	}
}
