package lower

import (
	"tempc/partition"
	"tempc/plan"
)

// work is one layer of one micro-batch of a group, per die of its
// model-parallel group: what partition says the group does, cut to size.
type work struct {
	grp           *partition.Group
	s             partition.Scheme
	P             float64
	per           float64 // one layer, one micro-batch, as a share of the step's work
	x, y, w       float64 // bytes of input, output and weight
	acts, scratch int64   // bytes saved per layer; transient bytes
	k             float64 // load imbalance of uneven head or token splits
}

func (lw *lowerer) work(gi int) work {
	grp := &lw.t.Space.Groups[gi]
	opt := lw.t.Options[gi][lw.a.Options[gi]]
	mem := opt.Price[lw.a.Layout].Mem
	T := lw.tokens()
	wk := work{grp: grp, s: opt.Scheme, P: float64(lw.l.P()),
		per: float64(lw.l.MicroBatch) / float64(lw.t.Space.Graph.Batch) / float64(grp.Mult),
		x:   2 * T * float64(grp.K), y: 2 * T * float64(grp.N), w: 2 * float64(grp.WeightElems),
		acts: int64(mem.Acts / float64(grp.Mult)), scratch: int64(mem.Transient), k: 1}
	P := int64(lw.l.P())
	switch opt.Scheme {
	case partition.Heads:
		wk.k = float64((grp.Heads+P-1)/P*P) / float64(grp.Heads)
	case partition.RingSeq:
		S := lw.t.Space.Graph.Seq
		wk.k = float64((S+P-1)/P*P) / float64(S)
	}
	return wk
}

// split is the divisor of an activation's size per die.
func (wk work) split(a partition.Act) float64 {
	if a == partition.Rep {
		return 1
	}
	return wk.P
}

// forward appends group gi's forward pass (its scheme, then its pointwise
// ops), naming its ops after the group with suffix; alloc says whether it
// saves its activations.
func (st *stager) forward(gi int, alloc bool, suffix string) {
	wk := st.lw.work(gi)
	key := wk.grp.Key + suffix
	W := &wk.grp.Work
	f, h := W.FwdFLOPs*wk.per/wk.P*wk.k, W.FwdHBM*wk.per/wk.P*wk.k
	var ids []plan.TaskID
	switch wk.s {
	case partition.MegatronCol:
		ids = st.compute(key+".fwd", f, h)
	case partition.Heads:
		st.kv(wk.grp, false)
		ids = st.compute(key+".fwd", f, h)
	case partition.MegatronRow, partition.Vocab:
		ids = st.compute(key+".fwd", f, h)
		st.collective("ar", wk.y)
	case partition.SPCol:
		st.collective("ag", wk.x)
		ids = st.compute(key+".fwd", f, h)
	case partition.SPRow, partition.VocabSP:
		ids = st.compute(key+".fwd", f, h)
		st.collective("rs", wk.y)
	case partition.FSDP:
		ids = st.overlap(key+".fwd", f, h, []string{"ag"}, wk.w)
	case partition.RingW, partition.RelayW:
		ids = st.stream(wk.s == partition.RelayW, key+".fwd", wk.w/wk.P, f/wk.P, h/wk.P)
	case partition.RingX, partition.RelayX:
		ids = st.stream(wk.s == partition.RelayX, key+".fwd", wk.x/wk.P, f/wk.P, h/wk.P)
	case partition.RingSeq:
		ids = st.stream(false, key+".fwd", wk.kvBlock(st.lw), f/wk.P, h/wk.P)
	}
	if alloc {
		st.memory(ids, wk.acts, 0, wk.scratch)
	}
	q := wk.per / wk.split(wk.s.Out())
	st.compute(key+".pw.fwd", W.PwFwdFLOPs*q, W.PwFwdHBM*q)
}

// kvBlock is the bytes of K and V of one die's share of the tokens.
func (wk work) kvBlock(lw *lowerer) float64 {
	return 2 * (lw.tokens() / wk.P) * wk.k * 2 * float64(wk.grp.KVHeads*wk.grp.HeadDim)
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
	f, h := W.BwdFLOPs*wk.per/wk.P*wk.k, W.BwdHBM*wk.per/wk.P*wk.k
	var ids []plan.TaskID
	switch wk.s {
	case partition.MegatronCol:
		ids = st.compute(key+".bwd", f, h)
		st.collective("ar", wk.x)
	case partition.MegatronRow, partition.Vocab:
		ids = st.compute(key+".bwd", f, h)
	case partition.Heads:
		st.kv(wk.grp, false)
		ids = st.compute(key+".bwd", f, h)
		st.kv(wk.grp, true)
	case partition.SPCol:
		st.collective("ag", wk.x)
		ids = st.compute(key+".bwd", f, h)
		st.collective("rs", wk.x)
	case partition.SPRow, partition.VocabSP:
		st.collective("ag", wk.y)
		ids = st.compute(key+".bwd", f, h)
	case partition.FSDP:
		ids = st.overlap(key+".bwd", f, h, []string{"ag", "rs"}, wk.w)
	case partition.RingW, partition.RelayW, partition.RingX, partition.RelayX, partition.RingSeq:
		relay := wk.s == partition.RelayW || wk.s == partition.RelayX
		bytes := wk.w / wk.P
		switch wk.s {
		case partition.RingX, partition.RelayX:
			bytes = wk.x / wk.P
		case partition.RingSeq:
			bytes = wk.kvBlock(st.lw)
		}
		ids = st.stream(relay, key+".bwd", bytes, f/(2*wk.P), h/(2*wk.P))
		ids = append(ids, st.stream(relay, key+".bwd", bytes, f/(2*wk.P), h/(2*wk.P))...)
	}
	st.memory(ids, 0, wk.acts, wk.scratch)
	q := wk.per / wk.split(wk.s.Out())
	st.compute(key+".pw.bwd", W.PwBwdFLOPs*q, W.PwBwdHBM*q)
	if st.lw.l.Recompute == partition.Selective {
		st.compute(key+".pw.recompute", W.PwFwdFLOPs*q, W.PwFwdHBM*q)
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
	st.compute("adam", sp.AdamFLOPs/share, sp.AdamHBM/share)
	return plan.Node{Name: "optimizer", Count: 1, Program: &st.prog}
}
