package sim

import (
	"testing"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// TestHBMContention: on temp48 (1 TB/s of HBM) an HBM-bound GEMM of 1 GB
// and a 64 MiB transfer read from the same die's HBM share its port: the
// port is never idle until both are done, so the GEMM, which ends last,
// ends at (1 GB + 64 MiB) / 1 TB/s plus its last tile's compute. Read from
// SRAM, the transfer leaves the GEMM its 1 GB / 1 TB/s. The fair port gives
// the transfer half of it while both wait: 2 · 64 MiB / 1 TB/s, not 64 MiB
// / 1 TB/s.
func TestHBMContention(t *testing.T) {
	s := preset(t, "temp48")
	const gemmBytes, xferBytes = 1e9, 64 << 20
	hbm := s.Die.HBMBandwidth
	lastTile := 1.8e11 / s.Die.PeakFLOPS / float64(tilesOf(gemmBytes)) // 0.1 ms of FLOPs in 477 tiles
	tests := []struct {
		name      string
		srcSRAM   bool
		portBytes float64 // through die 0's port
		xferTime  float64 // the transfer's end, within 5%
	}{
		{"transfer from HBM", false, gemmBytes + xferBytes, 2 * xferBytes / hbm},
		// From SRAM, the destination's writes (1 TB/s) bound the transfer.
		{"transfer from SRAM", true, gemmBytes, xferBytes / hbm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p plan.Program
			g := p.Compute("gemm", 0, 1.8e11, gemmBytes)
			x := p.Transfer("x", 0, 1, xferBytes, nil)
			p.Tasks[x].SrcSRAM = tc.srcSRAM
			r := run(t, s, &p, Config{})
			want := tc.portBytes / hbm
			if got := r.Tasks[g].End; !within(got, want, want+lastTile) {
				t.Errorf("GEMM ends at %.9g s, want total port bytes / bandwidth = %.9g s (+ %.3g s of its last tile)", got, want, lastTile)
			}
			if got := r.Tasks[x].End; relErr(got, tc.xferTime) > 0.05 {
				t.Errorf("transfer ends at %.6g s, want %.6g s", got, tc.xferTime)
			}
			if d := r.Dies[0]; relErr(d.HBMBytes, tc.portBytes) > 1e-12 {
				t.Errorf("die 0 moved %g HBM bytes, want %g", d.HBMBytes, tc.portBytes)
			}
			if d := r.Dies[1]; d.HBMBytes != xferBytes {
				t.Errorf("die 1 wrote %g HBM bytes, want %d", d.HBMBytes, xferBytes)
			}
		})
	}
}

// TestTransferPlacement: a 32 MiB message between neighbours of temp48
// (4 TB/s links, 1 TB/s HBM, 200 ns per hop, 64 KiB packets P). Read from
// HBM, packets leave every P/HBM and the last reaches the destination a
// hop and a packet time after its read; written to HBM, the writes (P/HBM
// each) keep the port busy from the first packet's arrival, as packets
// come faster than they are written. SRAM to SRAM is the link's time.
func TestTransferPlacement(t *testing.T) {
	s := preset(t, "temp48")
	lat, link, hbm := s.Link.Latency, s.Link.Bandwidth, s.Die.HBMBandwidth
	const pkt = float64(DefaultPacketBytes)
	const small, large = 32 << 20, 256 << 20 // 32 MiB fits 40 MB of stream SRAM
	tests := []struct {
		name             string
		bytes            int64
		hops             int
		srcSRAM, dstSRAM bool
		want             float64
	}{
		{"HBM to HBM", small, 1, false, false, small/hbm + lat + pkt/link + pkt/hbm},
		{"HBM to HBM, 256 MiB", large, 1, false, false, large/hbm + lat + pkt/link + pkt/hbm},
		{"HBM to HBM, 5 hops", small, 5, false, false, small/hbm + 5*lat + pkt/link + pkt/hbm},
		{"HBM to SRAM", small, 1, false, true, small/hbm + lat + pkt/link},
		{"SRAM to HBM", small, 1, true, false, lat + pkt/link + small/hbm},
		{"SRAM to SRAM", small, 1, true, true, lat + small/link},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p plan.Program
			x := p.Transfer("x", 0, s.ID(wafer.Coord{R: 0, C: tc.hops}), tc.bytes, nil)
			p.Tasks[x].SrcSRAM, p.Tasks[x].DstSRAM = tc.srcSRAM, tc.dstSRAM
			r := run(t, s, &p, Config{})
			if relErr(r.Makespan, tc.want) > 1e-9 {
				t.Errorf("%.9g s, want %.9g s", r.Makespan, tc.want)
			}
			if r.SpilledMessages != 0 {
				t.Errorf("%d messages spilled", r.SpilledMessages)
			}
		})
	}
}

