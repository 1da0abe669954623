package sim

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

func TestPacketsOf(t *testing.T) {
	tests := []struct {
		name          string
		bytes, packet int64
		want          int64
	}{
		{"empty", 0, 64 << 10, 1},
		{"one byte", 1, 64 << 10, 1},
		{"exact", 1 << 20, 64 << 10, 16},
		{"one more", 1<<20 + 1, 64 << 10, 17},
		// 2^47 / 2^16 = 2^31: one past int32.
		{"2^47 bytes", 1 << 47, 64 << 10, 1 << 31},
		// (2^48 + 2^16) / 2^16 = 2^32 + 1: truncated to int32, 1.
		{"2^48 + 64 KiB", 1<<48 + 64<<10, 64 << 10, 1<<32 + 1},
		{"largest in bytes", math.MaxInt64, 1, math.MaxInt64},
		{"largest in 64 KiB", math.MaxInt64, 64 << 10, math.MaxInt64>>16 + 1},
	}
	for _, tc := range tests {
		if got := packetsOf(tc.bytes, tc.packet); got != tc.want {
			t.Errorf("%s: %d packets, want %d", tc.name, got, tc.want)
		}
	}
}

// TestHugeSendRejected: a send too large to simulate is refused before it
// starts with its true packet count and a packet size that would do,
// not reported as a deadlock on no link (2^47 bytes) nor simulated as one
// packet (2^48 + 64 KiB).
func TestHugeSendRejected(t *testing.T) {
	s := preset(t, "mesh4x4")
	tests := []struct {
		name    string
		bytes   int64
		packets int64
		suggest int64
	}{
		// 2^31 packets over one hop, read from HBM and written to it, need
		// 6·2^31 events; 2^28 packets of 512 KiB need 6·2^28 ≤ 2·10⁹.
		{"2^47 bytes", 1 << 47, 1 << 31, 512 << 10},
		// 2^32+1 packets; 2^28+1 packets of 1 MiB need 6·(2^28+1) events,
		// 2^29+1 of 512 KiB too many.
		{"2^48 + 64 KiB", 1<<48 + 64<<10, 1<<32 + 1, 1 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p plan.Program
			p.Transfer("huge", 0, 1, tc.bytes, nil)
			start := time.Now()
			_, err := Run(s, &p, Config{})
			var le *LimitError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *LimitError", err)
			}
			if le.Packets != tc.packets || le.Events != 6*tc.packets || le.MaxEvents != DefaultMaxEvents || le.Suggest != tc.suggest {
				t.Errorf("%+v, want %d packets, %d events, suggest %d", *le, tc.packets, 6*tc.packets, tc.suggest)
			}
			if !strings.Contains(err.Error(), "above the limit of 2000000000") || time.Since(start) > 10*time.Second {
				t.Errorf("err %q after %v", err, time.Since(start))
			}
		})
	}
}

