package lower

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// CheckComm checks that a single-wafer plan moves the data its recorded
// choices imply, as CheckWork checks the work: the expectation is derived
// from the graph through the strategy space sp, the plan's layout, its
// groups (p.Groups) and its schemes (p.Strategies) — the bytes each scheme
// moves as costmodel.DegreeMove describes them, not the plan's tasks —
// and compared with the bytes the plan's transfers and sends deliver to
// each die over the step (every run of every block). Closed-form lower
// bounds, per die unless said otherwise:
//
//   - every op group's passes, per layer and micro-batch, and again for a
//     recomputed forward pass (partition.Work.Recomputed; FSDP's
//     recomputed kernels reuse the gathered weights): a ring all-gather,
//     reduce-scatter or all-to-all of B bytes on P dies delivers at least
//     (P−1)/P·B into each die, an all-reduce 2(P−1)/P·B; a TSPP ring or
//     TATP relay stream of blocks of b bytes over R dies (the group, or a
//     relay-w sub-chain) R−1 blocks;
//   - every edge between op groups whose sharding differs, per copy and
//     micro-batch: an all-gather of the activation (2 bytes × tokens ×
//     its width) when one side is replicated, an all-to-all in each pass
//     when both are split;
//   - a heads-split attention whose dies read K/V heads other dies hold:
//     the K/V slice (costmodel.KVSlice) to each die that reads it, and
//     its gradient back, summed over the group;
//   - relay-w on sub-chains: the gradient's reduce-scatter and the
//     updated weights' all-gather among the dies that hold the same
//     block, once per step;
//   - with DP replicas, from the other replicas, once per step: 2(d−1)/d
//     of the die's gradient bytes (2 bytes per owned parameter over the
//     group's P dies, and the replicated ones whole).
//
// Bytes from the die's own model-parallel group count for the first four,
// bytes from the other replicas for the last; a transfer to or from a die
// outside the plan's groups fails. Messages of 0 or 1 byte where the graph
// implies more fall short of these bounds and fail. A version 4 plan,
// which records no schemes, is held to its DP reduction only (its groups
// are its dies, DP of them in order); a later one must record its
// strategies. A pipeline plan is checked by CheckPipeline.
//
// Errors name the die, what it received and what the plan's choices
// imply, e.g. "lower: die (0,1) receives 0 B from its model-parallel
// group per step; its op groups' schemes imply at least 3.15 GB".
func CheckComm(p *plan.Plan, sp *partition.Space) error {
	if p.Pipeline != nil {
		return fmt.Errorf("lower: %s is a pipeline plan; CheckPipeline checks its communication", p.Model)
	}
	l, err := planLayout(p.Layout, sp)
	if err != nil {
		return err
	}
	groups := p.Groups
	if len(groups) == 0 && len(p.Dies) == l.DP*l.P() {
		for j := range l.DP {
			groups = append(groups, p.Dies[j*l.P():(j+1)*l.P()])
		}
	}
	if len(p.Strategies) == 0 && p.SchemaVersion >= 5 {
		return fmt.Errorf("lower: the plan records no strategies (schema version %d plans record them), so what it must communicate is unknown", p.SchemaVersion)
	}
	cp := commPlan{spec: sp.Spec, layout: l, groups: groups, strategies: p.Strategies, walk: p.Walk}
	return cp.check(sp)
}

// planLayout finds the layout named name among sp's.
func planLayout(name string, sp *partition.Space) (*partition.Layout, error) {
	for i := range sp.Layouts {
		if sp.Layouts[i].Name() == name {
			return &sp.Layouts[i], nil
		}
	}
	return nil, fmt.Errorf("lower: the plan's layout %q is none of the %d layouts of the strategy space; build the space with the options the plan was compiled with", name, len(sp.Layouts))
}

// commPlan is what CheckComm reads of a plan, or of a pipeline stage:
// where names it in errors ("" or "stage 1: ").
type commPlan struct {
	where      string
	spec       *wafer.Spec // the plan's dies' wafer
	layout     *partition.Layout
	groups     [][]wafer.DieID
	strategies []plan.Strategy
	walk       func(func(n *plan.Node, runs int) error) error
}

// commTolerance is the relative slack of the byte bounds: they are sums of
// up to millions of float64 terms.
const commTolerance = 1e-9