// TestSpill: temp48 keeps 40 MB of each die's SRAM for streamed blocks. A
// DstSRAM message that does not fit when it is taken lands in HBM, and
// the compute tasks (and SrcSRAM forwards) on its destination that depend
// on it read it from there; a reservation lasts until the last task that
// depends on the arrival ends.
func TestSpill(t *testing.T) {
	s := preset(t, "temp48")
	const big, half = 48 << 20, 24 << 20 // 50.3 MB does not fit; 25.2 MB does, once
	streamed := func(p *plan.Program, name string, src, dst wafer.DieID, bytes int64, deps ...plan.TaskID) plan.TaskID {
		x := p.Transfer(name, src, dst, bytes, nil, deps...)
		p.Tasks[x].SrcSRAM, p.Tasks[x].DstSRAM = true, true
		return x
	}
	reader := func(p *plan.Program, die wafer.DieID, bytes int64, deps ...plan.TaskID) plan.TaskID {
		c := p.Compute("c", die, 0, 0, deps...)
		p.Tasks[c].SRAMBytes = float64(bytes)
		return c
	}
	tests := []struct {
		name  string
		build func(p *plan.Program)
		// Spilled messages and bytes; die 1's HBM bytes and peak SRAM.
		msgs            int
		bytes           int64
		hbm1, peakSRAM1 float64
	}{
		{"larger than stream SRAM", func(p *plan.Program) {
			reader(p, 1, big, streamed(p, "x", 0, 1, big))
		}, 1, big, 2 * big, 0}, // written, then read by the compute task
		{"send and receive", func(p *plan.Program) {
			reader(p, 1, big, streamed(p, "x", 0, 1, big))
			*p = p.Split(0)
		}, 1, big, 2 * big, 0},
		{"second of two", func(p *plan.Program) {
			streamed(p, "x", 0, 1, half)
			streamed(p, "y", 2, 1, half) // taken at once too, while x holds its bytes
		}, 1, half, half, half},
		{"released after its reader", func(p *plan.Program) {
			c := p.Compute("c", 1, 1e12, 0, streamed(p, "x", 0, 1, half))
			streamed(p, "y", 2, 1, half, c)
		}, 0, 0, 0, half},
		{"held while its reader waits", func(p *plan.Program) {
			busy := p.Delay("busy", 1, 1e-3)
			p.Compute("c", 1, 1e12, 0, streamed(p, "x", 0, 1, half), busy)
			streamed(p, "y", 2, 1, half, p.Delay("wait", 2, 0.5e-3))
		}, 1, half, half, half},
		{"forwarded from HBM", func(p *plan.Program) {
			x := streamed(p, "x", 0, 1, big)
			f := p.Transfer("f", 1, 2, big, nil, x)
			p.Tasks[f].SrcSRAM = true
		}, 1, big, 2 * big, 0}, // written, then read by the forward
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p plan.Program
			tc.build(&p)
			sz, err := Measure(s, &p, Config{})
			if err != nil {
				t.Fatal(err)
			}
			r := run(t, s, &p, Config{}) // never a deadlock
			if r.SpilledMessages != tc.msgs || r.SpilledBytes != tc.bytes {
				t.Errorf("spilled %d messages, %d bytes; want %d, %d", r.SpilledMessages, r.SpilledBytes, tc.msgs, tc.bytes)
			}
			if d := r.Dies[1]; d.HBMBytes != tc.hbm1 || d.PeakSRAMBytes != tc.peakSRAM1 {
				t.Errorf("die 1: %g HBM bytes, peak SRAM %g; want %g, %g", d.HBMBytes, d.PeakSRAMBytes, tc.hbm1, tc.peakSRAM1)
			}
			if sz.Events < r.Events {
				t.Errorf("measured %d events, ran %d", sz.Events, r.Events)
			}
		})
	}
}

