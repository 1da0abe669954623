package wafer

import (
	"fmt"
	"math"
)

// A limit is the plausible range of one physical field of a wafer, in the
// units of the wafer file (wafer.schema.json).
//
// The ranges span today's hardware by about three orders of magnitude each
// way: wide enough for any die or link that could be built or imagined,
// narrow enough that the cost model's arithmetic stays finite and well
// scaled. Outside them a rate underflows to zero (a link bandwidth of
// 1e-300 TB/s makes a water-filling step infinite and its bytes NaN) or a
// price becomes infinite, and planning would fail later, far from the
// mistake, or never end.
//
//	field                 unit       min     max     today
//	die.peak_tflops       TFLOPS     0.1     1e7     100–2,500 (dense bf16)
//	die.hbm_gb            GB         0.01    1e6     16–192
//	die.hbm_tbps          TB/s       0.001   1e4     0.5–8
//	die.sram_mb           MB         0.001   1e7     1–1,000
//	sram_pj_per_bit       pJ/bit     0       1e4     0.05–2
//	kernel.gemm_efficiency       —   0.01    1       0.6–0.85
//	kernel.attention_efficiency  —   0.01    1       0.4–0.75
//	kernel.gemm_sram_fraction    —   0.01    0.99    (a design choice)
//	die.dma_engines       engines    1       64      1–16
//	link.bandwidth_tbps   TB/s       1e-4    1e4     0.1–10 per direction
//	link.latency_ns       ns         0       1e6     1–1,000 per hop
//	link.pj_per_bit       pJ/bit     0       1e4     0.1–10
//	hbm_pj_per_bit        pJ/bit     0       1e4     3–10
//	tflops_per_watt       TFLOPS/W   0.001   1e4     0.5–5
//	rows, cols            dies       1       65536   a few to a few tens
//	rows × cols           dies       1       65536   a few tens to a few hundred
//
// The kernel fractions are shares, not magnitudes: bounded by (0, 1]
// (the GEMM's share of SRAM below 1, so that streams keep some).
// kernel.array_tile (1–65,536 elements) is checked as an integer.
//
// die.dma_engines and the mesh size are counts rather than physics: the
// simulator keeps a queue per engine at every router, so they bound its
// memory (65,536 dies are some hundred times a 300 mm wafer's worth).
type limit struct {
	field    string
	unit     string
	min, max float64
	// spec reads the field of a Spec in the file's unit; file reads it as
	// the file wrote it (before conversion, which could overflow).
	spec func(*Spec) float64
	file func(*jsonSpec) float64
}

