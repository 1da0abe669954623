package costmodel

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tempc/tempc/ir"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// Price prices every scheme of every op group, every edge and every
// layout's fixed costs of a strategy space (DESIGN.md §4–§5) on each
// layout's canonical mapping (partition.Canonical). All figures are for
// one training step: forward and backward of every micro-batch of every
// layer, DP gradient synchronisation and the optimizer.
func (m *Model) Price(sp *partition.Space) (*Table, error) {
	return m.PriceContext(context.Background(), sp)
}

// PriceContext is Price stopping between layouts when ctx is done; its error wraps ctx.Err().
func (m *Model) PriceContext(ctx context.Context, sp *partition.Space) (*Table, error) {
	maps := make([]partition.Mapping, len(sp.Layouts))
	for li := range sp.Layouts {
		maps[li] = partition.Canonical(sp.Spec, &sp.Layouts[li])
	}
	return m.PriceMappedContext(ctx, sp, maps)
}

// PriceMapped is Price on the given mapping of each layout. Groups run at
// once on their own dies, so a stage costs what it costs on the slowest
// group.
func (m *Model) PriceMapped(sp *partition.Space, maps []partition.Mapping) (*Table, error) {
	return m.PriceMappedContext(context.Background(), sp, maps)
}

// PriceMappedContext is PriceMapped stopping between layouts when ctx is done.
// It also looks at ctx between the op groups of a layout; its error, once
// ctx is done, says how many layouts were priced and wraps ctx.Err().
func (m *Model) PriceMappedContext(ctx context.Context, sp *partition.Space, maps []partition.Mapping) (*Table, error) {
	t := &Table{Space: sp, Capacity: m.Spec.Die.HBMBytes, ModelFLOPs: sp.Graph.Summary().FLOPs, Mappings: maps,
		InFlight: int(m.Params.inFlight())}
	t.Options = make([][]Option, len(sp.Groups))
	degrees := map[int]bool{}
	for li := range sp.Layouts {
		for _, d := range partition.SubChainDegrees(&sp.Layouts[li]) {
			degrees[d] = true
		}
	}
	for gi, grp := range sp.Groups {
		for _, sc := range grp.Schemes {
			t.Options[gi] = append(t.Options[gi], Option{Scheme: sc, Valid: make([]bool, len(sp.Layouts)),
				Price: make([]Price, len(sp.Layouts))})
			if sc != partition.RelayW {
				continue
			}
			for _, d := range partition.StreamDegrees {
				if degrees[d] {
					t.Options[gi] = append(t.Options[gi], Option{Scheme: sc, Degree: d, Valid: make([]bool, len(sp.Layouts)),
						Price: make([]Price, len(sp.Layouts))})
				}
			}
		}
	}
	for _, e := range sp.Edges {
		t.Edges = append(t.Edges, EdgePrice{Edge: e, Cost: make([][partition.NumActs][partition.NumActs]Price, len(sp.Layouts))})
	}
	t.Fixed = make([]Price, len(sp.Layouts))
	t.Sync = make([]Sync, len(sp.Layouts))
	p := &pricer{sp: sp, g: sp.Graph, cache: map[string]Cost{}, failed: map[string]error{}}
	for li := range sp.Layouts {
		if err := p.priceLayout(ctx, m, t, li); err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil, fmt.Errorf("costmodel: pricing stopped after %d of %d layouts: %w", li, len(sp.Layouts), ctx.Err())
			}
			return nil, err
		}
	}
	return t, nil
}

// Reprice returns a copy of t with layout li priced on mapping mp.
func (m *Model) Reprice(t *Table, li int, mp partition.Mapping) (*Table, error) {
	c := *t
	c.Mappings = append([]partition.Mapping(nil), t.Mappings...)
	c.Mappings[li] = mp
	c.Fixed = append([]Price(nil), t.Fixed...)
	c.Options = make([][]Option, len(t.Options))
	for gi := range t.Options {
		c.Options[gi] = make([]Option, len(t.Options[gi]))
		for oi, o := range t.Options[gi] {
			c.Options[gi][oi] = Option{Scheme: o.Scheme, Degree: o.Degree, Valid: append([]bool(nil), o.Valid...), Price: append([]Price(nil), o.Price...)}
		}
	}
	c.Edges = make([]EdgePrice, len(t.Edges))
	for ei, e := range t.Edges {
		c.Edges[ei] = EdgePrice{Edge: e.Edge, Cost: append([][partition.NumActs][partition.NumActs]Price(nil), e.Cost...)}
	}
	p := &pricer{sp: t.Space, g: t.Space.Graph, cache: map[string]Cost{}, failed: map[string]error{}}
	if err := p.priceLayout(context.Background(), m, &c, li); err != nil {
		return nil, err
	}
	return &c, nil
}

