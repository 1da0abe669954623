package wafer

import (
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
	// StaticWatts is what a healthy die draws whether or not it computes:
	// leakage, clocks, HBM refresh, SRAM retention.
	StaticWatts float64
}

// Kernel describes how well the die's kernels use it: what the cost model
// and the simulator both take as given about code they do not model
// cycle by cycle. Every preset states the source of its figures.
type Kernel struct {
	// GEMMEfficiency is the fraction of PeakFLOPS a large GEMM's inner
	// loop sustains (instruction issue, pipeline bubbles, clock under
	// load), before tile quantisation.
	GEMMEfficiency float64
	// AttentionEfficiency is the same for fused (flash-style) attention:
	// its softmax and masking run beside the matrix engine.
	AttentionEfficiency float64
	// ArrayTile is the granularity of the matrix engine: a GEMM's M and N
	// are computed in multiples of it, so that a dimension of 130 costs
	// as much as one of 256 when it is 128.
	ArrayTile int
	// GEMMSRAMFraction is the share of SRAM a GEMM's working set takes —
	// its fp32 output tile, or an operand held whole beside a strip of
	// accumulators (costmodel's kernel rule; operand panels, small beside
	// them, are not counted); the rest holds streamed blocks and DMA
	// staging buffers.
	GEMMSRAMFraction float64
}

// GEMMTile is the side of the largest square output tile a GEMM can keep
// in SRAM (one of the tilings the kernel rule weighs):
// fp32 accumulators of side t take 4t² bytes of the GEMM's share of SRAM,
// rounded down to a multiple of the array tile (at least one array tile).
func (s *Spec) GEMMTile() float64 {
	k := s.Kernel
	t := math.Sqrt(s.Die.SRAMBytes * k.GEMMSRAMFraction / 4)
	a := float64(max(k.ArrayTile, 1))
	return max(a, math.Floor(t/a)*a)
}

// StreamSRAM is the SRAM a die keeps for streamed blocks and DMA staging:
// what GEMM tiles leave.
func (s *Spec) StreamSRAM() float64 {
	return s.Die.SRAMBytes * (1 - s.Kernel.GEMMSRAMFraction)
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
// its defects; or, with a Seam, the wafers of a cluster joined into one
// mesh (Joined).
type Spec struct {
	Name       string
	Rows, Cols int
	Die        Die
	Link       Link
	// HBMJoulesPerBit is the energy of reading or writing one HBM bit,
	// SRAMJoulesPerBit one SRAM bit.
	HBMJoulesPerBit  float64
	SRAMJoulesPerBit float64
	// Kernel is how well kernels use a die.
	Kernel Kernel
	// FLOPSPerWatt is the compute energy efficiency (FLOP/s per W, i.e.
	// FLOP per joule).
	FLOPSPerWatt float64
	DeadDies     []Coord
	DeadLinks    []DeadLink
	// Cluster, when set, makes this the wafer of a row of identical
	// wafers joined by inter-wafer links (nil: one wafer).
	Cluster *Cluster
	// Seam, when set, makes this the wafers of a cluster joined into one
	// mesh (Joined): the links between wafers carry Seam.Link's figures,
	// every other link Link's (LinkFigures).
	Seam *Seam

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
// whether a plan uses it or not — no power gating is assumed. The links
// between the wafers of a joined Spec draw the seam's.
func (s *Spec) StaticWatts() float64 {
	links, seams := 0, 0
	for l := range LinkID(s.NumLinks()) {
		switch {
		case !s.LinkAlive(l):
		case s.OnSeam(l):
			seams++
		default:
			links++
		}
	}
	w := float64(s.NumHealthy())*s.Die.StaticWatts + float64(links)*s.Link.StaticWatts
	if seams > 0 {
		w += float64(seams) * s.Seam.Link.StaticWatts
	}
	return w
}