// limits lists the physical fields of a Spec with their plausible ranges
// (see limit). die.dma_engines and the mesh are checked separately as
// integers.
var limits = []limit{
	{"die.peak_tflops", "TFLOPS", 0.1, 1e7,
		func(s *Spec) float64 { return s.Die.PeakFLOPS / tera }, func(j *jsonSpec) float64 { return j.Die.PeakTFLOPS }},
	{"die.hbm_gb", "GB", 0.01, 1e6,
		func(s *Spec) float64 { return s.Die.HBMBytes / giga }, func(j *jsonSpec) float64 { return j.Die.HBMGB }},
	{"die.hbm_tbps", "TB/s", 1e-3, 1e4,
		func(s *Spec) float64 { return s.Die.HBMBandwidth / tera }, func(j *jsonSpec) float64 { return j.Die.HBMTBps }},
	{"die.sram_mb", "MB", 1e-3, 1e7,
		func(s *Spec) float64 { return s.Die.SRAMBytes / mega }, func(j *jsonSpec) float64 { return j.Die.SRAMMB }},
	{"die.static_w", "W", 1e-3, 1e5,
		func(s *Spec) float64 { return s.Die.StaticWatts }, func(j *jsonSpec) float64 { return j.Die.StaticW }},
	{"link.bandwidth_tbps", "TB/s", 1e-4, 1e4,
		func(s *Spec) float64 { return s.Link.Bandwidth / tera }, func(j *jsonSpec) float64 { return j.Link.BandwidthTBps }},
	{"link.latency_ns", "ns", 0, 1e6,
		func(s *Spec) float64 { return toNano(s.Link.Latency) }, func(j *jsonSpec) float64 { return j.Link.LatencyNs }},
	{"link.pj_per_bit", "pJ/bit", 0, 1e4,
		func(s *Spec) float64 { return toPico(s.Link.JoulesPerBit) }, func(j *jsonSpec) float64 { return j.Link.PJPerBit }},
	{"link.static_w", "W", 1e-3, 1e5,
		func(s *Spec) float64 { return s.Link.StaticWatts }, func(j *jsonSpec) float64 { return j.Link.StaticW }},
	{"hbm_pj_per_bit", "pJ/bit", 0, 1e4,
		func(s *Spec) float64 { return toPico(s.HBMJoulesPerBit) }, func(j *jsonSpec) float64 { return j.HBMPJPerBit }},
	{"tflops_per_watt", "TFLOPS/W", 1e-3, 1e4,
		func(s *Spec) float64 { return s.FLOPSPerWatt / tera }, func(j *jsonSpec) float64 { return j.TFLOPSPerWatt }},
	{"sram_pj_per_bit", "pJ/bit", 0, 1e4,
		func(s *Spec) float64 { return toPico(s.SRAMJoulesPerBit) }, func(j *jsonSpec) float64 { return j.SRAMPJPerBit }},
	{"kernel.gemm_efficiency", "", 0.01, 1,
		func(s *Spec) float64 { return s.Kernel.GEMMEfficiency }, func(j *jsonSpec) float64 { return j.Kernel.GEMMEfficiency }},
	{"kernel.attention_efficiency", "", 0.01, 1,
		func(s *Spec) float64 { return s.Kernel.AttentionEfficiency }, func(j *jsonSpec) float64 { return j.Kernel.AttentionEfficiency }},
	{"kernel.gemm_sram_fraction", "", 0.01, 0.99,
		func(s *Spec) float64 { return s.Kernel.GEMMSRAMFraction }, func(j *jsonSpec) float64 { return j.Kernel.GEMMSRAMFraction }},
}

// Bounds of the integer fields (see limit).
const (
	// maxDies bounds rows, cols and the mesh size.
	maxDies = 1 << 16
	// maxDMAEngines bounds die.dma_engines.
	maxDMAEngines = 64
	// maxArrayTile bounds kernel.array_tile.
	maxArrayTile = 1 << 16
)

// check reports v (in the limit's unit) when it is not a finite number in
// range, or "" when it is.
func (l limit) check(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprintf("%s must be a finite number, got %g", l.field, v)
	case l.min > 0 && v <= 0:
		return fmt.Sprintf("%s must be positive, got %.12g", l.field, v)
	case v < 0:
		return fmt.Sprintf("%s must not be negative, got %.12g", l.field, v)
	case v < l.min || v > l.max:
		if l.unit == "" {
			return fmt.Sprintf("%s %.12g is outside the plausible range [%g, %g]", l.field, v, l.min, l.max)
		}
		return fmt.Sprintf("%s %.12g %s is outside the plausible range [%g, %g] %s", l.field, v, l.unit, l.min, l.max, l.unit)
	}
	return ""
}

// hardwareProblems checks the physical fields of s against limits, and
// its cluster or seam when it has one.
func (s *Spec) hardwareProblems() []problem {
	ps := limitProblems(func(l *limit) float64 { return l.spec(s) })
	if c := s.Cluster; c != nil {
		ps = append(ps, clusterProblems(c.Wafers, func(l *limit) float64 { return l.spec(s) })...)
	}
	if s.Seam != nil {
		ps = append(ps, s.seamProblems()...)
	}
	return ps
}

// fileHardwareProblems checks the physical fields of a wafer file, as
// written, against limits.
func fileHardwareProblems(j *jsonSpec) []problem {
	return limitProblems(func(l *limit) float64 { return l.file(j) })
}

// limitProblems checks the value of every limit's field, read by value.
func limitProblems(value func(*limit) float64) []problem {
	var ps []problem
	for i := range limits {
		l := &limits[i]
		if msg := l.check(value(l)); msg != "" {
			ps = append(ps, problem{field: l.field, elem: -1, msg: msg})
		}
	}
	return ps
}
