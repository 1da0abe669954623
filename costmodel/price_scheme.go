package costmodel

import (
	"fmt"

	"tempc/partition"
)

// phase is the time of one pass (forward or backward) of one layer of one
// micro-batch, and the traffic it puts on the group's links.
type phase struct {
	compute, comm, total float64
	flows                []Flow
}

// serial is compute then communication (a blocking collective).
func serial(compute float64, cs ...Cost) phase {
	ph := phase{compute: compute, total: compute}
	for _, c := range cs {
		ph.comm += c.Seconds
		ph.total += c.Seconds
		ph.flows = append(ph.flows, c.Flows...)
	}
	return ph
}

// overlapped is compute hidden behind (or hiding) communication, as when
// FSDP prefetches the next weight gather.
func overlapped(compute float64, cs ...Cost) phase {
	ph := serial(compute, cs...)
	ph.total = max(compute, ph.comm)
	ph.comm = ph.total - compute
	return ph
}

// streamed is a stream whose rounds overlap compute; its exposed
// communication is what exceeds the compute.
func streamed(compute float64, cs ...Cost) phase {
	ph := phase{compute: compute}
	for _, c := range cs {
		ph.total += c.Seconds
		ph.flows = append(ph.flows, c.Flows...)
	}
	ph.comm = max(0, ph.total-compute)
	return ph
}

// split is the divisor of an activation's size per die in a layout.
func (lc *layoutCtx) split(a partition.Act) float64 {
	if a == partition.Rep {
		return 1
	}
	return lc.P
}

// valid reports whether scheme can run on the layout's group.
func (lc *layoutCtx) valid(grp *partition.Group, s partition.Scheme) bool {
	P := int64(lc.P)
	if P == 1 {
		return s == grp.Schemes[0] // on one die every scheme is the same
	}
	switch s {
	case partition.Heads:
		return grp.Heads >= P
	case partition.RingSeq:
		return lc.pricer.g.Seq >= P
	}
	return true
}

// imbalance is how much longer the busiest die works than an even share
// when n heads or tokens are dealt to the group's dies: ⌈n/P⌉/(n/P).
func (lc *layoutCtx) imbalance(n int64) float64 {
	P := int64(lc.P)
	return float64((n+P-1)/P*P) / float64(n)
}

// option prices scheme s of group gi for the whole step.
func (lc *layoutCtx) option(gi int, s partition.Scheme) (Price, bool) {
	grp := &lc.sp.Groups[gi]
	if !lc.valid(grp, s) {
		return Price{}, false
	}
	gr := &grp.Work
	layers := float64(grp.Mult)
	per := lc.frac / layers // one layer, one micro-batch
	fwd, bwd := lc.scheme(grp, gr, s, per)
	// Pointwise ops run in the group's output layout: replicated work is
	// done by every die.
	k := per / lc.split(s.Out())
	pwF := lc.m.Compute(gr.PwFwdFLOPs*k, gr.PwFwdHBM*k)
	pwB := lc.m.Compute(gr.PwBwdFLOPs*k, gr.PwBwdHBM*k)
	fwd.compute += pwF
	fwd.total += pwF
	bwd.compute += pwB
	bwd.total += pwB
	// Recomputation repeats forward work in the backward pass.
	switch lc.l.Recompute {
	case partition.Selective:
		bwd.compute += pwF
		bwd.total += pwF
	case partition.Full:
		if gr.Block {
			bwd.compute += fwd.compute
			bwd.comm += fwd.comm
			bwd.total += fwd.total
			bwd.flows = append(bwd.flows, fwd.flows...)
		}
	}
	reps := layers * lc.microBatches
	pr := Price{Seconds: (fwd.total + bwd.total) * reps, Compute: (fwd.compute + bwd.compute) * reps,
		Comm: (fwd.comm + bwd.comm) * reps}
	flows := append(fwd.flows, bwd.flows...)
	pr.Traffic = trafficPerDie(flows, lc.P) * reps
	pr.Mem = lc.mem(grp, gr, s, per)
	pr.Parts = lc.energy(gr, s, flows, reps)
	return pr, true
}

