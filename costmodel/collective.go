package costmodel

import "github.com/tempc/tempc/wafer"

// Cost is the estimate of a communication pattern: its time and the total
// traffic it puts on the mesh (for energy, and for pricing it beside other
// work with Concurrent).
type Cost struct {
	Seconds float64
	// Flows is all the pattern's traffic, every step included.
	Flows []Flow
}

// ringStep returns the flows of one step of rings in lockstep: every die
// sends bytes to the next die of its ring (the last to the first).
func (m *Model) ringStep(rings [][]wafer.DieID, bytes float64) ([]Flow, error) {
	var flows []Flow
	for _, ring := range rings {
		if len(ring) < 2 {
			continue
		}
		for i, d := range ring {
			r, err := m.Route(d, ring[(i+1)%len(ring)])
			if err != nil {
				return nil, err
			}
			flows = append(flows, Flow{Route: r, Bytes: bytes})
		}
	}
	return flows, nil
}

// steps prices n identical steps of rings in lockstep, each moving bytes
// from every die to its successor.
func (m *Model) steps(rings [][]wafer.DieID, n int, bytes float64) (Cost, error) {
	step, err := m.ringStep(rings, bytes)
	if err != nil || len(step) == 0 {
		return Cost{}, err
	}
	ld, err := m.PriceFlows(step)
	if err != nil {
		return Cost{}, err
	}
	c := Cost{Seconds: float64(n) * ld.Seconds}
	for _, f := range step {
		c.Flows = append(c.Flows, Flow{Route: f.Route, Bytes: f.Bytes * float64(n)})
	}
	return c, nil
}

// AllReduce prices ring all-reduces of bytes per die over each ring of dies
// at the same time: reduce-scatter then all-gather, 2(P−1) steps of
// bytes/P. On a Hamiltonian cycle each step is one hop; a ring closed over
// a path pays its wrap-around route every step.
func (m *Model) AllReduce(rings [][]wafer.DieID, bytes float64) (Cost, error) {
	p := ringSize(rings)
	return m.steps(rings, 2*(p-1), bytes/float64(p))
}

// AllGather prices ring all-gathers in which every die ends with bytes
// (P−1 steps of bytes/P).
func (m *Model) AllGather(rings [][]wafer.DieID, bytes float64) (Cost, error) {
	p := ringSize(rings)
	return m.steps(rings, p-1, bytes/float64(p))
}

// ReduceScatter prices ring reduce-scatters of bytes per die (P−1 steps of
// bytes/P); its traffic is that of an all-gather.
func (m *Model) ReduceScatter(rings [][]wafer.DieID, bytes float64) (Cost, error) {
	return m.AllGather(rings, bytes)
}

// ringSize is the common size of the rings (they run in lockstep, so they
// must agree); 1 when there are none.
func ringSize(rings [][]wafer.DieID) int {
	p := 1
	for _, r := range rings {
		p = max(p, len(r))
	}
	return p
}

// Concurrent prices parts that run at the same time on shared links: the
// longest part, unless all their bytes together overload a link for longer.
// It fails when their flows cannot be priced (PriceFlows).
func (m *Model) Concurrent(parts ...Cost) (Cost, error) {
	var c Cost
	for _, p := range parts {
		c.Seconds = max(c.Seconds, p.Seconds)
		c.Flows = append(c.Flows, p.Flows...)
	}
	ld, err := m.PriceFlows(c.Flows)
	if err != nil {
		return Cost{}, err
	}
	c.Seconds = max(c.Seconds, ld.Seconds)
	return c, nil
}

// AllToAll prices an all-to-all in which every die of group sends
// bytes/P to every other die, all at once, by the link-load bound (the
// pattern is symmetric, so the busiest link stays busy): the most loaded
// link's bytes over the bandwidth plus the longest route's latency.
func (m *Model) AllToAll(group []wafer.DieID, bytes float64) Cost {
	p := len(group)
	var c Cost
	if p < 2 {
		return c
	}
	load := make([]float64, m.Spec.NumLinks())
	longest := 0
	for _, a := range group {
		for _, b := range group {
			if a == b {
				continue
			}
			r, err := m.Route(a, b)
			if err != nil {
				continue
			}
			f := Flow{Route: r, Bytes: bytes / float64(p)}
			c.Flows = append(c.Flows, f)
			for _, l := range m.Spec.Links(r) {
				load[l] += f.Bytes
			}
			longest = max(longest, len(r)-1)
		}
	}
	var most float64
	for _, b := range load {
		most = max(most, b)
	}
	c.Seconds = most/m.Spec.Link.Bandwidth + float64(longest)*m.Spec.Link.Latency
	return c
}
