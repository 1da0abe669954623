package heuristics

import (
	"maps"

	"tempc/costmodel"
	"tempc/partition"
	"tempc/wafer"
)

// reroute is TCME's re-routing: count the DP all-reduce's flows on every
// link; take the most loaded link and move the flow through it whose best
// alternative minimal route (XY, YX, or a two-bend path) keeps every link
// it uses below that load; repeat until no flow can leave the busiest link
// or the round cap. The result is kept only if the cost model prices it no
// worse.
func (t TEMP) reroute(m *costmodel.Model, sp *partition.Space, li int, mp partition.Mapping, s0 scoreT) (partition.Mapping, scoreT, int, int) {
	capRounds := t.RerouteRounds
	if capRounds == 0 {
		capRounds = DefaultRerouteRounds
	}
	s := sp.Spec
	type flow struct{ a, b wafer.DieID }
	var flows []flow
	for _, ring := range mp.DP {
		for i, d := range ring {
			flows = append(flows, flow{d, ring[(i+1)%len(ring)]})
		}
	}
	routes := map[[2]wafer.DieID]wafer.Route{}
	maps.Copy(routes, mp.Routes)
	route := func(f flow) wafer.Route {
		r, _ := partition.RouteOf(s, routes, wafer.XY, f.a, f.b)
		return r
	}
	load := make([]int, s.NumLinks())
	for _, f := range flows {
		for _, l := range s.Links(route(f)) {
			load[l]++
		}
	}
	moved, rounds := 0, 0
	for ; rounds < capRounds; rounds++ {
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
			for _, alt := range minimalRoutes(s, f.a, f.b) {
				if uses(s, alt, wafer.LinkID(hot)) || !below(s, alt, cur, load, load[hot]) {
					continue
				}
				for _, l := range s.Links(cur) {
					load[l]--
				}
				for _, l := range s.Links(alt) {
					load[l]++
				}
				routes[[2]wafer.DieID{f.a, f.b}] = alt
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
	next := mp
	next.Routes = routes
	sc, err := score(m, sp, li, next)
	if err != nil || sc.seconds > s0.seconds {
		return mp, s0, 0, rounds
	}
	return next, sc, moved, rounds
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
