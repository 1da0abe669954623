package lower

import (
	"tempc/costmodel"
	"tempc/partition"
	"tempc/plan"
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
	return work{grp: grp, s: opt.Scheme, P: P, per: per,
		mv:   costmodel.SchemeMove(lw.t.Space.Spec, grp, opt.Scheme, P, per, lw.tokens(), lw.t.Space.Graph.Seq),
		acts: int64(mem.Acts / float64(grp.Mult)), scratch: int64(mem.Transient)}
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
// reduce-scatters; or FSDP's gathers beside the kernels; or the streams.
func (st *stager) pass(wk work, ps costmodel.Pass, op string) []plan.TaskID {
	if ps.KV > 0 {
		st.kv(wk.grp, false)
	}
	var ids []plan.TaskID
	switch {
	case len(ps.Streams) > 0:
		for _, s := range ps.Streams {
			ids = append(ids, st.stream(s.Comm.Kind == "relay", op, StreamSpec{Block: int64(wk.mv.Block), Own: s.Own, Round: s.Round,
				Resident: wk.mv.Resident, Reduce: s.Comm.Reduce})...)
		}
	case ps.Overlap:
		ids = st.overlap(op, ps.Kernel, ps.Comms)
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

// backward appends group gi's backward pass: the recomputed forward under
// full recomputation, its scheme's backward, its pointwise ops' backward,
// and their recomputation under selective recomputation.
func (st *stager) backward(gi int) {
	wk := st.lw.work(gi)
	key := wk.grp.Key
	W := &wk.grp.Work
	if st.lw.l.Recompute == partition.Full && W.Block {
		st.forward(gi, false, ".recompute")
	}
	ids := st.pass(wk, wk.mv.Bwd, key+".bwd")
	st.memory(ids, 0, wk.acts, wk.scratch)
	q := wk.per / wk.split(wk.s.Out())
	st.pointwise(key+".pw.bwd", W.PwBwdFLOPs*q, W.PwBwdHBM*q)
	if st.lw.l.Recompute == partition.Selective {
		st.pointwise(key+".pw.recompute", W.PwFwdFLOPs*q, W.PwFwdHBM*q)
	}
}

// sync is the DP all-reduce of the gradients between corresponding dies
// of the groups.
func (lw *lowerer) sync() plan.Node {
	var p plan.Program
	if lw.l.DP > 1 {
		AllReduce(&p, lw.mp.DP, int64(lw.t.Fixed[lw.a.Layout].Mem.Grads))
	}
	lw.mustRoute(&p)
	prog := p.Split(0)
	return plan.Node{Name: "dp-sync", Count: 1, Program: &prog}
}

// optimizer is each die's Adam step on its share of the weights.
func (lw *lowerer) optimizer() plan.Node {
	st := &stager{lw: lw, next: map[string]int{}}
	share := float64(lw.l.P())
	if lw.l.ZeRO {
		share *= float64(lw.l.DP)
	}
	sp := lw.t.Space
	st.pointwise("adam", sp.AdamFLOPs/share, sp.AdamHBM/share)
	return plan.Node{Name: "optimizer", Count: 1, Program: &st.prog}
}