// priceLayout prices layout li into t, looking at ctx before each op
// group. It fails when ctx is done (wrapping ctx.Err()), when the mapping
// does not fit the layout, or when a pattern cannot be priced or a price
// is not finite.
func (p *pricer) priceLayout(ctx context.Context, m *Model, t *Table, li int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	mp := t.Mappings[li]
	name := p.sp.Layouts[li].Name()
	if err := mp.Check(m.Spec, &p.sp.Layouts[li]); err != nil {
		return fmt.Errorf("costmodel: layout %s: %w", name, err)
	}
	lc, err := p.layout(m.WithRoutes(mp.Routes), li, mp)
	if err != nil {
		return err
	}
	t.Fixed[li], t.Sync[li] = lc.fixed()
	for gi := range p.sp.Groups {
		if err := ctx.Err(); err != nil {
			return err
		}
		for oi := range t.Options[gi] {
			o := &t.Options[gi][oi]
			o.Price[li], o.Valid[li] = lc.option(gi, o.Scheme, o.Degree)
		}
	}
	for ei := range t.Edges {
		t.Edges[ei].Cost[li] = lc.edge(p.sp.Edges[ei])
	}
	if lc.err != nil {
		return fmt.Errorf("costmodel: layout %s: %w", name, lc.err)
	}
	addStatic(t, li, m.Spec.StaticWatts())
	if err := checkFinite(t, li); err != nil {
		return fmt.Errorf("costmodel: layout %s: %w", name, err)
	}
	return nil
}

// addStatic charges every price of layout li the wafer's static power
// (watts) over its seconds, and sets its Energy to the parts' total: the
// step's static energy is the static power times the step time, which is
// the sum of the prices' seconds.
func addStatic(t *Table, li int, watts float64) {
	static := func(p *Price) {
		p.Parts.Static = watts * p.Seconds
		p.Energy = p.Parts.Total()
	}
	static(&t.Fixed[li])
	for gi := range t.Options {
		for oi := range t.Options[gi] {
			static(&t.Options[gi][oi].Price[li])
		}
	}
	for ei := range t.Edges {
		for a := range t.Edges[ei].Cost[li] {
			for b := range t.Edges[ei].Cost[li][a] {
				static(&t.Edges[ei].Cost[li][a][b])
			}
		}
	}
}

type pricer struct {
	sp    *partition.Space
	g     *ir.Graph
	cache map[string]Cost
	// failed keeps the error a cached price recorded, so that every
	// layout that reuses the price fails alike.
	failed map[string]error
}

// cached returns the price under key, computing it with f the first time;
// a failure f recorded is recorded again on every reuse.
func (lc *layoutCtx) cached(key string, f func() Cost) Cost {
	if c, ok := lc.cache[key]; ok {
		if err := lc.failed[key]; err != nil {
			lc.fail(err)
		}
		return c
	}
	before := lc.err
	c := f()
	if lc.err != nil && lc.err != before {
		lc.failed[key] = lc.err
	}
	lc.cache[key] = c
	return c
}

// layoutCtx prices within one layout.
type layoutCtx struct {
	*pricer
	m            *Model
	l            *partition.Layout
	li           int
	mp           partition.Mapping
	P            float64
	frac         float64 // a micro-batch's share of the global batch
	microBatches float64 // per DP group per step
	tokens       float64 // per micro-batch
	// shapes describes, per group, the routes of its ring, its chain and
	// its all-to-all, so that groups of the same shape are priced once.
	ringShape, chainShape, pairShape []string
	// shared says, per pattern kind ("ring", "chain", "pair"), that two
	// groups' routes cross a common directed link (irregular groups, or
	// routes that leave their group's tile): those groups contend, so the
	// pattern is priced on all groups at once.
	shared map[string]bool
	// mapKey identifies the mapping's groups and fixed routes: layouts
	// that differ only in micro-batch, recomputation or ZeRO share it, and
	// with it the prices of patterns run on all groups at once.
	mapKey string
	// clean says, per group, that its routes are dimension-order routes
	// inside its bounding box (cleanGroups), which its shape then
	// describes by its dies' relative places alone.
	clean []bool
	// err is the first pattern that could not be priced; the prices that
	// depend on it are meaningless and the layout fails.
	err error
}

