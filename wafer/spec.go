package wafer

import "fmt"

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
	// StaticWatts is what a healthy die draws whether or not it computes:
	// leakage, clocks, HBM refresh, SRAM retention.
	StaticWatts float64
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
	// StaticWatts is what one direction of a live link draws whether or
	// not it carries data (PHY and router idle power).
	StaticWatts float64
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

// StaticWatts is the idle power of the whole wafer: every healthy die and
// every live link direction draws its static power for the whole step,
// whether a plan uses it or not — no power gating is assumed.
func (s *Spec) StaticWatts() float64 {
	links := 0
	for l := range LinkID(s.NumLinks()) {
		if s.LinkAlive(l) {
			links++
		}
	}
	return float64(s.NumHealthy())*s.Die.StaticWatts + float64(links)*s.Link.StaticWatts
}

// ComputeSeconds is the roofline time of a slice on one die:
// max(FLOPs / peak, HBM bytes / HBM bandwidth).
func (s *Spec) ComputeSeconds(flops, hbmBytes float64) float64 {
	return max(flops/s.Die.PeakFLOPS, hbmBytes/s.Die.HBMBandwidth)
}