// scheme returns one layer's forward and backward pass of one micro-batch.
func (lc *layoutCtx) scheme(grp *partition.Group, gr *partition.Work, s partition.Scheme, per float64) (phase, phase) {
	P := lc.P
	cf := lc.m.Compute(gr.FwdFLOPs*per/P, gr.FwdHBM*per/P)
	cb := lc.m.Compute(gr.BwdFLOPs*per/P, gr.BwdHBM*per/P)
	T := lc.tokens
	x := 2 * T * float64(grp.K)       // input activation bytes
	y := 2 * T * float64(grp.N)       // output activation bytes
	w := 2 * float64(grp.WeightElems) // weight bytes
	c := lc.collective
	switch s {
	case partition.MegatronCol:
		return serial(cf), serial(cb, c("ar", x, 0))
	case partition.MegatronRow:
		return serial(cf, c("ar", y, 0)), serial(cb)
	case partition.SPCol:
		return serial(cf, c("ag", x, 0)), serial(cb, c("ag", x, 0), c("rs", x, 0))
	case partition.SPRow:
		return serial(cf, c("rs", y, 0)), serial(cb, c("ag", y, 0))
	case partition.FSDP:
		return overlapped(cf, c("ag", w, 0)), overlapped(cb, c("ag", w, 0), c("rs", w, 0))
	case partition.RingW, partition.RelayW:
		k := kindOf(s)
		return streamed(cf, c(k, w/P, cf/P)), streamed(cb, c(k, w/P, cb/(2*P)), c(k, w/P, cb/(2*P)))
	case partition.RingX, partition.RelayX:
		k := kindOf(s)
		return streamed(cf, c(k, x/P, cf/P)), streamed(cb, c(k, x/P, cb/(2*P)), c(k, x/P, cb/(2*P)))
	case partition.Heads:
		// Dies whose query heads read KV heads held by other dies get those
		// K and V slices by multicast before the attention, in both passes,
		// and send the slices' gradients back by the reverse reduction.
		k := lc.imbalance(grp.Heads)
		kv := lc.kvShare(grp)
		return serial(cf*k, kv), serial(cb*k, kv, kv)
	case partition.RingSeq:
		k := lc.imbalance(lc.pricer.g.Seq)
		kv := 2 * (T / P) * k * 2 * float64(grp.KVHeads*grp.HeadDim) // K and V of ⌈S/P⌉ tokens
		return streamed(cf*k, c("ring", kv, cf*k/P)), streamed(cb*k, c("ring", kv, cb*k/(2*P)), c("ring", kv, cb*k/(2*P)))
	case partition.Vocab:
		return serial(cf, c("ar", y, 0)), serial(cb)
	case partition.VocabSP:
		return serial(cf, c("rs", y, 0)), serial(cb, c("ag", y, 0))
	}
	panic("costmodel: unpriced scheme " + s.String())
}

func kindOf(s partition.Scheme) string {
	if s == partition.RelayW || s == partition.RelayX {
		return "relay"
	}
	return "ring"
}

// mem is what scheme s keeps per die beyond weights, gradients and
// optimizer states (which every scheme shards by the group size; they are
// in the layout's fixed price).
func (lc *layoutCtx) mem(grp *partition.Group, gr *partition.Work, s partition.Scheme, per float64) Mem {
	layers := float64(grp.Mult)
	var acts float64
	switch lc.l.Recompute {
	case partition.NoRecompute:
		acts = gr.SavedIn*per/lc.split(s.In()) + gr.SavedOut*per/lc.split(s.Out()) + gr.PwSaved*per/lc.split(s.Out())
	case partition.Selective:
		acts = gr.SavedIn*per/lc.split(s.In()) + gr.SavedOut*per/lc.split(s.Out())
	case partition.Full:
		if gr.Head {
			acts = gr.SavedIn * per / lc.split(s.In())
		}
	}
	P, T := lc.P, lc.tokens
	var tr float64
	switch s {
	case partition.SPCol:
		tr = 2 * T * float64(grp.K)
	case partition.SPRow, partition.Vocab, partition.VocabSP:
		tr = 2 * T * float64(grp.N)
	case partition.FSDP:
		tr = 2 * 2 * float64(grp.WeightElems) // the gathered weight and its full gradient
	case partition.RingW:
		tr = 2 * 2 * float64(grp.WeightElems) / P // double-buffered weight block
	case partition.RelayW:
		tr = 4 * 2 * float64(grp.WeightElems) / P // both directions
	case partition.RingX:
		tr = 2 * 2 * T * float64(grp.K) / P
	case partition.RelayX:
		tr = 4 * 2 * T * float64(grp.K) / P
	case partition.RingSeq:
		tr = 2 * 2 * (T / P) * 2 * float64(grp.KVHeads*grp.HeadDim)
	case partition.Heads:
		if partition.KVShare(grp.Heads, grp.KVHeads, grp.HeadDim, int64(P)) != nil {
			tr = 2 * 2 * T * float64(grp.HeadDim*partition.KVNeeded(grp.Heads, grp.KVHeads, int64(P))) // whole K and V heads
		}
	}
	return Mem{Acts: acts * layers, Transient: tr}
}

