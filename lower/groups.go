package lower

import (
	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// work is one layer of one micro-batch of a group, per die of its
// model-parallel group: its scheme's data movement (costmodel.SchemeMove,
// which the cost model priced) and the memory it keeps.
type work struct {
	grp           *partition.Group
	s             partition.Scheme
	P             float64
	per           float64 // one layer, one micro-batch, as a share of the step's work
	mv            costmodel.Move
	acts, scratch int64 // bytes saved per layer; transient bytes
}

func (lw *lowerer) work(gi int) work {
	grp := &lw.t.Space.Groups[gi]
	opt := lw.t.Options[gi][lw.a.Options[gi]]
	mem := opt.Price[lw.a.Layout].Mem
	P := float64(lw.l.P())
	per := float64(lw.l.MicroBatch) / float64(lw.t.Space.Graph.Batch) / float64(grp.Mult)
	scratch := int64(mem.Transient)
	if opt.Scheme == partition.FSDP && !grp.Work.Block {
		scratch -= lw.gathered(grp) // allocated by the pass itself (fsdpPass)
	}
	return work{grp: grp, s: opt.Scheme, P: P, per: per,
		mv:   costmodel.DegreeMove(lw.t.Space.Spec, grp, opt.Scheme, P, opt.Degree, per, lw.tokens(), lw.t.Space.Graph.Seq),
		acts: int64(mem.Acts / float64(grp.Mult) / float64(max(lw.t.InFlight, 1))), scratch: scratch}
}

// split is the divisor of an activation's size per die.
func (wk work) split(a partition.Act) float64 {
	if a == partition.Rep {
		return 1
	}
	return wk.P
}

// pass appends one pass of a group's scheme: K/V slice multicasts before a
// heads-split attention (and the reduction of their gradients after it in
// the backward pass); all-gathers, the kernels, then all-reduces and
// reduce-scatters; Megatron's backward overlap; FSDP's kernels on
// prefetched weights; or the streams.
func (st *stager) pass(wk work, ps costmodel.Pass, op string) []plan.TaskID {
	if ps.KV > 0 {
		st.kv(wk.grp, false)
	}
	var ids []plan.TaskID
	switch {
	case len(ps.Streams) > 0:
		for _, s := range ps.Streams {
			ids = append(ids, st.stream(s.Comm.Kind == "relay", wk.mv.Degree, op, StreamSpec{Block: int64(wk.mv.Block), Own: s.Own, Round: s.Round,
				Resident: wk.mv.Resident, Reduce: s.Comm.Reduce})...)
		}
	case ps.Overlap:
		ids = st.fsdpPass(wk, ps, op)
	case ps.Grad.FLOPs > 0 && len(ps.Comms) > 0:
		ids = st.gradOverlap(ps, op)
	default:
		for _, c := range ps.Comms {
			if c.Kind == "ag" {
				st.collective(c.Kind, c.Bytes)
			}
		}
		ids = st.kernel(op, ps.Kernel)
		for _, c := range ps.Comms {
			if c.Kind != "ag" {
				st.collective(c.Kind, c.Bytes)
			}
		}
	}
	if ps.KV > 1 {
		st.kv(wk.grp, true)
	}
	return ids
}

// fsdpPass is an FSDP pass: the kernels, on weights gathered before them
// — in a layer block by the run before (gatherFSDP), elsewhere here,
// exposed — and the gradient's reduce-scatter after them, in the
// background: nothing of the step but the optimizer reads it. A layer
// block's gathered weights are freed after its last FSDP kernel (release).
func (st *stager) fsdpPass(wk work, ps costmodel.Pass, op string) []plan.TaskID {
	before, _, after := ps.Phases()
	gathers, rest := comms(ps, before), comms(ps, after)
	var ids []plan.TaskID
	if wk.grp.Work.Block {
		ids = st.kernel(op, ps.Kernel)
		b := st.prog.Buffer(fsdpCur + "." + wk.grp.Key)
		for _, id := range ids {
			st.prog.Tasks[id].Reads = append(st.prog.Tasks[id].Reads, b)
		}
		st.fsdpKernels = append(st.fsdpKernels, ids...)
	} else {
		from := len(st.prog.Tasks)
		for _, c := range gathers {
			st.collective(c.Kind, c.Bytes)
		}
		bytes := st.lw.gathered(wk.grp)
		st.allocFirst(from, bytes)
		ids = st.kernel(op, ps.Kernel)
		freeLast(&st.prog, ids, bytes)
	}
	st.beside(rest)
	return ids
}

// gradOverlap is Megatron's backward overlap (Megatron-LM's
// column-parallel backward): the pass's kernel split into the data
// gradient and the weight gradient (Pass.Grad); an all-gather whose
// tensor only the weight gradient reads runs beside the data gradient,
// other all-gathers before it; the reduction of the data gradient
// (all-reduce or reduce-scatter) runs beside the weight gradient.
func (st *stager) gradOverlap(ps costmodel.Pass, op string) []plan.TaskID {
	before, beside, after := ps.Phases()
	for _, c := range comms(ps, before) {
		st.collective(c.Kind, c.Bytes)
	}
	g := st.beside(comms(ps, beside))
	ids := st.kernel(op, ps.Kernel.Less(ps.Grad))
	st.front = append(st.front, g...)
	r := st.beside(comms(ps, after))
	ids = append(ids, st.kernel(op, ps.Grad)...)
	st.front = append(st.front, r...)
	return ids
}

// comms is the collectives idx of a pass (costmodel.Pass.Phases).
func comms(ps costmodel.Pass, idx []int) []costmodel.Comm {
	out := make([]costmodel.Comm, len(idx))
	for k, i := range idx {
		out[k] = ps.Comms[i]
	}
	return out
}

// freeLast frees bytes at the last of ids on each die.
func freeLast(p *plan.Program, ids []plan.TaskID, bytes int64) {
	last := map[wafer.DieID]plan.TaskID{}
	for _, id := range ids {
		last[p.Tasks[id].Die] = id
	}
	for _, id := range last {
		p.Tasks[id].Free += bytes
	}
}

// gathered is the bytes of a group's weight (with its bias) that FSDP
// gathers on every die, as costmodel.SchemeMove counts them; none on a
// group of one die, which holds its weights whole.
func (lw *lowerer) gathered(grp *partition.Group) int64 {
	if len(lw.rings[0]) < 2 {
		return 0
	}
	return int64(2 * float64(grp.WeightElems))
}

// buckets gathers a backward pass's gradients into DP all-reduce buckets
// of cap bytes per die, as PyTorch DDP does (and Megatron-LM's overlapped
// gradient reduction): a bucket is all-reduced over the DP rings as soon
// as the gradients filling it are computed, beside the rest of the
// backward pass, one bucket after another. Buckets do not straddle
// blocks: a block's last bucket is sent at its end, however full.
type buckets struct {
	cap     int64
	pending int64
	ready   []plan.TaskID // the kernels that computed the pending gradients
	last    []plan.TaskID // the end of the latest bucket's all-reduce
}

// add adds the gradients of bytes per die computed by ids.
func (b *buckets) add(st *stager, ids []plan.TaskID, bytes int64) {
	b.pending += bytes
	b.ready = append(b.ready, ids...)
	for b.pending >= b.cap && b.cap > 0 {
		b.send(st, b.cap)
	}
}

// flush sends what is pending (and, in the step's last block, the
// replicated weights' gradients).
func (b *buckets) flush(st *stager, final bool) {
	if final {
		b.pending += int64(2 * st.lw.t.Space.ReplicatedParams)
	}
	if b.pending > 0 {
		b.send(st, b.pending)
	}
}

func (b *buckets) send(st *stager, bytes int64) {
	after := append(append([]plan.TaskID(nil), b.ready...), b.last...)
	b.last = AllReduce(&st.prog, st.lw.mp.DP, bytes, after...).Last
	b.pending -= bytes
	if b.pending == 0 {
		b.ready = b.ready[:0]
	}
}

// forward appends group gi's forward pass (its scheme, then its pointwise
// ops), naming its ops after the group with suffix; alloc says whether it
// saves its activations.
func (st *stager) forward(gi int, alloc bool, suffix string) {
	wk := st.lw.work(gi)
	key := wk.grp.Key + suffix
	W := &wk.grp.Work
	ids := st.pass(wk, wk.mv.Fwd, key+".fwd")
	if alloc {
		st.memory(ids, wk.acts, 0, wk.scratch)
	}
	q := wk.per / wk.split(wk.s.Out())
	st.pointwise(key+".pw.fwd", W.PwFwdFLOPs*q, W.PwFwdHBM*q)
}

// backward appends group gi's backward pass: the recomputed forward
// (partition.Work.Recomputed), its scheme's backward, its pointwise ops'
// backward, and otherwise under selective recomputation their forward.
func (st *stager) backward(gi int) {
	wk := st.lw.work(gi)
	key := wk.grp.Key
	W := &wk.grp.Work
	again := W.Recomputed(st.lw.l.Recompute)
	if again {
		st.forward(gi, false, ".recompute")
	}
	ids := st.pass(wk, wk.mv.Bwd, key+".bwd")
	st.memory(ids, 0, wk.acts, wk.scratch)
	if st.grads != nil && wk.grp.Params > 0 {
		st.grads.add(st, ids, int64(2*float64(wk.grp.Params)/float64(wk.grp.Mult)/wk.P))
	}
	q := wk.per / wk.split(wk.s.Out())
	st.pointwise(key+".pw.bwd", W.PwBwdFLOPs*q, W.PwBwdHBM*q)
	if st.lw.l.Recompute == partition.Selective && !again {
		st.pointwise(key+".pw.recompute", W.PwFwdFLOPs*q, W.PwFwdHBM*q)
	}
}

// optimizer is each die's Adam step on its share of the weights, after a
// barrier: the step waits for every gradient (and every bucket's
// all-reduce) first, as optimizer.step() does after backward().
func (lw *lowerer) optimizer() plan.Node {
	st := &stager{lw: lw, next: map[string]int{}}
	share := float64(lw.l.P())
	if lw.l.ZeRO {
		share *= float64(lw.l.DP)
	}
	sp := lw.t.Space
	// A sub-chain stream's gradient is reduce-scattered among the dies
	// holding the same weight block, leaving each its share, and the
	// updated weights are all-gathered back (costmodel's subChainSync).
	peers := func(gather bool) {
		for gi := range sp.Groups {
			opt := lw.t.Options[gi][lw.a.Options[gi]]
			if opt.Degree == 0 {
				continue
			}
			rings := partition.SubChainPeers(lw.chains, opt.Degree)
			b := int64(2 * float64(sp.Groups[gi].WeightElems) / float64(opt.Degree))
			if gather {
				st.advance(AllGather(&st.prog, rings, b, st.front...).Last)
			} else {
				st.advance(ReduceScatter(&st.prog, rings, b, st.front...).Last)
			}
		}
	}
	peers(false)
	st.pointwise("adam", sp.AdamFLOPs/share, sp.AdamHBM/share)
	peers(true)
	for _, id := range st.front {
		st.prog.Tasks[id].Out = true // the step's result: the updated weights
	}
	return plan.Node{Name: "optimizer", Count: 1, Barrier: true, Program: &st.prog}
}