// fail records err, keeping the first, when it is numeric: a route
// that faults block prices as nothing, as it always has (layout has
// already routed every group), while a rate or time the model cannot
// compute fails the layout.
func (lc *layoutCtx) fail(err error) {
	var ne *numericError
	if lc.err == nil && errors.As(err, &ne) {
		lc.err = err
	}
}

func (p *pricer) layout(m *Model, li int, mp partition.Mapping) (*layoutCtx, error) {
	l := &p.sp.Layouts[li]
	lc := &layoutCtx{pricer: p, m: m, l: l, li: li, mp: mp, P: float64(l.P())}
	lc.frac = float64(l.MicroBatch) / float64(p.g.Batch)
	lc.microBatches = float64(l.MicroBatches(p.g.Batch))
	lc.tokens = float64(l.MicroBatch) * float64(p.g.Seq)
	// Route every group once: a cut-off die is an error, not a price.
	lc.clean = lc.cleanGroups(mp.Chains)
	for g := range mp.Rings {
		if _, err := m.AllGather([][]wafer.DieID{mp.Rings[g]}, 1); err != nil {
			return nil, fmt.Errorf("costmodel: layout %s: %w", l.Name(), err)
		}
		lc.ringShape = append(lc.ringShape, lc.shape(mp.Rings[g], true, false))
		lc.chainShape = append(lc.chainShape, lc.shape(mp.Chains[g], true, false))
		lc.pairShape = append(lc.pairShape, lc.shape(mp.Chains[g], false, lc.clean[g]))
	}
	lc.shared = map[string]bool{
		"ring":  lc.crosses(mp.Rings, true),
		"chain": lc.crosses(mp.Chains, true),
		"pair":  !lc.disjoint() && lc.crosses(mp.Chains, false),
	}
	if lc.shared["ring"] || lc.shared["chain"] || lc.shared["pair"] {
		lc.mapKey = mappingKey(mp)
	}
	return lc, nil
}

// mappingKey writes a mapping's rings, chains and fixed routes (sorted)
// as a string.
func mappingKey(mp partition.Mapping) string {
	var b strings.Builder
	fmt.Fprint(&b, mp.Rings, mp.Chains)
	pairs := make([][2]wafer.DieID, 0, len(mp.Routes))
	for pr := range mp.Routes {
		pairs = append(pairs, pr)
	}
	sort.Slice(pairs, func(i, j int) bool {
		return pairs[i][0] < pairs[j][0] || pairs[i][0] == pairs[j][0] && pairs[i][1] < pairs[j][1]
	})
	for _, pr := range pairs {
		fmt.Fprint(&b, pr, mp.Routes[pr])
	}
	return b.String()
}

// cleanGroups says, per group, whether its pairs' routes are the plain
// dimension-order routes, each inside the group's bounding box: the box
// holds no dead die or link, no fixed route starts or ends in it, and the
// wafer is not a joined cluster (whose seam links differ).
func (lc *layoutCtx) cleanGroups(groups [][]wafer.DieID) []bool {
	s := lc.m.Spec
	out := make([]bool, len(groups))
	if s.Seam != nil {
		return out
	}
	fixed := map[wafer.DieID]bool{}
	for pr := range lc.m.routes {
		fixed[pr[0]], fixed[pr[1]] = true, true
	}
	for g, grp := range groups {
		box := bounds(s, grp)
		out[g] = true
		for d := range s.RectDies(box) {
			if !s.Alive(d) || fixed[d] {
				out[g] = false
				break
			}
			c := s.Coord(d)
			for _, n := range []wafer.Coord{{R: c.R, C: c.C + 1}, {R: c.R + 1, C: c.C}} {
				if n.R >= box.R+box.Rows || n.C >= box.C+box.Cols {
					continue
				}
				for _, pair := range [][2]wafer.DieID{{d, s.ID(n)}, {s.ID(n), d}} {
					if l, ok := s.LinkBetween(pair[0], pair[1]); !ok || !s.LinkAlive(l) {
						out[g] = false
					}
				}
			}
			if !out[g] {
				break
			}
		}
	}
	return out
}

