package costmodel

import (
	"fmt"
	"math"

	"github.com/tempc/tempc/partition"
)

// Mem is memory per die by term, in bytes.
type Mem struct {
	Weights   float64 `json:"weights"`
	Grads     float64 `json:"gradients"`
	OptStates float64 `json:"optimizer_states"`
	// Acts are the activations saved for the backward pass, for all layers
	// of one micro-batch.
	Acts float64 `json:"activations"`
	// Gathered is the FSDP weights a layer holds gathered while it runs:
	// its own and the next layer's, prefetched (every FSDP group of a
	// layer at once, so the term adds up over groups).
	Gathered float64 `json:"gathered_weights"`
	// Transient is the largest temporary buffer (an FSDP gradient before
	// its reduce-scatter, a stream's blocks in flight, a
	// sequence-parallel all-gather).
	Transient float64 `json:"transient"`
}

// Total is the sum of the terms.
func (m Mem) Total() float64 {
	return m.Weights + m.Grads + m.OptStates + m.Acts + m.Gathered + m.Transient
}

// Held is what an option adds up with the other groups' options: its
// saved activations, gathered weights, and the weights and gradients a
// sub-chain stream keeps beyond the group's share (Option.Degree).
func (m Mem) Held() float64 { return m.Acts + m.Gathered + m.Weights + m.Grads + m.OptStates }

// Add returns the term-wise sum (Transient takes the larger: buffers are
// not live at once).
func (m Mem) Add(o Mem) Mem {
	return Mem{m.Weights + o.Weights, m.Grads + o.Grads, m.OptStates + o.OptStates, m.Acts + o.Acts,
		m.Gathered + o.Gathered, max(m.Transient, o.Transient)}
}

// Name is the option's scheme, with its degree when it has one:
// "relay-w", "relay-w/8".
func (o Option) Name() string {
	if o.Degree > 0 {
		return fmt.Sprintf("%s/%d", o.Scheme, o.Degree)
	}
	return o.Scheme.String()
}

// Price is the cost of a choice for one training step.
type Price struct {
	// Seconds is its contribution to the step time; Compute and Comm split
	// it into compute and exposed communication.
	Seconds, Compute, Comm float64
	// Energy in joules over the whole wafer: Parts' total, static power
	// over Seconds included (so the energy objective sees that a slower
	// plan leaks longer).
	Energy float64
	Parts  Joules
	// Traffic is the D2D bytes it sends per die; HBM and SRAM the bytes
	// the busiest die moves in its HBM (kernels and DMA) and SRAM.
	Traffic   float64
	HBM, SRAM float64
	// Mem is what it keeps per die.
	Mem Mem
	// Backward is, for an option, the seconds of its backward pass in one
	// micro-batch (every layer), and BackwardHBM the bytes it moves
	// through a die's HBM port: the window beside which the last
	// micro-batch's DP gradient buckets run (Sync), and how busy it keeps
	// the port they share.
	Backward, BackwardHBM float64
}

// Sync is a layout's DP gradient all-reduce, run in buckets beside the
// last micro-batch's backward pass (lower.Lower): it is exposed for
// Exposed seconds.
type Sync struct {
	// Seconds is the all-reduce of every gradient alone; Tail that of the
	// last bucket; Bucket the bucket per die in bytes; HBM the bytes it
	// moves through each die's HBM port, whose rate is Port (bytes/s).
	Seconds, Tail, Bucket float64
	HBM, Port             float64
}

// Exposed is the sync's time beyond a backward window of that many
// seconds in which the kernels move windowHBM bytes through each die's
// HBM port: the longest of the last bucket (whose gradients are the
// backward pass's last), the all-reduce's time beyond the window, and the
// port's time for the window's bytes and the all-reduce's beyond the
// window (the two share it). Zero without DP.
func (s Sync) Exposed(window, windowHBM float64) float64 {
	if s.Seconds <= 0 {
		return 0
	}
	e := max(s.Tail, s.Seconds-window)
	if s.Port > 0 {
		e = max(e, (windowHBM+s.HBM)/s.Port-window)
	}
	return e
}

// Option is one scheme of one op group, priced in every layout.
type Option struct {
	Scheme partition.Scheme
	// Degree, when not zero, runs a relay-w stream on sub-chains of that
	// many dies instead of the whole group (partition.SubChainDegrees).
	Degree int
	// Valid says the scheme can run in the layout (e.g. heads divide by the
	// group size); Price is meaningful only then.
	Valid []bool
	Price []Price
}

// EdgePrice is the resharding cost of an edge in every layout, indexed
// [layout][from's output layout][to's layout].
type EdgePrice struct {
	Edge partition.Edge
	Cost [][partition.NumActs][partition.NumActs]Price
}

// Table is a strategy space priced on its wafer: what the global level
// chooses from.
type Table struct {
	Space *partition.Space
	// Fixed is, per layout, what does not depend on the schemes: the DP
	// gradient synchronisation's energy and traffic (its time is Sync's),
	// the optimizer step, and the weights, gradients and optimizer states
	// held per die.
	Fixed []Price
	// Sync is, per layout, the DP gradient all-reduce's time, which the
	// schemes' backward passes hide in part.
	Sync []Sync
	// Capacity is the memory of one die.
	Capacity float64
	// Options lists, per op group, its schemes.
	Options [][]Option
	Edges   []EdgePrice
	// ModelFLOPs is the FLOPs of one step (forward, backward and optimizer,
	// without recomputation), for MFU.
	ModelFLOPs float64
	// InFlight is the micro-batches whose saved activations each die
	// holds at once (Params.InFlight, at least 1): every option's
	// Mem.Acts counts them all, one micro-batch's being Acts/InFlight.
	InFlight int
	// Mappings is the mapping each layout was priced on.
	Mappings []partition.Mapping
}

// notFinite names the first figure of p that is NaN or infinite, or
// returns "".
func (p Price) notFinite() string {
	for _, f := range []struct {
		name string
		v    float64
	}{{"seconds", p.Seconds}, {"compute", p.Compute}, {"comm", p.Comm}, {"energy", p.Energy}, {"traffic", p.Traffic},
		{"weights", p.Mem.Weights}, {"gradients", p.Mem.Grads}, {"optimizer states", p.Mem.OptStates},
		{"activations", p.Mem.Acts}, {"gathered weights", p.Mem.Gathered}, {"transient", p.Mem.Transient}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Sprintf("%s %g", f.name, f.v)
		}
	}
	return ""
}

// checkFinite fails when a price of layout li is NaN or infinite (a wafer
// or model whose figures overflow): a solver cannot use it.
func checkFinite(t *Table, li int) error {
	if bad := t.Fixed[li].notFinite(); bad != "" {
		return fmt.Errorf("fixed price: %s is not finite", bad)
	}
	for gi := range t.Options {
		for _, o := range t.Options[gi] {
			if !o.Valid[li] {
				continue
			}
			if bad := o.Price[li].notFinite(); bad != "" {
				return fmt.Errorf("group %s, scheme %v: %s is not finite", t.Space.Groups[gi].Key, o.Scheme, bad)
			}
		}
	}
	for _, e := range t.Edges {
		for a := range e.Cost[li] {
			for b := range e.Cost[li][a] {
				if bad := e.Cost[li][a][b].notFinite(); bad != "" {
					return fmt.Errorf("edge %d→%d: %s is not finite", e.Edge.From, e.Edge.To, bad)
				}
			}
		}
	}
	return nil
}
