package validate

import (
	"fmt"
	"math/rand/v2"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// Case is one pattern, built twice: as a program for the simulator and as
// an analytic estimate.
type Case struct {
	Class string
	Name  string
	Spec  *wafer.Spec
	// Build appends the pattern to a program.
	Build func(p *plan.Program)
	// Analytic prices the pattern with the cost model.
	Analytic func(m *costmodel.Model) (float64, error)
	// Memory runs the case with its payloads in memory as its tasks
	// place them, sharing each die's HBM port with its kernels; the
	// network classes run without (sim.Config.NetworkOnly) and measure
	// the links alone.
	Memory bool
}

// Classes lists the case classes in report order.
var Classes = []string{"transfer", "collective", "stream", "concurrent", "contended", "multicast", "permutation", "hotspot", "reshard",
	"compute", "hbm", "stream-large"}

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// Suites are the case suites Suite knows.
var Suites = []string{"default", "quick"}

// Suite returns the named suite. "default" has at least 60 cases over all
// classes on temp48 and mesh4x4; "quick" is a small subset for tests. The
// compute and stream-large classes build the benchmark models' strategy
// spaces for their shapes (about a second).
func Suite(name string, seed uint64) ([]Case, error) {
	w48, _ := wafer.Preset("temp48")
	switch name {
	case "default":
		var cs []Case
		cs = append(cs, transfers(w48)...)
		cs = append(cs, collectives(w48)...)
		cs = append(cs, streams(w48)...)
		cs = append(cs, concurrent(w48)...)
		cs = append(cs, contended(w48)...)
		cs = append(cs, multicasts(w48)...)
		cs = append(cs, permutations(w48, seed)...)
		cs = append(cs, hotspots(w48)...)
		cs = append(cs, reshards(w48)...)
		comp, err := computes(w48, benchmarkModels)
		if err != nil {
			return nil, err
		}
		cs = append(cs, comp...)
		cs = append(cs, hbms(w48)...)
		large, err := largeStreams(w48)
		if err != nil {
			return nil, err
		}
		return append(cs, large...), nil
	case "quick":
		w16, _ := wafer.Preset("mesh4x4")
		var cs []Case
		comp, err := computes(w48, []string{"gpt3-6.7b"})
		if err != nil {
			return nil, err
		}
		large, err := largeStreams(w48)
		if err != nil {
			return nil, err
		}
		for _, c := range [][]Case{transfers(w16), collectives(w16), streams(w16), concurrent(w48), contended(w16), multicasts(w16),
			permutations(w16, seed), hotspots(w16), reshards(w16), comp, hbms(w16), large} {
			cs = append(cs, c[0], c[len(c)-1])
		}
		return cs, nil
	}
	return nil, fmt.Errorf("validate: unknown suite %q (want one of %v)", name, Suites)
}

// transfers: one message over 1 to 12 hops, 1 KiB to 1 GiB.
func transfers(s *wafer.Spec) []Case {
	var cs []Case
	for _, hops := range []int{1, 2, 4, 8, 12} {
		if hops > s.Rows+s.Cols-2 {
			continue
		}
		dst := s.ID(wafer.Coord{R: max(0, hops-(s.Cols-1)), C: min(hops, s.Cols-1)})
		for _, bytes := range []int64{kib, mib, 64 * mib, gib} {
			cs = append(cs, Case{Class: "transfer", Name: fmt.Sprintf("%dhop-%s", hops, size(bytes)), Spec: s,
				Build: func(p *plan.Program) { p.Transfer("x", 0, dst, bytes, nil) },
				Analytic: func(m *costmodel.Model) (float64, error) {
					return m.Transfer(hops, float64(bytes)), nil
				}})
		}
	}
	return cs
}

func size(b int64) string {
	switch {
	case b >= gib:
		return fmt.Sprintf("%dGiB", b/gib)
	case b >= mib:
		return fmt.Sprintf("%dMiB", b/mib)
	default:
		return fmt.Sprintf("%dKiB", b/kib)
	}
}

// computeOnly is a stream of blocks of bytes whose rounds compute flops at
// peak and touch no memory (the network classes measure links).
func computeOnly(bytes int64, flops float64) lower.StreamSpec {
	k := costmodel.Kernel{FLOPs: flops, Efficiency: 1}
	return lower.StreamSpec{Block: bytes, Own: k, Round: k}
}

// ring returns the dies of r as a ring: its Hamiltonian cycle when it has
// one, else its snake (closed by a multi-hop wrap-around).
func ring(s *wafer.Spec, r wafer.Rect) ([]wafer.DieID, string) {
	if c, ok := s.Cycle(r); ok {
		return c, "cycle"
	}
	return s.Snake(r), "path"
}

type collectiveKind struct {
	name     string
	build    func(*plan.Program, [][]wafer.DieID, int64, ...plan.TaskID) lower.Fragment
	analytic func(*costmodel.Model, [][]wafer.DieID, float64) (costmodel.Cost, error)
}

var collectiveKinds = []collectiveKind{
	{"allreduce", lower.AllReduce, (*costmodel.Model).AllReduce},
	{"allgather", lower.AllGather, (*costmodel.Model).AllGather},
	{"reducescatter", lower.ReduceScatter, (*costmodel.Model).ReduceScatter},
}

// collectives: ring all-reduce, all-gather and reduce-scatter for groups of
// 2 to 48 dies on rows, columns and rectangles.
func collectives(s *wafer.Spec) []Case {
	shapes := []wafer.Rect{{Rows: 1, Cols: 2}, {Rows: 1, Cols: 4}, {Rows: 1, Cols: 8}, {Rows: 4, Cols: 1},
		{Rows: 6, Cols: 1}, {Rows: 2, Cols: 2}, {Rows: 2, Cols: 4}, {Rows: 3, Cols: 3}, {Rows: 4, Cols: 4},
		{Rows: 3, Cols: 8}, {Rows: 6, Cols: 8}}
	var cs []Case
	for i, r := range shapes {
		if !s.Contains(r) {
			continue
		}
		order, kind := ring(s, r)
		rings := [][]wafer.DieID{order}
		kinds := collectiveKinds[:1]
		if i%2 == 0 {
			kinds = collectiveKinds
		}
		for _, k := range kinds {
			const bytes = 96 * mib
			cs = append(cs, Case{Class: "collective", Name: fmt.Sprintf("%s-%dx%d-%s", k.name, r.Rows, r.Cols, kind), Spec: s,
				Build: func(p *plan.Program) { k.build(p, rings, bytes) },
				Analytic: func(m *costmodel.Model) (float64, error) {
					c, err := k.analytic(m, rings, bytes)
					return c.Seconds, err
				}})
		}
	}
	return cs
}

// streams: TSPP ring on a Hamiltonian cycle, the naive ring on a straight
// chain (closed by a P−1-hop wrap-around), and the TATP relay on the chain,
// for 4, 8 and 16 dies in a compute-bound and a comm-bound regime.
func streams(s *wafer.Spec) []Case {
	var cs []Case
	for _, n := range []int{4, 8, 16} {
		chainRect := wafer.Rect{Rows: 1, Cols: n}
		if !s.Contains(chainRect) {
			chainRect = wafer.Rect{Rows: 2, Cols: n / 2} // snake of two rows: still a chain of neighbours
		}
		chain := s.Snake(chainRect)
		straight := chainRect.Rows == 1
		cycRect := wafer.Rect{Rows: 2, Cols: n / 2}
		if n/2 > s.Cols {
			cycRect = wafer.Rect{Rows: 4, Cols: n / 4}
		}
		cycle, _ := s.Cycle(cycRect)
		const block = 16 * mib
		for _, regime := range []struct {
			name  string
			flops float64
		}{
			// One block takes block/B = 4.2 µs on a link; compute of 10× and 0.1× that.
			{"compute-bound", 10 * float64(block) / s.Link.Bandwidth * s.Die.PeakFLOPS},
			{"comm-bound", 0.1 * float64(block) / s.Link.Bandwidth * s.Die.PeakFLOPS},
		} {
			variants := []struct {
				name  string
				dies  []wafer.DieID
				relay bool
			}{{"ring-cycle", cycle, false}, {"tatp-chain", chain, true}}
			if straight {
				variants = append(variants, struct {
					name  string
					dies  []wafer.DieID
					relay bool
				}{"ring-chain", chain, false})
			}
			for _, v := range variants {
				groups := [][]wafer.DieID{v.dies}
				flops := regime.flops
				cs = append(cs, Case{Class: "stream", Name: fmt.Sprintf("%s-%d-%s", v.name, n, regime.name), Spec: s,
					Build: func(p *plan.Program) {
						if v.relay {
							lower.RelayStream(p, groups, computeOnly(block, flops))
						} else {
							lower.RingStream(p, groups, computeOnly(block, flops))
						}
					},
					Analytic: func(m *costmodel.Model) (float64, error) {
						c := m.Compute(flops, 0)
						var cost costmodel.Cost
						var err error
						if v.relay {
							cost, err = m.RelayStream(groups, block, c)
						} else {
							cost, err = m.RingStream(groups, block, c)
						}
						return cost.Seconds, err
					}})
			}
		}
	}
	return cs
}

// concurrent: the wafer tiled by groups, each running a TATP relay stream,
// while corresponding dies of the groups all-reduce gradients across
// groups (DP), sharing links with the streams.
func concurrent(s *wafer.Spec) []Case {
	var cs []Case
	for _, g := range []struct {
		rows, cols int
		block      int64
		grad       int64
	}{{2, 4, 16 * mib, 64 * mib}, {2, 4, 4 * mib, 256 * mib}, {3, 4, 16 * mib, 64 * mib}, {6, 2, 8 * mib, 128 * mib}} {
		var chains [][]wafer.DieID
		for r := 0; r+g.rows <= s.Rows; r += g.rows {
			for c := 0; c+g.cols <= s.Cols; c += g.cols {
				chains = append(chains, s.Snake(wafer.Rect{R: r, C: c, Rows: g.rows, Cols: g.cols}))
			}
		}
		dp := make([][]wafer.DieID, g.rows*g.cols) // position k of every group
		for k := range dp {
			for _, ch := range chains {
				dp[k] = append(dp[k], ch[k])
			}
		}
		block, grad := g.block, g.grad
		flops := float64(block) / s.Link.Bandwidth * s.Die.PeakFLOPS // compute ≈ one block's link time
		cs = append(cs, Case{Class: "concurrent",
			Name: fmt.Sprintf("dp%d-tatp%dx%d-%s-grad%s", len(chains), g.rows, g.cols, size(block), size(grad)), Spec: s,
			Build: func(p *plan.Program) {
				lower.RelayStream(p, chains, computeOnly(block, flops))
				lower.AllReduce(p, dp, grad)
			},
			Analytic: func(m *costmodel.Model) (float64, error) {
				st, err := m.RelayStream(chains, float64(block), m.Compute(flops, 0))
				if err != nil {
					return 0, err
				}
				ar, err := m.AllReduce(dp, float64(grad))
				if err != nil {
					return 0, err
				}
				c, err := m.Concurrent(st, ar)
				return c.Seconds, err
			}})
	}
	return cs
}

// contended: groups that share links, priced as the layout pricer prices
// them (each group alone, then Concurrent). Every row (or column) of the
// wafer is a group whose ring closes over its wrap-around; in every other
// row (column) the wrap-around is routed back along the next one, beside
// that group's own, so the two groups' collectives contend. Ring
// all-reduce and all-gather of 1 MiB to 256 MiB on all groups at once.
func contended(s *wafer.Spec) []Case {
	var cs []Case
	for _, cols := range []bool{false, true} {
		n, length := s.Rows, s.Cols
		at := func(line, k int) wafer.DieID { return s.ID(wafer.Coord{R: line, C: k}) }
		name := "rows"
		if cols {
			n, length = s.Cols, s.Rows
			at = func(line, k int) wafer.DieID { return s.ID(wafer.Coord{R: k, C: line}) }
			name = "cols"
		}
		var rings [][]wafer.DieID
		for i := 0; i < n; i++ {
			var ring []wafer.DieID
			for k := 0; k < length; k++ {
				ring = append(ring, at(i, k))
			}
			rings = append(rings, ring)
		}
		routes := map[[2]wafer.DieID]wafer.Route{}
		for i := 0; i+1 < n; i += 2 { // line i's wrap-around: over to line i+1, back along it, over again
			rt := wafer.Route{at(i, length-1)}
			for k := length - 1; k >= 0; k-- {
				rt = append(rt, at(i+1, k))
			}
			rt = append(rt, at(i, 0))
			routes[[2]wafer.DieID{rt[0], rt[len(rt)-1]}] = rt
		}
		for _, k := range collectiveKinds[:2] {
			for _, bytes := range []int64{mib, 16 * mib, 256 * mib} {
				cs = append(cs, Case{Class: "contended", Name: fmt.Sprintf("%s-%s-%s", k.name, name, size(bytes)), Spec: s,
					Build: func(p *plan.Program) {
						from := len(p.Tasks)
						k.build(p, rings, bytes)
						for i := from; i < len(p.Tasks); i++ {
							if rt, ok := routes[[2]wafer.DieID{p.Tasks[i].Die, p.Tasks[i].Dst}]; ok {
								p.Tasks[i].Route = rt
							}
						}
					},
					Analytic: func(m *costmodel.Model) (float64, error) {
						m = m.WithRoutes(routes)
						parts := make([]costmodel.Cost, len(rings))
						for i, r := range rings {
							c, err := k.analytic(m, [][]wafer.DieID{r}, float64(bytes))
							if err != nil {
								return 0, err
							}
							parts[i] = c
						}
						c, err := m.Concurrent(parts...)
						return c.Seconds, err
					}})
			}
		}
	}
	return cs
}

// multicasts: merged multicast trees and their reductions — a broadcast
// from a corner to every die over merged XY routes, and the K/V slices of
// grouped-query attention (64 query heads, 8 KV heads, head size 128, and
// multi-query attention) on the chain of a group, every die's tree at once.
func multicasts(s *wafer.Spec) []Case {
	type pattern struct {
		name  string
		trees []wafer.Tree
	}
	var ps []pattern
	var routes []wafer.Route
	for d := wafer.DieID(1); int(d) < s.NumDies(); d++ {
		r, _ := s.Route(0, d, wafer.XY)
		routes = append(routes, r)
	}
	if bc, err := wafer.Merge(routes); err == nil {
		ps = append(ps, pattern{"broadcast-all", []wafer.Tree{bc}})
	}
	for _, g := range []struct {
		rect          wafer.Rect
		heads, kv, hd int64
	}{{wafer.Rect{Rows: 3, Cols: 8}, 64, 8, 128}, {wafer.Rect{Rows: 4, Cols: 4}, 64, 8, 128}, {wafer.Rect{Rows: 2, Cols: 2}, 32, 1, 128}} {
		if !s.Contains(g.rect) {
			continue
		}
		share := partition.KVShare(g.heads, g.kv, g.hd, int64(g.rect.Size()))
		ps = append(ps, pattern{fmt.Sprintf("kv%d-of-%d-heads-%dx%d", g.kv, g.heads, g.rect.Rows, g.rect.Cols),
			partition.KVTrees(s.Snake(g.rect), share)})
	}
	var cs []Case
	for _, pt := range ps {
		for _, bytes := range []int64{256 * kib, 8 * mib, 128 * mib} {
			for _, reduce := range []bool{false, true} {
				name := "multicast"
				if reduce {
					name = "reduce"
				}
				cs = append(cs, Case{Class: "multicast", Name: fmt.Sprintf("%s-%s-%s", name, pt.name, size(bytes)), Spec: s,
					Build: func(p *plan.Program) {
						if reduce {
							lower.Reduce(p, pt.trees, bytes)
						} else {
							lower.Multicast(p, pt.trees, bytes)
						}
					},
					Analytic: func(m *costmodel.Model) (float64, error) {
						c, err := m.Multicast(pt.trees, float64(bytes))
						return c.Seconds, err
					}})
			}
		}
	}
	return cs
}

// permutations: every healthy die sends to a distinct other die of a
// seeded random derangement, all at once.
func permutations(s *wafer.Spec, seed uint64) []Case {
	var cs []Case
	for i, bytes := range []int64{mib, 16 * mib, 64 * mib, 64 * mib, 256 * mib, 256 * mib} {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		perm := derangement(rng, s.NumDies())
		cs = append(cs, Case{Class: "permutation", Name: fmt.Sprintf("perm%d-%s", i, size(bytes)), Spec: s,
			Build: func(p *plan.Program) {
				for a, b := range perm {
					p.Transfer("perm", wafer.DieID(a), wafer.DieID(b), bytes, nil)
				}
			},
			Analytic: func(m *costmodel.Model) (float64, error) {
				return flowsOf(m, perm, bytes)
			}})
	}
	return cs
}

func flowsOf(m *costmodel.Model, dst []int, bytes int64) (float64, error) {
	var flows []costmodel.Flow
	for a, b := range dst {
		if b < 0 || a == b {
			continue
		}
		r, err := m.Spec.Route(wafer.DieID(a), wafer.DieID(b), m.Params.Routing)
		if err != nil {
			return 0, err
		}
		flows = append(flows, costmodel.Flow{Route: r, Bytes: float64(bytes)})
	}
	ld, err := m.PriceFlows(flows)
	return ld.Seconds, err
}

// derangement is a random permutation of 0..n−1 without fixed points,
// drawn by rejection (a draw succeeds with probability about 1/e); n must
// be at least 2, as there is none otherwise.
func derangement(rng *rand.Rand, n int) []int {
	if n < 2 {
		panic(fmt.Sprintf("validate: no derangement of %d dies", n))
	}
	for {
		p := rng.Perm(n)
		ok := true
		for i, v := range p {
			ok = ok && i != v
		}
		if ok {
			return p
		}
	}
}

// hotspots: k dies (nearest first) all send to one die at once.
func hotspots(s *wafer.Spec) []Case {
	var cs []Case
	center := s.ID(wafer.Coord{R: s.Rows / 2, C: s.Cols / 2})
	for _, k := range []int{4, 8, 16, s.NumDies() - 1} {
		if k > s.NumDies()-1 {
			continue
		}
		dst := make([]int, s.NumDies())
		for i := range dst {
			dst[i] = -1
		}
		// The k dies in ID order, skipping the hotspot itself.
		n := 0
		for d := 0; d < s.NumDies() && n < k; d++ {
			if wafer.DieID(d) != center {
				dst[d] = int(center)
				n++
			}
		}
		const bytes = 32 * mib
		cs = append(cs, Case{Class: "hotspot", Name: fmt.Sprintf("hotspot-%dto1", k), Spec: s,
			Build: func(p *plan.Program) {
				for a, b := range dst {
					if b >= 0 {
						p.Transfer("hot", wafer.DieID(a), wafer.DieID(b), bytes, nil)
					}
				}
			},
			Analytic: func(m *costmodel.Model) (float64, error) { return flowsOf(m, dst, bytes) }})
	}
	return cs
}

// reshards: the all-to-all that switches an activation's split dimension
// between two op groups (costmodel's "a2a" edge price: the link-load
// bound on the group's chain), on groups of 4 to 48 dies, 4 MiB to 1 GiB
// per die.
func reshards(s *wafer.Spec) []Case {
	shapes := []wafer.Rect{{Rows: 1, Cols: 4}, {Rows: 2, Cols: 2}, {Rows: 2, Cols: 4}, {Rows: 4, Cols: 4}, {Rows: 3, Cols: 8}, {Rows: 6, Cols: 8}}
	var cs []Case
	for i, r := range shapes {
		if !s.Contains(r) {
			continue
		}
		chain := s.Snake(r)
		for _, bytes := range []int64{4 * mib, []int64{64 * mib, 1 * gib}[i%2]} {
			cs = append(cs, Case{Class: "reshard", Name: fmt.Sprintf("alltoall-%dx%d-%s", r.Rows, r.Cols, size(bytes)), Spec: s,
				Build: func(p *plan.Program) { lower.AllToAll(p, [][]wafer.DieID{chain}, bytes) },
				Analytic: func(m *costmodel.Model) (float64, error) {
					return m.AllToAll(chain, float64(bytes)).Seconds, nil
				}})
		}
	}
	return cs
}