// bounds is the smallest rectangle of s holding every die of group.
func bounds(s *wafer.Spec, group []wafer.DieID) wafer.Rect {
	lo, hi := s.Coord(group[0]), s.Coord(group[0])
	for _, d := range group[1:] {
		c := s.Coord(d)
		lo.R, lo.C = min(lo.R, c.R), min(lo.C, c.C)
		hi.R, hi.C = max(hi.R, c.R), max(hi.C, c.C)
	}
	return wafer.Rect{R: lo.R, C: lo.C, Rows: hi.R - lo.R + 1, Cols: hi.C - lo.C + 1}
}

// disjoint says that every group is clean and no two groups' bounding
// boxes overlap: then their all-to-all routes, each inside its own box,
// share no link, without routing their P² pairs to find out.
func (lc *layoutCtx) disjoint() bool {
	s := lc.m.Spec
	taken := make([]bool, s.NumDies())
	for g, grp := range lc.mp.Chains {
		if !lc.clean[g] {
			return false
		}
		for d := range s.RectDies(bounds(s, grp)) {
			if taken[d] {
				return false
			}
			taken[d] = true
		}
	}
	return true
}

// crosses reports whether the routes of two groups share a directed link:
// ring (or chain) hops when closed, else the routes between all pairs.
func (lc *layoutCtx) crosses(groups [][]wafer.DieID, closed bool) bool {
	owner := map[wafer.LinkID]int{}
	for g, grp := range groups {
		for _, pr := range partition.Pairs(grp, closed) {
			r, err := lc.m.Route(pr[0], pr[1])
			if err != nil {
				continue
			}
			for _, l := range lc.m.Spec.Links(r) {
				if o, ok := owner[l]; ok && o != g {
					return true
				}
				owner[l] = g
			}
		}
	}
	return false
}

// collective prices a ring collective or stream on every group of the
// layout and returns the slowest (groups run at once on their own dies).
// Groups whose routes have the same shape cost the same, so each shape is
// priced once. When groups' routes share links the pattern runs on all
// groups at once and is priced so, contention included.
func (lc *layoutCtx) collective(kind string, bytes float64, compute ...float64) Cost {
	if lc.shared[patternOf(kind)] {
		key := fmt.Sprintf("%s/%g/%v/all@%s", kind, bytes, compute, lc.mapKey)
		return lc.cached(key, func() Cost { return lc.priceAll(kind, bytes, compute...) })
	}
	var worst Cost
	for g := range lc.mp.Rings {
		ring, chain := lc.mp.Rings[g], lc.mp.Chains[g]
		shape := lc.ringShape[g]
		switch patternOf(kind) {
		case "chain":
			shape = lc.chainShape[g]
		case "pair":
			shape = lc.pairShape[g]
		}
		key := fmt.Sprintf("%s/%g/%v/%s", kind, bytes, compute, shape)
		c := lc.cached(key, func() Cost { return lc.price(kind, ring, chain, bytes, compute...) })
		if c.Seconds >= worst.Seconds {
			worst = c
		}
	}
	return worst
}

// subChainStream prices a relay stream of kind on every group's
// sub-chains of degree dies at once (they share no link: consecutive
// pieces of a snake), recording a failure; compute as for price.
func (lc *layoutCtx) subChainStream(kind string, degree int, bytes float64, compute ...float64) Cost {
	key := fmt.Sprintf("sub/%d/%s/%g/%v@%s", degree, kind, bytes, compute, lc.mapKey)
	return lc.cached(key, func() Cost {
		subs := partition.SubChains(lc.mp.Chains, degree)
		o := StreamOrder{Relay: true, Paced: true, Reduce: strings.HasSuffix(kind, "/reduce")}
		var own, round float64
		if len(compute) == 3 {
			own, round, o.MinHop = compute[0], compute[1], compute[2]
		}
		c, err := lc.m.StreamRounds(subs, o, bytes, own, round)
		if err != nil {
			lc.fail(fmt.Errorf("%s on sub-chains of %d dies, %g bytes: %w", kind, degree, bytes, err))
		}
		// Callers take a pattern's flows as one group's traffic.
		g := float64(len(lc.mp.Chains))
		for i := range c.Flows {
			c.Flows[i].Bytes /= g
		}
		return c
	})
}

