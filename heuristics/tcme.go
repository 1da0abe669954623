package heuristics

import (
	"maps"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// dpFlows are the hops of the DP rings; groupFlows the hops of every
// group's ring (its closing hop a wrap-around when it has no Hamiltonian
// cycle). The two classes run in different stages, so each contends only
// with its own class.
func dpFlows(mp partition.Mapping) [][2]wafer.DieID { return ringPairs(mp.DP) }

func groupFlows(mp partition.Mapping) [][2]wafer.DieID { return ringPairs(mp.Rings) }

func ringPairs(rings [][]wafer.DieID) [][2]wafer.DieID {
	var out [][2]wafer.DieID
	for _, ring := range rings {
		out = append(out, partition.Pairs(ring, true)...)
	}
	return out
}

// reroute is TCME's re-routing, on the DP flows and then on the groups'
// ring flows: count a class's flows on every link; take the most loaded
// link and move a flow through it onto another route (XY, YX, a two-bend
// minimal path, or the shortest live path around the hot link) that keeps
// every link it uses below that load; repeat until no flow can leave the
// busiest link or the round cap. A class's new routes are kept only if the
// cost model prices that class faster and the other no slower.
func (t TEMP) reroute(m *costmodel.Model, sp *partition.Space, li int, mp partition.Mapping, s0 scoreT) (partition.Mapping, scoreT, int, int) {
	capRounds := t.RerouteRounds
	if capRounds == 0 {
		capRounds = DefaultRerouteRounds
	}
	moved, rounds := 0, 0
	for _, class := range []func(partition.Mapping) [][2]wafer.DieID{dpFlows, groupFlows} {
		routes, n, r := relieve(sp.Spec, class(mp), mp.Routes, capRounds)
		rounds += r
		if n == 0 {
			continue
		}
		next := mp
		next.Routes = routes
		sc, err := score(m, sp, li, next)
		if err != nil || !sc.better(s0) {
			continue
		}
		mp, s0 = next, sc
		moved += n
	}
	return mp, s0, moved, rounds
}

// relieve moves flows off the most loaded link until none can leave it
// (or maxRounds); it returns the new routes (a copy), the flows moved and
// the rounds run.
func relieve(s *wafer.Spec, flows [][2]wafer.DieID, fixed map[[2]wafer.DieID]wafer.Route, maxRounds int) (map[[2]wafer.DieID]wafer.Route, int, int) {
	routes := map[[2]wafer.DieID]wafer.Route{}
	maps.Copy(routes, fixed)
	route := func(f [2]wafer.DieID) wafer.Route {
		r, _ := partition.RouteOf(s, routes, wafer.XY, f[0], f[1])
		return r
	}
	load := make([]int, s.NumLinks())
	for _, f := range flows {
		for _, l := range s.Links(route(f)) {
			load[l]++
		}
	}
	moved, rounds := 0, 0
	for ; rounds < maxRounds; rounds++ {
		hot := 0
		for l := range load {
			if load[l] > load[hot] {
				hot = l
			}
		}
		if load[hot] <= 1 {
			break
		}
		done := false
		for _, f := range flows {
			cur := route(f)
			if !uses(s, cur, wafer.LinkID(hot)) {
				continue
			}
			alts := minimalRoutes(s, f[0], f[1])
			if r, ok := s.Shortest(f[0], f[1], func(l wafer.LinkID) bool { return l == wafer.LinkID(hot) }); ok {
				alts = append(alts, r)
			}
			for _, alt := range alts {
				if uses(s, alt, wafer.LinkID(hot)) || !below(s, alt, cur, load, load[hot]) {
					continue
				}
				for _, l := range s.Links(cur) {
					load[l]--
				}
				for _, l := range s.Links(alt) {
					load[l]++
				}
				routes[f] = alt
				moved++
				done = true
				break
			}
			if done {
				break
			}
		}
		if !done {
			break
		}
	}
	return routes, moved, rounds
}

func uses(s *wafer.Spec, r wafer.Route, l wafer.LinkID) bool {
	for _, x := range s.Links(r) {
		if x == l {
			return true
		}
	}
	return false
}

// below reports whether moving a flow from cur to alt keeps every link of
// alt strictly below limit.
func below(s *wafer.Spec, alt, cur wafer.Route, load []int, limit int) bool {
	own := map[wafer.LinkID]bool{}
	for _, l := range s.Links(cur) {
		own[l] = true
	}
	for _, l := range s.Links(alt) {
		n := load[l]
		if !own[l] {
			n++
		}
		if n >= limit {
			return false
		}
	}
	return true
}

// minimalRoutes lists healthy shortest routes from a to b with at most two
// bends: XY, YX, and X-Y-X and Y-X-Y paths through every intermediate
// column and row, in a fixed order.
func minimalRoutes(s *wafer.Spec, a, b wafer.DieID) []wafer.Route {
	ca, cb := s.Coord(a), s.Coord(b)
	var out []wafer.Route
	add := func(waypoints ...wafer.Coord) {
		r := wafer.Route{a}
		cur := ca
		for _, w := range waypoints {
			for cur != w {
				switch {
				case cur.C < w.C:
					cur.C++
				case cur.C > w.C:
					cur.C--
				case cur.R < w.R:
					cur.R++
				default:
					cur.R--
				}
				r = append(r, s.ID(cur))
			}
		}
		if s.CheckRoute(r) == nil {
			out = append(out, r)
		}
	}
	add(wafer.Coord{R: ca.R, C: cb.C}, cb) // XY
	add(wafer.Coord{R: cb.R, C: ca.C}, cb) // YX
	lo, hi := min(ca.C, cb.C), max(ca.C, cb.C)
	for c := lo + 1; c < hi; c++ { // X-Y-X through column c
		add(wafer.Coord{R: ca.R, C: c}, wafer.Coord{R: cb.R, C: c}, cb)
	}
	lo, hi = min(ca.R, cb.R), max(ca.R, cb.R)
	for r := lo + 1; r < hi; r++ { // Y-X-Y through row r
		add(wafer.Coord{R: r, C: ca.C}, wafer.Coord{R: r, C: cb.C}, cb)
	}
	return out
}
