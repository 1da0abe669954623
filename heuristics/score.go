package heuristics

import (
	"tempc/costmodel"
	"tempc/partition"
	"tempc/wafer"
)

// scoreT is what the mappers optimise: the cost model's time of the
// layout's DP gradient all-reduce on a mapping, and its most loaded link.
// (Inside a group every ring or chain hop is one link whatever the
// mapping; between groups the DP rings cross the mesh and contend.)
type scoreT struct {
	seconds, maxLink float64
}

func score(m *costmodel.Model, sp *partition.Space, li int, mp partition.Mapping) (scoreT, error) {
	if err := mp.Check(sp.Spec, &sp.Layouts[li]); err != nil {
		return scoreT{}, err
	}
	if sp.Layouts[li].DP < 2 {
		return scoreT{}, nil
	}
	c, err := m.WithRoutes(mp.Routes).AllReduce(mp.DP, 2*sp.ParamsPerDie(li)) // bf16 gradients
	if err != nil {
		return scoreT{}, err
	}
	load := linkLoad(sp.Spec, c.Flows)
	var most float64
	for _, b := range load {
		most = max(most, b)
	}
	return scoreT{seconds: c.Seconds, maxLink: most}, nil
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
