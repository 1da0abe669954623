package wafer

import (
	"errors"
	"fmt"
	"math"
)

// Die is the hardware of one die; every healthy die of a wafer is alike.
type Die struct {
	// PeakFLOPS is the dense bf16 peak in FLOP/s.
	PeakFLOPS float64
	// HBMBytes and HBMBandwidth (bytes/s) describe the die's stacked DRAM.
	HBMBytes     float64
	HBMBandwidth float64
	// SRAMBytes is the on-die SRAM.
	SRAMBytes float64
	// DMAEngines is how many messages a die can inject concurrently.
	DMAEngines int
}

// Link is the hardware of one direction of a D2D link.
type Link struct {
	// Bandwidth in bytes/s per direction.
	Bandwidth float64
	// Latency is the per-hop latency in seconds: the time a packet's head
	// takes from one router to the next, router pipeline included.
	Latency float64
	// JoulesPerBit is the energy of moving one bit over one hop.
	JoulesPerBit float64
}

// Coord is a die position: row R, column C, from the top-left corner.
type Coord struct{ R, C int }

func (c Coord) String() string { return fmt.Sprintf("(%d,%d)", c.R, c.C) }

// DeadLink is a defective physical link between two adjacent dies; both
// directions are unusable.
type DeadLink struct{ A, B Coord }

// Spec is a wafer: its mesh, its die and link hardware, energy figures, and
// its defects.
type Spec struct {
	Name       string
	Rows, Cols int
	Die        Die
	Link       Link
	// HBMJoulesPerBit is the energy of reading or writing one HBM bit.
	HBMJoulesPerBit float64
	// FLOPSPerWatt is the compute energy efficiency (FLOP/s per W, i.e.
	// FLOP per joule).
	FLOPSPerWatt float64
	DeadDies     []Coord
	DeadLinks    []DeadLink

	// dead and deadLink are derived by Validate; index by DieID / LinkID.
	dead     []bool
	deadLink []bool
}

// Validate checks sizes and faults, and prepares the fault tables. It
// returns every problem found, naming the field, die or link at fault.
func (s *Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("wafer %s: "+format, append([]any{s.Name}, args...)...))
	}
	if s.Rows <= 0 || s.Cols <= 0 {
		bad("mesh %d×%d must have positive rows and cols", s.Rows, s.Cols)
		return errors.Join(errs...)
	}
	if s.Rows*s.Cols > maxDies {
		bad("mesh %d×%d exceeds %d dies", s.Rows, s.Cols, maxDies)
		return errors.Join(errs...)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"die.peak_tflops", s.Die.PeakFLOPS}, {"die.hbm_gb", s.Die.HBMBytes}, {"die.hbm_tbps", s.Die.HBMBandwidth},
		{"link.bandwidth_tbps", s.Link.Bandwidth}, {"tflops_per_watt", s.FLOPSPerWatt}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			bad("%s must be positive, got %g", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"die.sram_mb", s.Die.SRAMBytes}, {"link.latency_ns", s.Link.Latency},
		{"link.pj_per_bit", s.Link.JoulesPerBit}, {"hbm_pj_per_bit", s.HBMJoulesPerBit}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			bad("%s must not be negative, got %g", f.name, f.v)
		}
	}
	if s.Die.DMAEngines <= 0 {
		bad("die.dma_engines must be positive, got %d", s.Die.DMAEngines)
	}
	s.dead = make([]bool, s.NumDies())
	s.deadLink = make([]bool, 4*s.NumDies())
	for _, c := range s.DeadDies {
		if !s.In(c) {
			bad("dead die %v is outside the %d×%d mesh", c, s.Rows, s.Cols)
			continue
		}
		s.dead[s.ID(c)] = true
	}
	for _, l := range s.DeadLinks {
		if !s.In(l.A) || !s.In(l.B) {
			bad("dead link %v–%v is outside the %d×%d mesh", l.A, l.B, s.Rows, s.Cols)
			continue
		}
		ab, ok := s.LinkBetween(s.ID(l.A), s.ID(l.B))
		if !ok {
			bad("dead link %v–%v joins dies that are not neighbours", l.A, l.B)
			continue
		}
		ba, _ := s.LinkBetween(s.ID(l.B), s.ID(l.A))
		s.deadLink[ab], s.deadLink[ba] = true, true
	}
	if len(errs) == 0 && s.NumHealthy() == 0 {
		bad("no healthy die: all %d dies are dead", s.NumDies())
	}
	return errors.Join(errs...)
}

// maxDies bounds the mesh size (a 300 mm wafer holds a few hundred dies).
const maxDies = 1 << 16

// NumDies is Rows·Cols, dead dies included.
func (s *Spec) NumDies() int { return s.Rows * s.Cols }

// NumHealthy counts the dies that are not dead.
func (s *Spec) NumHealthy() int {
	n := 0
	for d := range s.NumDies() {
		if s.Alive(DieID(d)) {
			n++
		}
	}
	return n
}

// ComputeSeconds is the roofline time of a slice on one die:
// max(FLOPs / peak, HBM bytes / HBM bandwidth).
func (s *Spec) ComputeSeconds(flops, hbmBytes float64) float64 {
	return max(flops/s.Die.PeakFLOPS, hbmBytes/s.Die.HBMBandwidth)
}
