package lower

import (
	"slices"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// stager appends stages to one block's program. A stage's work on a die
// waits for the die's front: the tasks of the stages before whose results
// are on that die (the builders' after, see Home). There is no barrier
// between stages: a die whose data is ready goes on.
type stager struct {
	lw    *lowerer
	prog  plan.Program
	front []plan.TaskID
	next  map[string]int // next block index of each op
	// prefetch ends the gathers of the next layer's FSDP weights, which the
	// next run's kernels read (out tasks); grads, when not nil, buckets the
	// gradients for the DP all-reduce beside the backward pass.
	prefetch []plan.TaskID
	grads    *buckets
	// fsdpKernels are the kernels of the block's FSDP layer groups, after
	// the last of which a die frees the layer's gathered weights.
	fsdpKernels []plan.TaskID
}

func (lw *lowerer) block(name string, groups []int, ps pass, es edgeSet, sync bool) plan.Node {
	st := &stager{lw: lw, next: map[string]int{}}
	if sync && lw.l.DP > 1 && (ps == bwd || ps == both) {
		st.grads = &buckets{cap: lw.bucket}
	}
	layer := es == edgesFirst || es == edgesRest
	if ps == fwd || ps == both {
		if layer {
			st.gatherFSDP(groups, es == edgesFirst, partition.FSDP, partition.FSDPKeep)
		}
		for _, gi := range groups {
			st.edges(gi, es, fwd)
			st.forward(gi, true, "")
		}
	}
	if ps == bwd || ps == both {
		if layer && es == edgesRest {
			st.gatherFSDP(groups, false, partition.FSDP) // fsdp-keep's weights are still there
		}
		for i := len(groups) - 1; i >= 0; i-- {
			st.backward(groups[i])
			st.edges(groups[i], es, bwd)
		}
	}
	if st.grads != nil {
		st.grads.flush(st, name == "bwd.pre")
	}
	if layer {
		st.release(groups, ps, es)
	}
	for _, id := range append(st.front, st.prefetch...) {
		st.prog.Tasks[id].Out = true
	}
	lw.mustRoute(&st.prog)
	prog := st.prog.Split(0)
	return plan.Node{Name: name, Count: 1, Program: &prog}
}

// advance makes last the front on the dies it ends on; the other dies
// keep theirs.
func (st *stager) advance(last []plan.TaskID) {
	on := byDie(&st.prog, last)
	var keep []plan.TaskID
	for _, id := range st.front {
		if _, ok := on[plan.Home(&st.prog.Tasks[id])]; !ok {
			keep = append(keep, id)
		}
	}
	st.front = append(keep, last...)
}

// release frees, after a layer block's last FSDP kernel on each die, the
// gathered weights its run is done with: fsdp's after every run;
// fsdp-keep's, kept from the layer's forward run, after its backward run,
// and in the backward's last run (the first layer's) also the weights the
// forward's last run prefetched for a backward pass that needed none.
func (st *stager) release(groups []int, ps pass, es edgeSet) {
	_, bytes := st.fsdp(groups, partition.FSDP)
	if ps == bwd || ps == both {
		_, keep := st.fsdp(groups, partition.FSDPKeep)
		bytes += keep
		if es == edgesFirst {
			bytes += keep
		}
	}
	if bytes > 0 {
		freeLast(&st.prog, st.fsdpKernels, bytes)
	}
}

// fsdp lists the groups of a layer block that run one of schemes (fsdp
// or fsdp-keep: their weights gathered per layer), with the bytes of
// their gathered weights per die (which a group of one die holds already:
// nothing is gathered then).
func (st *stager) fsdp(groups []int, schemes ...partition.Scheme) (gs []int, bytes int64) {
	for _, gi := range groups {
		if slices.Contains(schemes, st.lw.scheme(gi)) {
			gs = append(gs, gi)
			bytes += st.lw.gathered(&st.lw.t.Space.Groups[gi])
		}
	}
	return gs, bytes
}

// gatherFSDP appends the all-gathers of FSDP weights at the start of a
// layer block, as PyTorch FSDP prefetches them: the next layer's, beside
// this layer's kernels, which read the weights the run before gathered
// (the handoff: its gathers are out tasks). In the step's first layer
// block (own) this layer's weights are gathered first, before its
// kernels. The gathered weights are allocated on each die when its part
// of the gather starts and freed after the layer's last kernel (see
// release). The last forward layer's prefetch is of the weights the
// first backward layer reads, and the backward's first layer block
// prefetches nothing. schemes are the groups' schemes gathered here: the
// backward pass gathers fsdp's, not fsdp-keep's.
func (st *stager) gatherFSDP(groups []int, own bool, schemes ...partition.Scheme) {
	gs, bytes := st.fsdp(groups, schemes...)
	if bytes == 0 {
		return
	}
	// gather returns the ends of every group's gather: the kernels read
	// them all (one group's gather ending on a die does not mean the one
	// before has ended there).
	gather := func(buf string, after []plan.TaskID) []plan.TaskID {
		from := len(st.prog.Tasks)
		var all []plan.TaskID
		for _, gi := range gs {
			grp := &st.lw.t.Space.Groups[gi]
			b := st.prog.Buffer(buf + "." + grp.Key)
			after = AllGather(&st.prog, st.lw.rings, st.lw.gathered(grp), after...).Last
			for _, id := range after {
				st.prog.Tasks[id].Writes = append(st.prog.Tasks[id].Writes, b)
			}
			all = append(all, after...)
		}
		st.allocFirst(from, bytes)
		return all
	}
	if own {
		st.advance(gather(fsdpCur, st.front))
	}
	st.prefetch = gather(fsdpNext, nil)
}

// The buffers of a layer's gathered FSDP weights (one per group, named
// after it): the current layer's, which its kernels read, and the next
// layer's, which the run after reads as its current ones.
const (
	fsdpCur  = "fsdp.weights"
	fsdpNext = "fsdp.weights.next"
)

// allocFirst allocates bytes on each die at its first task since from.
func (st *stager) allocFirst(from int, bytes int64) {
	seen := map[wafer.DieID]bool{}
	for i := from; i < len(st.prog.Tasks); i++ {
		if t := &st.prog.Tasks[i]; !seen[t.Die] {
			seen[t.Die] = true
			t.Alloc += bytes
		}
	}
}

// mustRoute routes a block's transfers; the mapping was checked when it
// was priced, so a failure here is a bug.
func (lw *lowerer) mustRoute(p *plan.Program) {
	if err := lw.route(p); err != nil {
		panic(err)
	}
}

// dies lists every die of every group, ring by ring.
func (st *stager) dies() []wafer.DieID {
	var out []wafer.DieID
	for _, r := range st.lw.rings {
		out = append(out, r...)
	}
	return out
}

// mark names the compute tasks appended since task from that do work
// with op, numbering their blocks, and returns them. (Work-free tasks —
// an all-to-all's joins, a stage with nothing to do — compute no block.)
func (st *stager) mark(from int, op string) []plan.TaskID {
	var ids []plan.TaskID
	for i := from; i < len(st.prog.Tasks); i++ {
		t := &st.prog.Tasks[i]
		if t.Kind == plan.Compute && t.Op == "" && (t.FLOPs > 0 || t.HBMBytes > 0) {
			t.Op, t.Block = op, st.next[op]
			st.next[op]++
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// memory sets the memory of a group's compute slices on each die: the
// first task on a die allocates alloc bytes, the last frees free bytes,
// and every one uses scratch bytes while it runs.
func (st *stager) memory(ids []plan.TaskID, alloc, free, scratch int64) {
	first := map[wafer.DieID]bool{}
	last := map[wafer.DieID]plan.TaskID{}
	for _, id := range ids {
		t := &st.prog.Tasks[id]
		if !first[t.Die] {
			first[t.Die] = true
			t.Alloc += alloc
		}
		t.Scratch = scratch
		last[t.Die] = id
	}
	for _, id := range last {
		st.prog.Tasks[id].Free += free
	}
}

// kernel appends one kernel on every die.
func (st *stager) kernel(op string, k costmodel.Kernel) []plan.TaskID {
	from := len(st.prog.Tasks)
	var last []plan.TaskID
	on := byDie(&st.prog, st.front)
	for _, d := range st.dies() {
		last = append(last, AddKernel(&st.prog, op, d, k, on[d]...))
	}
	st.advance(last)
	return st.mark(from, op)
}

// pointwise appends a memory-bound kernel of flops FLOPs moving hbm bytes
// on every die.
func (st *stager) pointwise(op string, flops, hbm float64) []plan.TaskID {
	return st.kernel(op, costmodel.Kernel{FLOPs: flops, Efficiency: 1, HBMRead: hbm})
}

// AddKernel appends a compute task doing kernel k on die d: its FLOPs, HBM
// and SRAM bytes, and its efficiency.
func AddKernel(p *plan.Program, name string, d wafer.DieID, k costmodel.Kernel, deps ...plan.TaskID) plan.TaskID {
	id := p.Compute(name, d, k.FLOPs, k.HBM(), deps...)
	t := &p.Tasks[id]
	t.SRAMBytes = k.SRAM
	if k.FLOPs > 0 && k.Efficiency < 1 {
		t.Efficiency = k.Efficiency
	}
	return id
}

// collective appends a ring collective of bytes per die on every group.
func (st *stager) collective(kind string, bytes float64) {
	if len(st.lw.rings[0]) < 2 || bytes <= 0 {
		return
	}
	b := int64(bytes)
	var f Fragment
	switch kind {
	case "ar":
		f = AllReduce(&st.prog, st.lw.rings, b, st.front...)
	case "ag":
		f = AllGather(&st.prog, st.lw.rings, b, st.front...)
	case "rs":
		f = ReduceScatter(&st.prog, st.lw.rings, b, st.front...)
	case "a2a":
		f = AllToAll(&st.prog, st.lw.chains, b, st.front...)
	}
	st.advance(f.Last)
}

// kv multicasts the K and V slices of attention group grp to the dies
// that read them (partition.KVShare), or with reduce sums their gradients
// back to the dies that hold them, on every group at once.
func (st *stager) kv(grp *partition.Group, reduce bool) {
	lw := st.lw
	P := int64(lw.l.P())
	share := partition.KVShare(grp.Heads, grp.KVHeads, grp.HeadDim, P)
	if share == nil {
		return
	}
	var trees []wafer.Tree
	for _, ch := range lw.chains {
		trees = append(trees, partition.KVTrees(ch, share)...)
	}
	b := int64(costmodel.KVSlice(lw.tokens(), grp, float64(P)))
	if reduce {
		st.advance(Reduce(&st.prog, trees, b, st.front...).Last)
	} else {
		st.advance(Multicast(&st.prog, trees, b, st.front...).Last)
	}
}

// stream appends a TSPP ring or TATP relay stream; a relay of degree
// (not zero) runs on every group's sub-chains of that many dies.
func (st *stager) stream(relay bool, degree int, op string, sp StreamSpec) []plan.TaskID {
	from := len(st.prog.Tasks)
	var f Fragment
	switch {
	case relay && degree > 0:
		f = RelayStream(&st.prog, partition.SubChains(st.lw.chains, degree), sp, st.front...)
	case relay:
		f = RelayStream(&st.prog, st.lw.chains, sp, st.front...)
	default:
		f = RingStream(&st.prog, st.lw.rings, sp, st.front...)
	}
	st.advance(f.Last)
	return st.mark(from, op)
}

// beside appends collectives that run one after another beside the
// stage's other work, starting from the die's front then; it returns
// what they end with and leaves the front where it was.
func (st *stager) beside(comms []costmodel.Comm) []plan.TaskID {
	start := st.front
	for _, c := range comms {
		st.collective(c.Kind, c.Bytes)
	}
	var last []plan.TaskID
	on := byDie(&st.prog, start)
	for _, id := range st.front {
		if !slices.Contains(on[plan.Home(&st.prog.Tasks[id])], id) {
			last = append(last, id)
		}
	}
	st.front = start
	return last
}

// edges appends the resharding of the edges into group gi that belong to
// this block, in the given pass: gathering a split activation (forward,
// when the consumer wants it whole; backward, for the gradient of a
// replicated one) or switching its split dimension (both passes).
func (st *stager) edges(gi int, es edgeSet, ps pass) {
	lw := st.lw
	sp := lw.t.Space
	for _, e := range sp.Edges {
		if e.To != gi {
			continue
		}
		copies := lw.edgeCopies(e, es)
		if copies == 0 {
			continue
		}
		a := lw.scheme(e.From).Out()
		b := lw.scheme(e.To).In()
		if e.Out {
			b = lw.scheme(e.To).Out()
		}
		bytes := 2 * lw.tokens() * float64(e.Elems)
		for range copies {
			switch {
			case a == b:
			case a == partition.Rep || b == partition.Rep:
				if (a != partition.Rep) == (ps == fwd) {
					st.collective("ag", bytes)
				}
			default:
				st.collective("a2a", bytes)
			}
		}
	}
}

// edgeCopies is how many times per run of a block of set es the edge
// occurs (see Lower).
func (lw *lowerer) edgeCopies(e partition.Edge, es edgeSet) int {
	pos := func(gi int) (where int, idx int) { // 0 pre, 1 block, 2 post
		for i, g := range lw.blk {
			if g == gi {
				return 1, i
			}
		}
		for _, g := range lw.pre {
			if g == gi {
				return 0, 0
			}
		}
		return 2, 0
	}
	fw, fi := pos(e.From)
	tw, ti := pos(e.To)
	L := lw.layers()
	switch {
	case fw == 1 && tw == 1 && fi < ti: // within a layer
		if es == edgesFirst || es == edgesRest {
			return e.Mult / L
		}
	case fw == 1 && tw == 1: // from the layer before
		if es == edgesRest {
			return e.Mult / (L - 1)
		}
	case tw == 1: // from a pre-block group into layer 0
		if es == edgesFirst {
			return e.Mult
		}
	case tw == 2:
		if es == edgesPost {
			return e.Mult
		}
	case tw == 0:
		if es == edgesPre {
			return e.Mult
		}
	}
	return 0
}

func (lw *lowerer) tokens() float64 {
	return float64(lw.l.MicroBatch) * float64(lw.t.Space.Graph.Seq)
}