// TestSpilledReaderWaitsForHBM: a compute task that reads a spilled 48 MiB
// block takes the block's HBM time, 48 MiB / 1 TB/s, after it arrives.
func TestSpilledReaderWaitsForHBM(t *testing.T) {
	s := preset(t, "temp48")
	var p plan.Program
	x := p.Transfer("x", 0, 1, 48<<20, nil)
	p.Tasks[x].SrcSRAM, p.Tasks[x].DstSRAM = true, true
	c := p.Compute("c", 1, 0, 0, x)
	r := run(t, s, &p, Config{})
	want := float64(48<<20) / s.Die.HBMBandwidth
	if got := r.Tasks[c].End - r.Tasks[c].Start; relErr(got, want) > 1e-9 {
		t.Errorf("reader takes %.9g s, want %.9g s", got, want)
	}
}

// TestReduce: a reduction's destination reads its own operand from HBM
// as well, so HBM traffic for the payload doubles when it lands in HBM,
// and appears when it lands in SRAM. From SRAM at the source, with 1 TB/s
// of HBM and 4 TB/s links, the destination's port sets the time: a hop
// and a packet's time, then its bytes at 1 TB/s.
func TestReduce(t *testing.T) {
	s := preset(t, "temp48")
	const n = 16 << 20
	lat, link, hbm := s.Link.Latency, s.Link.Bandwidth, s.Die.HBMBandwidth
	const pkt = float64(DefaultPacketBytes)
	tests := []struct {
		name            string
		dstSRAM, reduce bool
		hbm1            float64 // bytes through die 1's port
		want            float64
	}{
		{"to HBM", false, false, n, lat + pkt/link + n/hbm},
		{"reduced in HBM", false, true, 2 * n, lat + pkt/link + 2*n/hbm},
		{"to SRAM", true, false, 0, lat + n/link},
		{"reduced into SRAM", true, true, n, lat + pkt/link + n/hbm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p plan.Program
			x := p.Transfer("x", 0, 1, n, nil)
			p.Tasks[x].SrcSRAM, p.Tasks[x].DstSRAM, p.Tasks[x].Reduce = true, tc.dstSRAM, tc.reduce
			r := run(t, s, &p, Config{})
			if d := r.Dies[1]; d.HBMBytes != tc.hbm1 || r.Dies[0].HBMBytes != 0 {
				t.Errorf("HBM bytes %g at the source, %g at the destination; want 0, %g", r.Dies[0].HBMBytes, d.HBMBytes, tc.hbm1)
			}
			if relErr(r.Makespan, tc.want) > 1e-9 {
				t.Errorf("%.9g s, want %.9g s", r.Makespan, tc.want)
			}
		})
	}
}

// TestEnergy: on temp48, a 5-hop transfer of 1 MiB from HBM to HBM, a
// compute task of 1e12 FLOPs, 1 GB of HBM and 1 MB read from SRAM, and a
// 1-hop transfer of 1 MiB from SRAM to SRAM consume, from closed forms:
// 1e12 / 2e12 J of compute; 8·(2·2^20 + 1e9) bits × 6 pJ of HBM (the first
// transfer read and written, the compute task's bytes); 8·(1e6 + 2·2^20)
// bits × 0.5 pJ of SRAM (the compute task's reads, the second transfer
// read and written); 8·2^20·(5 + 1) bits × 5 pJ over links; and the
// wafer's static 48·90 W + 164·16 W over the makespan.
func TestEnergy(t *testing.T) {
	s := preset(t, "temp48")
	var p plan.Program
	p.Transfer("x", 0, s.ID(wafer.Coord{R: 0, C: 5}), 1<<20, nil)
	c := p.Compute("c", 9, 1e12, 1e9)
	p.Tasks[c].SRAMBytes = 1e6
	y := p.Transfer("y", 20, 21, 1<<20, nil)
	p.Tasks[y].SrcSRAM, p.Tasks[y].DstSRAM = true, true
	r := run(t, s, &p, Config{})
	want := Energy{Compute: 0.5, HBM: 8 * (2*(1<<20) + 1e9) * 6e-12, SRAM: 8 * (1e6 + 2*(1<<20)) * 0.5e-12,
		D2D: 8 * (1 << 20) * 6 * 5e-12, Static: (48*90 + 164*16) * r.Makespan}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"compute", r.Energy.Compute, want.Compute}, {"hbm", r.Energy.HBM, want.HBM}, {"sram", r.Energy.SRAM, want.SRAM},
		{"d2d", r.Energy.D2D, want.D2D}, {"static", r.Energy.Static, want.Static}, {"total", r.Energy.Total(), want.Total()}} {
		if relErr(c.got, c.want) > 1e-12 {
			t.Errorf("%s: %.9g J, want %.9g J", c.name, c.got, c.want)
		}
	}
}
