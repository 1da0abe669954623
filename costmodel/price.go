package costmodel

import (
	"fmt"

	"tempc/ir"
	"tempc/partition"
	"tempc/wafer"
)

// Price prices every scheme of every op group, every edge and every
// layout's fixed costs of a strategy space (DESIGN.md §4–§5). All figures
// are for one training step: forward and backward of every micro-batch of
// every layer, DP gradient synchronisation and the optimizer. Groups run
// on the layout's canonical mapping: groups tile the mesh row-major; a
// group's ring is its Hamiltonian cycle when it has one, else its snake;
// its chain is its snake.
func (m *Model) Price(sp *partition.Space) (*Table, error) {
	p := &pricer{m: m, sp: sp, g: sp.Graph, cache: map[string]Cost{}}
	t := &Table{Space: sp, Capacity: m.Spec.Die.HBMBytes, ModelFLOPs: sp.Graph.Summary().FLOPs}
	t.Options = make([][]Option, len(sp.Groups))
	for gi, grp := range sp.Groups {
		for _, sc := range grp.Schemes {
			t.Options[gi] = append(t.Options[gi], Option{Scheme: sc, Valid: make([]bool, len(sp.Layouts)),
				Price: make([]Price, len(sp.Layouts))})
		}
	}
	for _, e := range sp.Edges {
		t.Edges = append(t.Edges, EdgePrice{Edge: e, Cost: make([][partition.NumActs][partition.NumActs]Price, len(sp.Layouts))})
	}
	t.Fixed = make([]Price, len(sp.Layouts))
	for li := range sp.Layouts {
		lc, err := p.layout(li)
		if err != nil {
			return nil, err
		}
		t.Fixed[li] = lc.fixed()
		for gi := range sp.Groups {
			for oi := range t.Options[gi] {
				o := &t.Options[gi][oi]
				o.Price[li], o.Valid[li] = lc.option(gi, o.Scheme)
			}
		}
		for ei := range t.Edges {
			t.Edges[ei].Cost[li] = lc.edge(sp.Edges[ei])
		}
	}
	return t, nil
}

type pricer struct {
	m     *Model
	sp    *partition.Space
	g     *ir.Graph
	cache map[string]Cost
}

// layoutCtx prices within one layout.
type layoutCtx struct {
	*pricer
	l            *partition.Layout
	P            float64
	frac         float64 // a micro-batch's share of the global batch
	microBatches float64 // per DP group per step
	ring, chain  []wafer.DieID
	tokens       float64 // per micro-batch
}

func (p *pricer) layout(li int) (*layoutCtx, error) {
	l := &p.sp.Layouts[li]
	lc := &layoutCtx{pricer: p, l: l, P: float64(l.P())}
	lc.frac = float64(l.MicroBatch) / float64(p.g.Batch)
	lc.microBatches = float64(l.MicroBatches(p.g.Batch))
	lc.tokens = float64(l.MicroBatch) * float64(p.g.Seq)
	tile := l.Tiles[0]
	lc.chain = p.m.Spec.Snake(tile)
	lc.ring = lc.chain
	if c, ok := p.m.Spec.Cycle(tile); ok {
		lc.ring = c
	}
	// Check the group's links once: a faulty route is an error, not a price.
	if _, err := p.m.AllGather([][]wafer.DieID{lc.ring}, 1); err != nil {
		return nil, fmt.Errorf("costmodel: layout %s: %w", l.Name(), err)
	}
	return lc, nil
}

// collective prices (with caching) a ring collective or stream on the
// layout's group.
func (lc *layoutCtx) collective(kind string, bytes, compute float64) Cost {
	key := fmt.Sprintf("%v/%s/%g/%g", lc.l.Tiles[0], kind, bytes, compute)
	if c, ok := lc.cache[key]; ok {
		return c
	}
	var c Cost
	ring, chain := [][]wafer.DieID{lc.ring}, [][]wafer.DieID{lc.chain}
	switch kind {
	case "ar":
		c, _ = lc.m.AllReduce(ring, bytes)
	case "ag":
		c, _ = lc.m.AllGather(ring, bytes)
	case "rs":
		c, _ = lc.m.ReduceScatter(ring, bytes)
	case "a2a":
		c = lc.m.AllToAll(lc.chain, bytes)
	case "ring":
		c, _ = lc.m.RingStream(ring, bytes, compute)
	case "relay":
		c, _ = lc.m.RelayStream(chain, bytes, compute)
	}
	lc.cache[key] = c
	return c
}