// TestLimits: runs beyond the event limit or the live-packet bound are
// refused before they start; at the limit they run.
func TestLimits(t *testing.T) {
	s := preset(t, "temp48")
	one := func(bytes int64) *plan.Program {
		var p plan.Program
		p.Transfer("x", 0, 1, bytes, nil)
		return &p
	}
	tests := []struct {
		name string
		p    *plan.Program
		cfg  Config
		want string // "" to run
	}{
		// 1 MiB in 16 packets over one hop: 4 events each, and one for its
		// read from HBM and one for its write.
		{"at the limit", one(1 << 20), Config{MaxEvents: 96}, ""},
		{"one past the limit", one(1 << 20), Config{MaxEvents: 95},
			"sim: the run needs 96 events (16 packets of 65536 bytes), above the limit of 95; packets of 131072 bytes or more would fit"},
		{"no packet size fits", one(1 << 20), Config{MaxEvents: 3}, "no packet size fits"},
		// 1-byte packets: the default buffer is capped at 2^20 packets, and
		// 64 Mi of them could all be in the DMA buffer at once.
		{"1-byte packets", one(64 << 20), Config{PacketBytes: 1},
			"could hold 67108864 packets of 1 bytes at once, above the limit of 33554432; packets of 2 bytes or more would fit"},
		{"1 GiB in 1-byte packets", one(1 << 30), Config{PacketBytes: 1}, "needs 6442450944 events"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(s, tc.p, tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestMeasureMatchesRun: the events counted before a run are those it
// processes, and bound them when a DstSRAM message may fit in SRAM (it is
// counted as if it spilled).
func TestMeasureMatchesRun(t *testing.T) {
	s := preset(t, "mesh4x4")
	c := func(r, col int) wafer.DieID { return s.ID(wafer.Coord{R: r, C: col}) }
	var mixed plan.Program
	a := mixed.Compute("a", 0, 1e12, 0)
	mixed.Transfer("x", 0, 15, 3<<20+5, nil, a)
	mixed.Transfer("y", c(0, 1), c(0, 3), 1<<20, nil)
	mixed.Compute("b", c(0, 3), 1e12, 5e8, 2) // 239 tiles after y
	split := mixed.Split(1)
	var ring plan.Program
	ringAllReduce(&ring, []wafer.DieID{c(0, 0), c(0, 1), c(1, 1), c(1, 0)}, 8<<20)
	streamed := func(bytes int64) *plan.Program {
		var p plan.Program
		x := p.Transfer("x", 0, 1, bytes, nil)
		p.Tasks[x].DstSRAM = true
		p.Compute("c", 1, 1e12, 1e8, x)
		f := p.Transfer("f", 1, 2, bytes, nil, x)
		p.Tasks[f].SrcSRAM = true
		return &p
	}
	for _, tc := range []struct {
		name  string
		p     *plan.Program
		cfg   Config
		exact bool
	}{
		{"mixed", &mixed, Config{}, true},
		{"split", &split, Config{PacketBytes: 4 << 10}, true},
		{"ring", &ring, Config{BufferPackets: 3}, true},
		// 64 MiB is more than the 40 MB of stream SRAM: it spills, as
		// counted.
		{"streamed, spilled", streamed(64 << 20), Config{}, true},
		{"streamed, fits", streamed(16 << 20), Config{}, false},
	} {
		sz, err := Measure(s, tc.p, tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := run(t, s, tc.p, tc.cfg)
		if tc.exact && sz.Events != r.Events || !tc.exact && sz.Events <= r.Events || int64(r.PeakBufferPackets) > sz.LivePackets {
			t.Errorf("%s: measured %+v, ran %d events with %d packets buffered (exact count: %t)",
				tc.name, sz, r.Events, r.PeakBufferPackets, tc.exact)
		}
	}
}

// TestTinyBandwidthFails: a hand-built wafer whose link bandwidth is
// 1e-300 B/s (which wafer.Spec.Validate rejects) ends in an error once
// packet times overflow, instead of running on with infinite times; rates
// that are not positive and finite are refused up front.
func TestTinyBandwidthFails(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *wafer.Spec)
		want string
	}{
		{"bandwidth 1e-300", func(s *wafer.Spec) { s.Link.Bandwidth = 1e-300 }, "not a finite time"},
		{"bandwidth 0", func(s *wafer.Spec) { s.Link.Bandwidth = 0 }, "link bandwidth 0 is not a positive finite number"},
		{"bandwidth NaN", func(s *wafer.Spec) { s.Link.Bandwidth = math.NaN() }, "link bandwidth NaN"},
		{"latency +Inf", func(s *wafer.Spec) { s.Link.Latency = math.Inf(1) }, "link latency +Inf s"},
		{"peak 0", func(s *wafer.Spec) { s.Die.PeakFLOPS = 0 }, "peak FLOP/s 0"},
		{"peak 1e-300", func(s *wafer.Spec) { s.Die.PeakFLOPS = 1e-300 }, `compute task 0 "c" on die (0,3) at t=0 s would end at t=+Inf s`},
		// A 64 KiB read takes 6.6e304 s: after some 2,700 of them, the
		// next would end past the largest float64.
		{"HBM bandwidth 1e-300", func(s *wafer.Spec) { s.Die.HBMBandwidth = 1e-300 },
			"a packet's HBM read on die (0,0) at t=1.79765e+308 s would end at t=+Inf s (HBM bandwidth 1e-300 B/s)"},
		{"SRAM 0", func(s *wafer.Spec) { s.Die.SRAMBytes = 0 }, "SRAM bytes 0 is not a positive finite number"},
		{"SRAM +Inf", func(s *wafer.Spec) { s.Die.SRAMBytes = math.Inf(1) }, "SRAM bytes +Inf"},
		{"all SRAM to GEMMs", func(s *wafer.Spec) { s.Kernel.GEMMSRAMFraction = 1 }, "GEMM SRAM fraction 1 is not in [0, 1)"},
		{"SRAM energy NaN", func(s *wafer.Spec) { s.SRAMJoulesPerBit = math.NaN() }, "SRAM energy NaN J/bit"},
		{"no DMA engine", func(s *wafer.Spec) { s.Die.DMAEngines = 0 }, "with 0 DMA engines"},
		{"a billion DMA engines", func(s *wafer.Spec) { s.Die.DMAEngines = 1e9 }, "router queues, more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := preset(t, "mesh4x4")
			tc.edit(s)
			var p plan.Program
			p.Compute("c", 3, 1e10, 0)
			p.Transfer("x", 0, 1, 1<<30, nil)
			done := make(chan error, 1)
			go func() { _, err := Run(s, &p, Config{}); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want %q", err, tc.want)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("still running after 30 s")
			}
		})
	}
}

func TestConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative packet", Config{PacketBytes: -1}, "sim: packet size -1 bytes must be positive (0 means 65536)"},
		{"negative buffer", Config{BufferPackets: -2}, "sim: buffer of -2 packets must be between 1 and 1048576"},
		{"huge buffer", Config{BufferPackets: 1 << 30}, "buffer of 1073741824 packets"},
		{"negative limit", Config{MaxEvents: -1}, "sim: event limit -1 must be positive (0 means 2000000000)"},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// Tiny packets on a slow-to-cross link would want millions of slots.
	s := preset(t, "temp48")
	if got := BufferFor(s, 1); got != maxBufferPackets {
		t.Errorf("BufferFor 1-byte packets = %d, want the cap %d", got, maxBufferPackets)
	}
}