// price prices kind on one group's ring or chain, recording a failure; a
// stream's compute is its own round's time, every other round's, and the
// least time of a hop (none: zero); a "/reduce" stream carries partial sums.
func (lc *layoutCtx) price(kind string, ring, chain []wafer.DieID, bytes float64, compute ...float64) Cost {
	var c Cost
	var err error
	rings, chains := [][]wafer.DieID{ring}, [][]wafer.DieID{chain}
	switch kind {
	case "ar":
		c, err = lc.m.AllReduce(rings, bytes)
	case "ag":
		c, err = lc.m.AllGather(rings, bytes)
	case "rs":
		c, err = lc.m.ReduceScatter(rings, bytes)
	case "a2a":
		c = lc.m.AllToAll(chain, bytes)
	case "ring", "relay", "ring/reduce", "relay/reduce":
		// The planner's streams are paced (see layoutCtx.pass).
		o := StreamOrder{Relay: patternOf(kind) == "chain", Paced: true, Reduce: strings.HasSuffix(kind, "/reduce")}
		var own, round float64
		if len(compute) == 3 {
			own, round, o.MinHop = compute[0], compute[1], compute[2]
		}
		groups := rings
		if o.Relay {
			groups = chains
		}
		c, err = lc.m.StreamRounds(groups, o, bytes, own, round)
	}
	if err != nil {
		lc.fail(fmt.Errorf("%s of %g bytes: %w", kind, bytes, err))
	}
	return c
}

// patternOf is the routes a kind of collective runs on.
func patternOf(kind string) string {
	switch kind {
	case "relay", "relay/reduce":
		return "chain"
	case "a2a":
		return "pair"
	}
	return "ring"
}

// priceAll prices kind on every group of the layout at once when their
// routes share links: each group's pattern as if alone, then together by
// Concurrent — the slowest group, unless the groups' bytes together
// overload a shared link for longer. (Pricing the groups' steps in
// lockstep instead would charge every step the contended time, while the
// groups drift out of phase and overlap less: pessimistic against the
// simulator's "contended" validation class.)
func (lc *layoutCtx) priceAll(kind string, bytes float64, compute ...float64) Cost {
	rings := lc.mp.Rings
	parts := make([]Cost, len(rings))
	for g := range rings {
		parts[g] = lc.price(kind, rings[g], lc.mp.Chains[g], bytes, compute...)
	}
	c, err := lc.m.Concurrent(parts...)
	if err != nil {
		lc.fail(fmt.Errorf("%s of %g bytes on all groups: %w", kind, bytes, err))
	}
	// Callers take a pattern's flows as one group's traffic (and multiply
	// by the groups for energy): keep the routes, scaled to a mean group.
	g := float64(len(rings))
	flows := make([]Flow, len(c.Flows))
	for i, f := range c.Flows {
		flows[i] = Flow{Route: f.Route, Bytes: f.Bytes / g}
	}
	c.Flows = flows
	return c
}

// shape describes the routes of a group relative to its first die: the
// hops of its ring (closed) or chain, or of all its pairs for an
// all-to-all — for a clean group (cleanGroups), its dies' places.
func (lc *layoutCtx) shape(group []wafer.DieID, closed, clean bool) string {
	s := lc.m.Spec
	o := s.Coord(group[0])
	var b strings.Builder
	if clean {
		// Every pair's route is the dimension-order route the dies'
		// relative places give: listing them is the shape, and costs P,
		// not P² routes (a 256-die group's all-to-all has 65,280).
		fmt.Fprintf(&b, "%v:", lc.m.Params.Routing)
		for _, d := range group {
			x := s.Coord(d)
			fmt.Fprintf(&b, "%d,%d ", x.R-o.R, x.C-o.C)
		}
		return b.String()
	}
	for _, pr := range partition.Pairs(group, closed) {
		r, err := lc.m.Route(pr[0], pr[1])
		if err != nil {
			b.WriteString("!")
			continue
		}
		for _, d := range r {
			x := s.Coord(d)
			fmt.Fprintf(&b, "%d,%d ", x.R-o.R, x.C-o.C)
		}
		b.WriteString("|")
	}
	return b.String()
}
