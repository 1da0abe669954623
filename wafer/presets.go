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
func temp(name string, rows, cols int) Spec {
	return Spec{
		Name: name, Rows: rows, Cols: cols,
		Die: Die{PeakFLOPS: 1800 * tera, HBMBytes: 72 * giga, HBMBandwidth: 1 * tera,
			SRAMBytes: 80 * mega, DMAEngines: 8, StaticWatts: 90},
		Link: Link{Bandwidth: 4 * tera, Latency: fromNano(200), JoulesPerBit: fromPico(5.0),
			StaticWatts: 16},
		HBMJoulesPerBit: fromPico(6.0),
		FLOPSPerWatt:    2 * tera,
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