// kvShare prices the multicast of K and V slices to the dies that read
// them (partition.KVShare) along each group's chain, on the slowest group;
// zero when every die holds the KV heads it reads.
func (lc *layoutCtx) kvShare(grp *partition.Group) Cost {
	share := partition.KVShare(grp.Heads, grp.KVHeads, grp.HeadDim, int64(lc.P))
	if share == nil {
		return Cost{}
	}
	bytes := KVSlice(lc.tokens, grp, lc.P)
	var worst Cost
	for g, chain := range lc.mp.Chains {
		key := fmt.Sprintf("kv/%d/%d/%d/%g/%s", grp.Heads, grp.KVHeads, grp.HeadDim, bytes, lc.chainShape[g])
		c, ok := lc.cache[key]
		if !ok {
			var err error
			if c, err = lc.m.Multicast(partition.KVTrees(chain, share), bytes); err != nil {
				lc.fail(fmt.Errorf("K/V multicast of %g bytes: %w", bytes, err))
			}
			lc.cache[key] = c
		}
		if c.Seconds >= worst.Seconds {
			worst = c
		}
	}
	return worst
}

// KVSlice is the bytes of the K and V columns one die of P holds for
// tokens tokens (bf16).
func KVSlice(tokens float64, grp *partition.Group, P float64) float64 {
	return 2 * 2 * tokens * float64(partition.KVSliceColumns(grp.KVHeads, grp.HeadDim, int64(P)))
}

// energy of a group's step: its FLOPs (pointwise work repeated on every die
// when replicated), HBM traffic, and D2D traffic on every group.
func (lc *layoutCtx) energy(gr *partition.Work, s partition.Scheme, flows []Flow, reps float64) Joules {
	rep := 1.0
	if s.Out() == partition.Rep {
		rep = lc.P
	}
	flops := gr.FwdFLOPs + gr.BwdFLOPs + rep*(gr.PwFwdFLOPs+gr.PwBwdFLOPs)
	hbm := gr.FwdHBM + gr.BwdHBM + rep*(gr.PwFwdHBM+gr.PwBwdHBM)
	return lc.m.EnergyOf(flops, hbm, nil).Add(lc.m.EnergyOf(0, 0, flows).Scale(reps * float64(lc.l.DP)))
}

func trafficPerDie(flows []Flow, P float64) float64 {
	var b float64
	for _, f := range flows {
		b += f.Bytes
	}
	return b / P
}

// edge prices resharding between two layouts of an activation: slicing is
// free; gathering a split tensor is an all-gather (in the forward pass when
// the consumer wants it whole, in the backward pass for the gradient when
// it wants a slice); switching split dimension is an all-to-all both ways.
func (lc *layoutCtx) edge(e partition.Edge) [partition.NumActs][partition.NumActs]Price {
	var out [partition.NumActs][partition.NumActs]Price
	if lc.P == 1 {
		return out
	}
	bytes := 2 * lc.tokens * float64(e.Elems)
	reps := float64(e.Mult) * lc.microBatches
	for a := partition.Act(0); a < partition.NumActs; a++ {
		for b := partition.Act(0); b < partition.NumActs; b++ {
			var c Cost
			switch {
			case a == b:
				continue
			case a == partition.Rep || b == partition.Rep:
				c = lc.collective("ag", bytes, 0)
			default:
				c = lc.collective("a2a", bytes, 0)
				c = Cost{Seconds: 2 * c.Seconds, Flows: append(append([]Flow(nil), c.Flows...), c.Flows...)}
			}
			out[a][b] = Price{Seconds: c.Seconds * reps, Comm: c.Seconds * reps,
				Traffic: trafficPerDie(c.Flows, lc.P) * reps,
				Parts:   lc.m.EnergyOf(0, 0, c.Flows).Scale(reps * float64(lc.l.DP))}
		}
	}
	return out
}

// fixed is the layout's scheme-independent price: weights, gradients and
// optimizer states per die; DP all-reduce of the gradients between
// corresponding dies of the groups; the Adam step.
func (lc *layoutCtx) fixed() Price {
	perDie := lc.sp.ParamsPerDie(lc.li) // parameters held per die
	zero := 1.0
	if lc.l.ZeRO {
		zero = float64(lc.l.DP)
	}
	pr := Price{Mem: Mem{Weights: 2 * perDie, Grads: 2 * perDie, OptStates: 12 * perDie / zero}}
	if lc.l.DP > 1 {
		dp := lc.mp.DP
		c, err := lc.m.AllReduce(dp, 2*perDie)
		if err != nil {
			lc.fail(fmt.Errorf("DP all-reduce of %g bytes: %w", 2*perDie, err))
		}
		pr.Seconds, pr.Comm = c.Seconds, c.Seconds
		pr.Traffic = trafficPerDie(c.Flows, float64(len(dp)*lc.l.DP))
		pr.Parts = lc.m.EnergyOf(0, 0, c.Flows)
	}
	share := lc.P * zero // the optimizer's work per die is 1/(P·ZeRO) of the total
	opt := lc.m.Compute(lc.sp.AdamFLOPs/share, lc.sp.AdamHBM/share)
	pr.Seconds += opt
	pr.Compute += opt
	pr.Parts = pr.Parts.Add(lc.m.EnergyOf(lc.sp.AdamFLOPs, lc.sp.AdamHBM, nil))
	return pr
}
