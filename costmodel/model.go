package costmodel

import (
	"fmt"
	"math"

	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// Params holds the model's non-physical parameters. The zero value means
// defaults.
type Params struct {
	// ComputeEfficiency scales every kernel's efficiency (0: 1). The
	// kernels' own efficiencies are the wafer's (wafer.Kernel); this is a
	// knob for what-if studies, not a calibration.
	ComputeEfficiency float64
	// HBMEfficiency is the fraction of HBM bandwidth memory-bound work
	// achieves (0: 1).
	HBMEfficiency float64
	// Routing is the route of flows between dies that are not neighbours
	// (default XY, as the simulator's default).
	Routing wafer.Routing
	// BucketBytes is the DP gradient all-reduce bucket per die (0:
	// DefaultBucketBytes), which lowering uses too.
	BucketBytes float64
	// InFlight is how many micro-batches' saved activations a die holds
	// at once (0: one, as gradient accumulation runs them one after
	// another). A pipeline stage holds more: under 1F1B, stage d of p
	// holds min(p−d, m) (costmodel.Pipeline's PeakInFlight).
	InFlight int
}

// inFlight is p's micro-batches in flight, at least one.
func (p Params) inFlight() float64 { return float64(max(p.InFlight, 1)) }

// DefaultBucketBytes is the DP gradient bucket per die: PyTorch DDP's
// default bucket_cap_mb, 25 MiB.
const DefaultBucketBytes = 25 << 20

// Bucket is p's DP bucket in bytes.
func (p Params) Bucket() float64 {
	if p.BucketBytes > 0 {
		return p.BucketBytes
	}
	return DefaultBucketBytes
}

// Validate rejects efficiencies outside (0, 1].
func (p Params) Validate() error {
	for _, e := range []float64{p.ComputeEfficiency, p.HBMEfficiency} {
		if e < 0 || e > 1 {
			return fmt.Errorf("costmodel: efficiency %g outside (0, 1]", e)
		}
	}
	if p.InFlight < 0 {
		return fmt.Errorf("costmodel: %d micro-batches in flight; want at least 1 (0 means 1)", p.InFlight)
	}
	if !(p.BucketBytes >= 0) || math.IsInf(p.BucketBytes, 0) {
		return fmt.Errorf("costmodel: DP bucket of %g bytes; it must be positive (0 means %d)", p.BucketBytes, DefaultBucketBytes)
	}
	return nil
}

// Model prices work on one wafer.
type Model struct {
	Spec   *wafer.Spec
	Params Params
	// routes fixes the route between some pairs of dies (WithRoutes).
	routes map[[2]wafer.DieID]wafer.Route
}

// WithRoutes returns a copy of m that routes the given pairs of dies as
// listed.
func (m *Model) WithRoutes(routes map[[2]wafer.DieID]wafer.Route) *Model {
	c := *m
	c.routes = routes
	return &c
}

// New returns a model of spec with the given parameters.
func New(spec *wafer.Spec, p Params) (*Model, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.ComputeEfficiency == 0 {
		p.ComputeEfficiency = 1
	}
	if p.HBMEfficiency == 0 {
		p.HBMEfficiency = 1
	}
	return &Model{Spec: spec, Params: p}, nil
}

// Compute is the time of a memory-bound slice (a pointwise op, the
// optimizer step) of flops FLOPs at peak moving hbmBytes to or from HBM on
// one die: KernelSeconds of such a kernel.
func (m *Model) Compute(flops, hbmBytes float64) float64 {
	return m.KernelSeconds(Kernel{FLOPs: flops, Efficiency: 1, HBMRead: hbmBytes}, 0)
}

// Transfer is the time of one uncontended message of bytes over hops hops.
func (m *Model) Transfer(hops int, bytes float64) float64 {
	return float64(hops)*m.Spec.Link.Latency + bytes/m.Spec.Link.Bandwidth
}

// Flow is bytes moving over a route.
type Flow struct {
	Route wafer.Route
	Bytes float64
}

// Load is the result of pricing concurrent flows.
type Load struct {
	// Seconds is the estimated time until the last flow ends.
	Seconds float64
	// MaxLink carries the most bytes, MaxLinkBytes of them.
	MaxLink      wafer.LinkID
	MaxLinkBytes float64
	// LinkBytes is the bytes on every link, indexed by LinkID.
	LinkBytes []float64
}

// Flows prices flows that start together. Each flow's bytes drain at its
// max-min fair share of the links it crosses, shares being recomputed as
// flows finish; a flow ends when its last byte has drained and crossed its
// route's latency; the set ends with its last flow. Load also reports the
// link-load bound that this refines: the most loaded link. Flows that
// cannot be priced (see PriceFlows) take for ever: Seconds is +Inf.
func (m *Model) Flows(flows []Flow) Load {
	ld, err := m.PriceFlows(flows)
	if err != nil {
		ld.Seconds = math.Inf(1)
	}
	return ld
}

// PriceFlows is Flows, failing when the fair-share model cannot drain the
// flows in finite time: a flow of negative or non-finite bytes, or a link
// bandwidth so small that a rate underflows to zero (a wafer that passed
// wafer.Spec.Validate never has one).
func (m *Model) PriceFlows(flows []Flow) (Load, error) {
	s := m.Spec
	ld := Load{LinkBytes: make([]float64, s.NumLinks())}
	routes := make([][]wafer.LinkID, len(flows))
	bytes := make([]float64, len(flows))
	for i, f := range flows {
		routes[i] = s.Links(f.Route)
		bytes[i] = f.Bytes
		for _, l := range routes[i] {
			ld.LinkBytes[l] += f.Bytes
		}
	}
	for l, b := range ld.LinkBytes {
		if b > ld.MaxLinkBytes {
			ld.MaxLink, ld.MaxLinkBytes = wafer.LinkID(l), b
		}
	}
	finish, err := fluid(routes, bytes, func(wafer.LinkID) float64 { return s.Link.Bandwidth })
	if err != nil {
		return ld, err
	}
	for i, t := range finish {
		ld.Seconds = max(ld.Seconds, t+float64(len(routes[i]))*s.Link.Latency)
	}
	if math.IsInf(ld.Seconds, 0) || math.IsNaN(ld.Seconds) {
		return ld, numeric("costmodel: %d flows take %g s", len(flows), ld.Seconds)
	}
	return ld, nil
}

// Route is the model's route between two dies: a fixed one (WithRoutes),
// else the dimension-order route of Params.Routing, else a detour around
// faults.
func (m *Model) Route(a, b wafer.DieID) (wafer.Route, error) {
	r, err := partition.RouteOf(m.Spec, m.routes, m.Params.Routing, a, b)
	if err != nil {
		return nil, fmt.Errorf("costmodel: %w", err)
	}
	return r, nil
}

// Joules is energy by where it goes: compute, HBM and SRAM traffic, D2D traffic,
// and the wafer's static power over the time priced.
type Joules struct {
	Compute float64 `json:"compute"`
	HBM     float64 `json:"hbm"`
	SRAM    float64 `json:"sram"`
	D2D     float64 `json:"d2d"`
	Static  float64 `json:"static"`
}

// Total is the sum of the parts.
func (j Joules) Total() float64 { return j.Compute + j.HBM + j.SRAM + j.D2D + j.Static }

// Add is the part-wise sum.
func (j Joules) Add(o Joules) Joules {
	return Joules{j.Compute + o.Compute, j.HBM + o.HBM, j.SRAM + o.SRAM, j.D2D + o.D2D, j.Static + o.Static}
}

// Scale multiplies every part by k.
func (j Joules) Scale(k float64) Joules {
	return Joules{j.Compute * k, j.HBM * k, j.SRAM * k, j.D2D * k, j.Static * k}
}

// EnergyOf is the dynamic energy of flops FLOPs, hbmBytes of HBM traffic
// and the D2D traffic of flows (each byte paying once per hop).
func (m *Model) EnergyOf(flops, hbmBytes float64, flows []Flow) Joules {
	s := m.Spec
	j := Joules{Compute: flops / s.FLOPSPerWatt, HBM: 8 * hbmBytes * s.HBMJoulesPerBit}
	for _, f := range flows {
		j.D2D += 8 * f.Bytes * float64(len(f.Route)-1) * s.Link.JoulesPerBit
	}
	return j
}

// Energy is EnergyOf's total.
func (m *Model) Energy(flops, hbmBytes float64, flows []Flow) float64 {
	return m.EnergyOf(flops, hbmBytes, flows).Total()
}
