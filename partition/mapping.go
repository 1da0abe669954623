package partition

import (
	"fmt"

	"github.com/tempc/tempc/wafer"
)

// Mapping places a layout's model-parallel groups on dies: the physical
// side of a layout, which the local level refines.
type Mapping struct {
	// Rings lists, per group, its dies in ring order: one hop apart on a
	// Hamiltonian cycle; otherwise the ring closes over a multi-hop route.
	Rings [][]wafer.DieID
	// Chains lists, per group, its dies in chain order, consecutive dies
	// neighbours (TATP relays run on it).
	Chains [][]wafer.DieID
	// DP lists the data-parallel rings: for each position of a group's
	// chain, that position's die of every group, in ring order.
	DP [][]wafer.DieID
	// Routes fixes the route of flows between pairs of dies; pairs not
	// listed take the default (XY, or a detour around faults).
	Routes map[[2]wafer.DieID]wafer.Route
}

// Canonical is the layout's default mapping: groups are its tiles in
// row-major order, a group's ring is its Hamiltonian cycle when it has one
// whose links are all healthy, else its chain; its chain is its first
// healthy snake; DP rings take the groups in tile order.
func Canonical(s *wafer.Spec, l *Layout) Mapping {
	var m Mapping
	for _, t := range l.Tiles {
		chain, _ := HealthyChain(s, t) // Layout keeps only tiles that have one
		ring := chain
		if c, ok := s.Cycle(t); ok && healthyRing(s, c) {
			ring = c
		}
		m.Rings = append(m.Rings, ring)
		m.Chains = append(m.Chains, chain)
	}
	for _, chain := range l.Extra {
		m.Rings = append(m.Rings, chain) // a cycle if its ends are neighbours, else closed over a route
		m.Chains = append(m.Chains, chain)
	}
	m.DP = DPRings(m.Chains)
	return m
}

// DPRings forms the data-parallel rings of groups given in ring order: the
// k-th die of every chain, for every k.
func DPRings(chains [][]wafer.DieID) [][]wafer.DieID {
	if len(chains) == 0 {
		return nil
	}
	dp := make([][]wafer.DieID, len(chains[0]))
	for _, ch := range chains {
		for k, d := range ch {
			dp[k] = append(dp[k], d)
		}
	}
	return dp
}

// healthyRing reports whether every hop of a ring, the closing one
// included, is over a live link between neighbours.
func healthyRing(s *wafer.Spec, ring []wafer.DieID) bool {
	for i, d := range ring {
		l, ok := s.LinkBetween(d, ring[(i+1)%len(ring)])
		if !ok || !s.LinkAlive(l) {
			return false
		}
	}
	return true
}

// Check validates a mapping against its layout and wafer: one ring and one
// chain per group over the same healthy dies, chains of neighbours over
// live links, DP rings consistent with the chains, and fixed routes valid
// between their ends.
func (m *Mapping) Check(s *wafer.Spec, l *Layout) error {
	if len(m.Rings) != l.DP || len(m.Chains) != l.DP {
		return fmt.Errorf("partition: mapping has %d rings and %d chains for %d groups", len(m.Rings), len(m.Chains), l.DP)
	}
	used := map[wafer.DieID]bool{}
	for g := range m.Chains {
		if len(m.Chains[g]) != l.P() || len(m.Rings[g]) != l.P() {
			return fmt.Errorf("partition: group %d has %d dies in its chain, %d in its ring, want %d", g, len(m.Chains[g]), len(m.Rings[g]), l.P())
		}
		in := map[wafer.DieID]bool{}
		for i, d := range m.Chains[g] {
			if !s.Alive(d) || used[d] {
				return fmt.Errorf("partition: group %d uses die %v twice or dead", g, s.Coord(d))
			}
			used[d], in[d] = true, true
			if i > 0 {
				lk, ok := s.LinkBetween(m.Chains[g][i-1], d)
				if !ok || !s.LinkAlive(lk) {
					return fmt.Errorf("partition: group %d chain hop %v→%v is not a live link", g, s.Coord(m.Chains[g][i-1]), s.Coord(d))
				}
			}
		}
		for _, d := range m.Rings[g] {
			if !in[d] {
				return fmt.Errorf("partition: group %d ring has die %v outside its chain", g, s.Coord(d))
			}
		}
	}
	for pair, r := range m.Routes {
		if len(r) == 0 || r[0] != pair[0] || r[len(r)-1] != pair[1] {
			return fmt.Errorf("partition: route for %v→%v does not join them", s.Coord(pair[0]), s.Coord(pair[1]))
		}
		if err := s.CheckRoute(r); err != nil {
			return err
		}
	}
	return nil
}

// Route resolves the route of a flow from a to b: the mapping's fixed
// route if it has one, else the dimension-order route of routing, else a
// detour around faults (wafer.Spec.Detour).
func (m *Mapping) Route(s *wafer.Spec, routing wafer.Routing, a, b wafer.DieID) (wafer.Route, error) {
	return RouteOf(s, m.Routes, routing, a, b)
}

// RouteOf is Mapping.Route for a bare table of fixed routes.
func RouteOf(s *wafer.Spec, fixed map[[2]wafer.DieID]wafer.Route, routing wafer.Routing, a, b wafer.DieID) (wafer.Route, error) {
	if r, ok := fixed[[2]wafer.DieID{a, b}]; ok {
		return r, nil
	}
	if r, err := s.Route(a, b, routing); err == nil {
		return r, nil
	}
	return s.Detour(a, b)
}

// Pairs lists a group's flows as (from, to): each die to the next, the
// last to the first, when closed (a ring); else every ordered pair (an
// all-to-all).
func Pairs(group []wafer.DieID, closed bool) [][2]wafer.DieID {
	var out [][2]wafer.DieID
	if closed {
		if len(group) > 1 {
			for i, d := range group {
				out = append(out, [2]wafer.DieID{d, group[(i+1)%len(group)]})
			}
		}
		return out
	}
	for _, a := range group {
		for _, b := range group {
			if a != b {
				out = append(out, [2]wafer.DieID{a, b})
			}
		}
	}
	return out
}
