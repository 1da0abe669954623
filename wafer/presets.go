package wafer

import "sort"

// Unit conversions of the file format and presets. Small units are
// divided into (x/1e9) rather than multiplied (x·1e-9) so that decimal
// figures such as 200 ns convert exactly and round-trip through files.
const (
	tera = 1e12
	giga = 1e9
	mega = 1e6
)

func fromNano(x float64) float64 { return x / 1e9 }
func toNano(x float64) float64   { return x * 1e9 }
func fromPico(x float64) float64 { return x / 1e12 }
func toPico(x float64) float64   { return x * 1e12 }

// temp is the die and link of TEMP's evaluation wafer (TEMP, HPCA 2026,
// Table I). These figures are *secondary*: read from third-party accounts
// of the paper, not its text (REFERENCE.md) — some accounts give 0.8 TB/s
// of HBM bandwidth instead of 1. DMAEngines is not given by the paper; 8
// lets a die drive all four links with two concurrent messages each (a
// TATP relay sends two per round, a concurrent DP all-reduce more).
//
// Static power is not given by the paper either; both figures are stated
// assumptions, not measurements, and easy to override in a wafer file:
//   - a die draws 90 W idle, 10% of its 900 W of compute at peak (1800
//     TFLOPS at 2 TFLOPS/W) — the share of board power current
//     accelerators draw idle (an H100 SXM idles near 70 W of its 700 W);
//   - a link direction draws 16 W idle, 10% of its 160 W at full use
//     (4 TB/s at 5 pJ/bit), for PHYs that are not power-gated.
//
// The kernel figures and SRAM energy are not given by the paper either;
// they are stated assumptions from published measurements of other chips:
//   - GEMM efficiency 0.8: large bf16 GEMMs sustain 70–80% of dense peak
//     on current accelerators (vendor cuBLAS figures for an H100 SXM are
//     in that band); the top of it, for a compiler-scheduled engine.
//   - attention efficiency 0.6: FlashAttention-2 (Dao, 2023) reaches
//     50–73% of A100 peak forward and less backward.
//   - array tile 128: a 128×128 matrix engine, as a TPU's MXU (Jouppi et
//     al., 2017); the paper does not describe the die's engine.
//   - half of SRAM for a GEMM's working set: output-stationary tiles of
//     side up to 3,072 (37.7 MB of fp32 accumulators), or an operand of
//     up to 40 MB held whole beside a strip of accumulators; the other
//     40 MB for streamed blocks and DMA staging.
//   - SRAM 0.5 pJ/bit: a 64-bit access to a 1 MB SRAM costs about 100 pJ
//     at 45 nm (Horowitz, ISSCC 2014), 1.6 pJ/bit, taken about 3× lower at
//     a current node.
func temp(name string, rows, cols int) Spec {
	return Spec{
		Name: name, Rows: rows, Cols: cols,
		Die: Die{PeakFLOPS: 1800 * tera, HBMBytes: 72 * giga, HBMBandwidth: 1 * tera,
			SRAMBytes: 80 * mega, DMAEngines: 8, StaticWatts: 90},
		Link: Link{Bandwidth: 4 * tera, Latency: fromNano(200), JoulesPerBit: fromPico(5.0),
			StaticWatts: 16},
		HBMJoulesPerBit:  fromPico(6.0),
		SRAMJoulesPerBit: fromPico(0.5),
		FLOPSPerWatt:     2 * tera,
		Kernel: Kernel{GEMMEfficiency: 0.8, AttentionEfficiency: 0.6, ArrayTile: 128,
			GEMMSRAMFraction: 0.5},
	}
}

var presets = map[string]func() Spec{
	// temp48 is TEMP's 6×8 = 48-die wafer (secondary figures, see temp).
	"temp48": func() Spec { return temp("temp48", 6, 8) },
	// temp32 is the 4×8 = 32-die wafer TEMP compares with GPU clusters
	// (secondary figures, see temp).
	"temp32": func() Spec { return temp("temp32", 4, 8) },
	// mesh4x4 is a small wafer for tests: temp48's dies on a 4×4 mesh.
	"mesh4x4": func() Spec { return temp("mesh4x4", 4, 4) },
}

// Preset returns a validated copy of the built-in wafer called name.
func Preset(name string) (*Spec, bool) {
	f, ok := presets[name]
	if !ok {
		return nil, false
	}
	s := f()
	if err := s.Validate(); err != nil {
		panic(err) // presets are valid by construction
	}
	return &s, true
}

// PresetNames lists the built-in wafers in sorted order.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