func (cp commPlan) check(sp *partition.Space) error {
	l := cp.layout
	P := l.P()
	groupOf, err := cp.groupIndex()
	if err != nil {
		return err
	}
	intra := map[wafer.DieID]float64{}
	cross := map[wafer.DieID]float64{}
	err = cp.walk(func(n *plan.Node, runs int) error {
		for i := range n.Program.Tasks {
			t := &n.Program.Tasks[i]
			if t.Kind != plan.Transfer && t.Kind != plan.Send {
				continue
			}
			gs, ok1 := groupOf[t.Die]
			gd, ok2 := groupOf[t.Dst]
			if !ok1 || !ok2 {
				return fmt.Errorf("lower: %snode %q task %d %q moves data from die %s to die %s; both must be dies of the plan's groups",
					cp.where, n.Name, i, t.Name, dieName(cp.spec, t.Die), dieName(cp.spec, t.Dst))
			}
			if gs == gd {
				intra[t.Dst] += float64(t.Bytes) * float64(runs)
			} else {
				cross[t.Dst] += float64(t.Bytes) * float64(runs)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(cp.strategies) > 0 {
		want, err := cp.groupBounds(sp)
		if err != nil {
			return err
		}
		for _, g := range cp.groups {
			sum := 0.0
			for _, d := range g {
				sum += intra[d]
				if short(intra[d], want.perDie) {
					return fmt.Errorf("lower: %sdie %s receives %s from its model-parallel group per step; its op groups' schemes imply at least %s (collectives, streams and resharding on %d dies; micro-batches per step: %d)",
						cp.where, dieName(cp.spec, d), fileio.Bytes(intra[d]), fileio.Bytes(want.perDie), P, l.MicroBatches(sp.Graph.Batch))
				}
			}
			if total := want.perDie*float64(P) + want.kv; short(sum, total) {
				return fmt.Errorf("lower: %sthe model-parallel group of die %s receives %s per step; its schemes imply at least %s, of which %s of K/V slices",
					cp.where, dieName(cp.spec, g[0]), fileio.Bytes(sum), fileio.Bytes(total), fileio.Bytes(want.kv))
			}
		}
	}
	if dp := dpBound(sp, l); dp > 0 {
		for _, g := range cp.groups {
			for _, d := range g {
				if short(cross[d], dp) {
					return fmt.Errorf("lower: %sdie %s receives %s from the other data-parallel replicas per step; the gradient all-reduce over %d replicas moves at least %s into each die",
						cp.where, dieName(cp.spec, d), fileio.Bytes(cross[d]), l.DP, fileio.Bytes(dp))
				}
			}
		}
	}
	return nil
}

// short says got falls below the bound want.
func short(got, want float64) bool {
	return !(got >= want*(1-commTolerance)) // NaN too
}

// groupIndex maps each die of the plan's groups to its group, checking
// that there are DP groups of P distinct dies.
func (cp commPlan) groupIndex() (map[wafer.DieID]int, error) {
	l := cp.layout
	if len(cp.groups) != l.DP {
		return nil, fmt.Errorf("lower: %sthe plan has %d model-parallel groups; its layout %s has %d", cp.where, len(cp.groups), l.Name(), l.DP)
	}
	of := map[wafer.DieID]int{}
	for j, g := range cp.groups {
		if len(g) != l.P() {
			return nil, fmt.Errorf("lower: %sgroup %d has %d dies; its layout %s has %d per group", cp.where, j, len(g), l.Name(), l.P())
		}
		for _, d := range g {
			if _, dup := of[d]; dup {
				return nil, fmt.Errorf("lower: %sdie %s is in two model-parallel groups", cp.where, dieName(cp.spec, d))
			}
			of[d] = j
		}
	}
	return of, nil
}

// commBounds is what a model-parallel group must receive per step: perDie
// on each die, and kv more over the group.
type commBounds struct {
	perDie, kv float64
}

// groupBounds derives the bounds of CheckComm's first four items from the
// space, the layout and the recorded schemes.
func (cp commPlan) groupBounds(sp *partition.Space) (commBounds, error) {
	l := cp.layout
	g := sp.Graph
	if len(cp.strategies) != len(sp.Groups) {
		return commBounds{}, fmt.Errorf("lower: %sthe plan records %d strategies for the %d op groups of %s", cp.where, len(cp.strategies), len(sp.Groups), g.Name)
	}
	schemes := make([]partition.Scheme, len(sp.Groups))
	degrees := make([]int, len(sp.Groups))
	for gi := range sp.Groups {
		sc, deg, err := strategyScheme(&sp.Groups[gi], l, cp.strategies[gi])
		if err != nil {
			return commBounds{}, fmt.Errorf("lower: %sstrategy %d: %w", cp.where, gi, err)
		}
		schemes[gi], degrees[gi] = sc, deg
	}
	P := l.P()
	if P < 2 {
		return commBounds{}, nil
	}
	Pf := float64(P)
	tokens := float64(l.MicroBatch) * float64(g.Seq)
	micro := float64(l.MicroBatches(g.Batch))
	var b commBounds
	for gi := range sp.Groups {
		grp := &sp.Groups[gi]
		mv := costmodel.DegreeMove(sp.Spec, grp, schemes[gi], Pf, degrees[gi], float64(l.MicroBatch)/float64(g.Batch)/float64(grp.Mult), tokens, g.Seq)
		R := mv.StreamDies(Pf)
		fwd, bwd := passBytes(mv.Fwd, Pf, R), passBytes(mv.Bwd, Pf, R)
		kvs := kvPasses(mv.Fwd) + kvPasses(mv.Bwd)
		if grp.Work.Recomputed(l.Recompute) {
			if !mv.Fwd.Overlap {
				fwd *= 2
			}
			kvs += kvPasses(mv.Fwd)
		}
		b.perDie += micro * float64(grp.Mult) * (fwd + bwd)
		if kvs > 0 {
			dsts := 0
			for _, to := range partition.KVShare(grp.Heads, grp.KVHeads, grp.HeadDim, int64(P)) {
				dsts += len(to)
			}
			b.kv += micro * float64(grp.Mult) * float64(kvs*dsts) * math.Floor(costmodel.KVSlice(tokens, grp, Pf))
		}
		if d := degrees[gi]; d > 0 {
			q := float64(P / d) // the dies holding one weight block
			b.perDie += 2 * (q - 1) / q * math.Floor(2*float64(grp.WeightElems)/float64(d))
		}
	}
	for _, e := range sp.Edges {
		a, to := schemes[e.From].Out(), schemes[e.To].In()
		if e.Out {
			to = schemes[e.To].Out()
		}
		B := math.Floor(2 * tokens * float64(e.Elems))
		switch {
		case a == to:
		case a == partition.Rep || to == partition.Rep: // an all-gather, forward or backward
			b.perDie += micro * float64(e.Mult) * (Pf - 1) / Pf * B
		default: // an all-to-all each way
			b.perDie += micro * float64(e.Mult) * 2 * (Pf - 1) / Pf * B
		}
	}
	return b, nil
}

// passBytes is what one pass delivers into each die of a group of P dies
// whose streams pass R dies (see CheckComm).
func passBytes(ps costmodel.Pass, P, R float64) float64 {
	var b float64
	for _, c := range ps.Comms {
		B := math.Floor(c.Bytes)
		switch c.Kind {
		case "ag", "rs", "a2a":
			b += (P - 1) / P * B
		case "ar":
			b += 2 * (P - 1) / P * B
		default:
			panic("lower: collective of kind " + c.Kind)
		}
	}
	for _, s := range ps.Streams {
		b += (R - 1) * math.Floor(s.Comm.Bytes)
	}
	return b
}

// kvPasses counts a pass's K/V multicasts and gradient reductions
// (costmodel.Pass.KV).
func kvPasses(ps costmodel.Pass) int {
	return min(ps.KV, 2)
}

// strategyScheme reads a recorded strategy against its op group: the
// group's key and layers, a scheme of the group's kind (with a sub-chain
// degree, "relay-w/4", one the layout allows), and that scheme's
// sharding.
func strategyScheme(grp *partition.Group, l *partition.Layout, st plan.Strategy) (partition.Scheme, int, error) {
	if st.Group != grp.Key || st.Layers != grp.Mult {
		return 0, 0, fmt.Errorf("names group %s of %d layers, where the space's is %s of %d", st.Group, st.Layers, grp.Key, grp.Mult)
	}
	name, degree, hasDegree := strings.Cut(st.Scheme, "/")
	sc, err := partition.ParseScheme(name)
	if err != nil {
		return 0, 0, fmt.Errorf("group %s: %w", grp.Key, err)
	}
	// Any scheme of the group's kind, in any family: the space a plan is
	// checked with need not be built with the family it was compiled with.
	if kinds := partition.KindSchemes(grp.Kind); !slices.Contains(kinds, sc) {
		return 0, 0, fmt.Errorf("group %s: scheme %s, which does not partition a group of its kind (%v)", grp.Key, sc, kinds)
	}
	d := 0
	if hasDegree {
		d, err = strconv.Atoi(degree)
		if err != nil || sc != partition.RelayW || !slices.Contains(partition.SubChainDegrees(l), d) {
			return 0, 0, fmt.Errorf("group %s: scheme %q: only relay-w runs on sub-chains, of a degree among %v on layout %s", grp.Key, st.Scheme, partition.SubChainDegrees(l), l.Name())
		}
	}
	if st.In != sc.In().String() || st.Out != sc.Out().String() {
		return 0, 0, fmt.Errorf("group %s: scheme %s reads %s and writes %s, the plan says %s and %s", grp.Key, sc, sc.In(), sc.Out(), st.In, st.Out)
	}
	return sc, d, nil
}

// dpBound is what each die must receive from the other replicas per step:
// a ring all-reduce's 2(d−1)/d of its gradient bytes (2 per owned
// parameter over the P dies of its group — Params/Mult per layer, as
// gradients are produced — and the replicated parameters whole).
func dpBound(sp *partition.Space, l *partition.Layout) float64 {
	if l.DP < 2 {
		return 0
	}
	P := float64(l.P())
	G := math.Floor(2 * sp.ReplicatedParams)
	for _, grp := range sp.Groups {
		if grp.Params > 0 {
			G += float64(grp.Mult) * math.Floor(2*float64(grp.Params)/float64(grp.Mult)/P)
		}
	}
	d := float64(l.DP)
	return 2 * (d - 1) / d * G
}
