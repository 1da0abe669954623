package sim

import (
	"math"
	"testing"

	"github.com/tempc/tempc/plan"
)

// within reports whether got lies in [lo, hi], allowing a relative 1e-12
// for rounding.
func within(got, lo, hi float64) bool {
	return got >= lo*(1-1e-12) && got <= hi*(1+1e-12)
}

// TestTilesOf: about 256 KiB of HBM traffic per tile, at least one, at
// most 1,024.
func TestTilesOf(t *testing.T) {
	tests := []struct {
		name string
		hbm  float64
		want int32
	}{
		{"none", 0, 1},
		{"one byte", 1, 1},
		{"one tile", 256 << 10, 1},
		{"one byte more", 256<<10 + 1, 2},
		{"100 MB", 1e8, 382}, // ⌈1e8 / 262,144⌉
		{"256 MiB", 256 << 20, 1024},
		{"capped", 1e12, 1024},
	}
	for _, tc := range tests {
		if got := tilesOf(tc.hbm); got != tc.want {
			t.Errorf("%s: %d tiles, want %d", tc.name, got, tc.want)
		}
	}
}

// TestComputeAlone: a compute task alone on temp48 (1.8 PFLOP/s, 1 TB/s)
// with loads L = HBM bytes / bandwidth and computes C = FLOPs / (peak ·
// efficiency) in total, cut into n tiles, takes max(L, C) plus the
// pipeline's fill: the first tile's load when compute-bound, the last
// tile's compute when HBM-bound, so at most min(L, C)/n. SRAM bytes cost
// no time; a fixed duration is kept and uses no HBM.
func TestComputeAlone(t *testing.T) {
	s := preset(t, "temp48")
	tests := []struct {
		name                         string
		flops, hbm, sram, eff, fixed float64
		wantL, wantC                 float64
	}{
		// 1.44e12 FLOPs at 0.8 of 1.8e15 is 1 ms; 1e8 bytes 0.1 ms.
		{"compute-bound", 1.44e12, 1e8, 0, 0.8, 0, 1e-4, 1e-3},
		// 1.8e11 FLOPs at peak is 0.1 ms; 1e9 bytes 1 ms.
		{"HBM-bound", 1.8e11, 1e9, 0, 0, 0, 1e-3, 1e-4},
		{"balanced", 1.8e12, 1e9, 0, 1, 0, 1e-3, 1e-3},
		{"SRAM is free", 1.8e12, 1e8, 5e10, 1, 0, 1e-4, 1e-3},
		// No HBM: one tile, no fill.
		{"no HBM", 1.8e12, 0, 0, 0.5, 0, 0, 2e-3},
		// 3e9 bytes would be 1,431 tiles: capped at 1,024; no FLOPs, no fill.
		{"HBM only", 0, 3e9, 0, 0, 0, 3e-3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p plan.Program
			c := p.Compute("c", 9, tc.flops, tc.hbm)
			p.Tasks[c].SRAMBytes, p.Tasks[c].Efficiency = tc.sram, tc.eff
			r := run(t, s, &p, Config{})
			n := float64(tilesOf(tc.hbm))
			lo := max(tc.wantL, tc.wantC)
			hi := lo + min(tc.wantL, tc.wantC)/n
			if got := r.Tasks[c].End; !within(got, lo, hi) {
				t.Errorf("%.9g s, want in [max(L,C), max(L,C) + min(L,C)/n] = [%.9g, %.9g] (n = %g)", got, lo, hi, n)
			}
			if d := r.Dies[9]; math.Abs(d.HBMBytes-tc.hbm) > 1e-12*tc.hbm || math.Abs(d.HBMBusySeconds-tc.wantL) > 1e-12*tc.wantL ||
				d.BusySeconds != r.Tasks[c].End {
				t.Errorf("die stats %+v, want %g HBM bytes in %g s", d, tc.hbm, tc.wantL)
			}
		})
	}
}

// TestComputeQueue: compute tasks on one die run one at a time in the
// order they became ready; other dies run in parallel; a fixed duration
// is kept and uses no HBM.
func TestComputeQueue(t *testing.T) {
	s := preset(t, "mesh4x4")
	var p plan.Program
	a := p.Compute("a", 0, 1.8e15, 0) // 1 s at 1.8 PFLOP/s
	p.Compute("b", 0, 0, 5e11, a)     // 0.5 s at 1 TB/s, after a
	p.Compute("c", 0, 1.8e14, 0)      // 0.1 s, queued behind a on the same engine
	d := p.Delay("d", 1, 0.25)        // another die, in parallel
	p.Tasks[d].HBMBytes = 1e12        // ignored: the duration is fixed
	r := run(t, s, &p, Config{})
	tests := []struct {
		name      string
		got, want float64
	}{
		{"makespan", r.Makespan, 1.6},
		{"c starts", r.Tasks[2].Start, 1},
		{"b starts", r.Tasks[1].Start, 1.1},
		{"die 0 busy", r.Dies[0].BusySeconds, 1.6},
		{"die 1 busy", r.Dies[1].BusySeconds, 0.25},
		{"die 1 idle", r.Dies[1].IdleSeconds, 1.35},
		{"die 0 HBM", r.Dies[0].HBMBytes, 5e11},
		{"die 1 HBM", r.Dies[1].HBMBytes + 1, 1},
	}
	for _, tc := range tests {
		if relErr(tc.got, tc.want) > 1e-12 {
			t.Errorf("%s: %.12g, want %.12g", tc.name, tc.got, tc.want)
		}
	}
}
