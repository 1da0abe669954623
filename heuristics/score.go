package heuristics

import (
	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// scoreT is what the mappers optimise, as the cost model prices it on a
// mapping: the layout's DP gradient all-reduce (time and most loaded
// link), and one round of every group's ring at once with blocks of
// groupBlock bytes (time and most loaded link). Inside a tile every ring
// hop is one link whatever the mapping; the DP rings cross the mesh, and
// the rings of irregular groups close over routes that may cross other
// groups.
type scoreT struct {
	seconds, maxLink    float64
	group, groupMaxLink float64
}

// groupBlock is the block of the group round in the score.
const groupBlock = 64 << 20

// better reports whether a is no worse than b in both classes and better
// in one.
func (a scoreT) better(b scoreT) bool {
	return a.seconds <= b.seconds && a.group <= b.group && (a.seconds < b.seconds || a.group < b.group)
}

func score(m *costmodel.Model, sp *partition.Space, li int, mp partition.Mapping) (scoreT, error) {
	if err := mp.Check(sp.Spec, &sp.Layouts[li]); err != nil {
		return scoreT{}, err
	}
	m = m.WithRoutes(mp.Routes)
	var sc scoreT
	var round []costmodel.Flow
	for _, f := range groupFlows(mp) {
		r, err := m.Route(f[0], f[1])
		if err != nil {
			return scoreT{}, err
		}
		round = append(round, costmodel.Flow{Route: r, Bytes: groupBlock})
	}
	if len(round) > 0 {
		ld := m.Flows(round)
		sc.group, sc.groupMaxLink = ld.Seconds, ld.MaxLinkBytes
	}
	if sp.Layouts[li].DP < 2 {
		return sc, nil
	}
	c, err := m.AllReduce(mp.DP, 2*sp.ParamsPerDie(li)) // bf16 gradients
	if err != nil {
		return scoreT{}, err
	}
	load := linkLoad(sp.Spec, c.Flows)
	for _, b := range load {
		sc.maxLink = max(sc.maxLink, b)
	}
	sc.seconds = c.Seconds
	return sc, nil
}

func linkLoad(s *wafer.Spec, flows []costmodel.Flow) []float64 {
	load := make([]float64, s.NumLinks())
	for _, f := range flows {
		for _, l := range s.Links(f.Route) {
			load[l] += f.Bytes
		}
	}
	return load
}

// minHops orders the groups and orients them to minimise the hops of the
// DP rings: a nearest-neighbour tour of the groups' first dies improved by
// 2-opt (Croes 1958), then each group's orientation against the one before
// it in the tour.
func (st *state) minHops() {
	n := len(st.order)
	if n < 2 {
		return
	}
	pos := func(g int) wafer.DieID { return st.variants[g][0][0] }
	dist := func(a, b int) int { return st.s.Hops(pos(a), pos(b)) }
	tour := []int{0}
	used := make([]bool, n)
	used[0] = true
	for len(tour) < n {
		last, best := tour[len(tour)-1], -1
		for g := 0; g < n; g++ {
			if !used[g] && (best < 0 || dist(last, g) < dist(last, best)) {
				best = g
			}
		}
		used[best] = true
		tour = append(tour, best)
	}
	for improved := true; improved; {
		improved = false
		for i := 0; i < n-1; i++ {
			for j := i + 2; j < n; j++ {
				a, b, c, d := tour[i], tour[i+1], tour[j], tour[(j+1)%n]
				if dist(a, c)+dist(b, d) < dist(a, b)+dist(c, d) {
					for x, y := i+1, j; x < y; x, y = x+1, y-1 {
						tour[x], tour[y] = tour[y], tour[x]
					}
					improved = true
				}
			}
		}
	}
	st.order = tour
	for k := 1; k < n; k++ {
		prev, g := st.order[k-1], st.order[k]
		pc := st.variants[prev][st.orient[prev]]
		bestV, bestH := 0, -1
		for v, ch := range st.variants[g] {
			h := 0
			for i := range ch {
				h += st.s.Hops(pc[i], ch[i])
			}
			if bestH < 0 || h < bestH {
				bestV, bestH = v, h
			}
		}
		st.orient[g] = bestV
	}
}
