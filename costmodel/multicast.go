package costmodel

import (
	"math"

	"github.com/tempc/tempc/wafer"
)

// MulticastChunk is the largest piece a multicast forwards at once: a
// die that holds the payload passes each chunk on as soon as it has it,
// so a deep tree pipelines; an edge sends its chunks one after another,
// each once the one before has arrived, so every chunk pays the edge's
// latency.
const MulticastChunk = 4 << 20

// MulticastChunks is how many chunks a multicast of bytes is sent in.
func MulticastChunks(bytes float64) int {
	return max(1, int((bytes+MulticastChunk-1)/MulticastChunk))
}

// Multicast prices trees that each send bytes from their source to their
// destinations at once (a reduction to the source, the same flows
// reversed, costs the same; its additions are not modelled as compute).
// Every edge carries the payload once: the edges take the longer of
// draining together at their fair shares of the links (Flows) and the
// longest edge sending its chunks one after another, each paying its
// latency; the deepest tree adds the pipeline fill of its chain of edges,
// a chunk's time and latency per edge beyond the first. It fails on a
// payload that is not a finite number of bytes or edges whose flows cannot
// be priced (PriceFlows).
func (m *Model) Multicast(trees []wafer.Tree, bytes float64) (Cost, error) {
	if math.IsNaN(bytes) || math.IsInf(bytes, 0) {
		return Cost{}, numeric("costmodel: multicast of %g bytes", bytes)
	}
	var c Cost
	for _, t := range trees {
		for _, e := range t.Edges {
			c.Flows = append(c.Flows, Flow{Route: e, Bytes: bytes})
		}
	}
	if len(c.Flows) == 0 || bytes <= 0 {
		return Cost{}, nil
	}
	k := MulticastChunks(bytes)
	chunk := bytes / float64(k)
	hops := 0
	for _, f := range c.Flows {
		hops = max(hops, len(f.Route)-1)
	}
	// first[d] is when d has the first chunk, the edges uncontended; an
	// edge starts then, so the latest start is the pipeline's fill.
	var fill float64
	for _, t := range trees {
		first := map[wafer.DieID]float64{t.Src: 0}
		for _, e := range t.Edges {
			start := first[e[0]]
			fill = max(fill, start)
			first[e[len(e)-1]] = start + chunk/m.Spec.Link.Bandwidth + float64(len(e)-1)*m.Spec.Link.Latency
		}
	}
	// An edge alone sends its chunks one after another, each paying its
	// latency; edges that share links drain at their fair shares, and the
	// gaps one edge's latencies leave, another's chunks fill.
	serial := float64(k) * (chunk/m.Spec.Link.Bandwidth + float64(hops)*m.Spec.Link.Latency)
	ld, err := m.PriceFlows(c.Flows)
	if err != nil {
		return Cost{}, err
	}
	c.Seconds = max(ld.Seconds, serial) + fill
	return c, nil
}
