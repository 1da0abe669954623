package costmodel

import (
	"fmt"
	"slices"

	"github.com/tempc/tempc/partition"
)

// phase is the time of one pass (forward or backward) of one layer of one
// micro-batch, the traffic it puts on the group's links, and the bytes a
// die moves in HBM (kernels and DMA) and SRAM.
type phase struct {
	compute, comm, total float64
	hbm, sram            float64
	flows                []Flow
}

// plus is p followed by q on the same dies.
func (p phase) plus(q phase) phase {
	return phase{compute: p.compute + q.compute, comm: p.comm + q.comm, total: p.total + q.total,
		hbm: p.hbm + q.hbm, sram: p.sram + q.sram, flows: append(append([]Flow(nil), p.flows...), q.flows...)}
}

// RoundSeconds is the compute time of stream st's rounds on a group of P
// dies: the die's own round, which loads what later rounds may find in
// SRAM and shares the HBM port with the read of its own block, and each
// round on an arriving block, sharing the port with that round's share of
// the rest of the stream's DMA (the arrival written and the block read to
// be forwarded, when blocks land in HBM). The stream pricers take both.
// A stream of partial sums in HBM forwards a block only after adding to
// it, so the forward's read is not beside the round's kernel but after
// it, in the hop (StreamOrder.MinHop): its rounds share the port with the
// arrival only.
func (m *Model) RoundSeconds(st Stream, P float64, resident bool) (own, round float64) {
	if P <= 1 {
		t := m.KernelSeconds(st.Own, 0)
		return t, t
	}
	if st.Comm.Reduce && !resident {
		return m.KernelSeconds(st.Own, 0), m.KernelSeconds(st.Round, st.Comm.Bytes)
	}
	dma := st.Comm.DMAHBM(P, resident)
	var ownDMA float64
	if !(resident && st.Comm.Reduce) {
		ownDMA = st.Comm.ownSends() * st.Comm.Bytes // the own block's first sends read it from HBM
	}
	return m.KernelSeconds(st.Own, ownDMA), m.KernelSeconds(st.Round, (dma-ownDMA)/(P-1))
}

// KernelSeconds is the time of kernel k on one die while the die's DMA
// moves dma more bytes through the same HBM port: the engine's time at the
// kernel's efficiency, or the port's time for both, whichever is longer.
func (m *Model) KernelSeconds(k Kernel, dma float64) float64 {
	s := m.Spec
	var flops float64
	if k.FLOPs > 0 {
		eff := k.Efficiency
		if eff == 0 {
			eff = 1 // as a plan task's
		}
		flops = k.FLOPs / (s.Die.PeakFLOPS * eff * m.Params.ComputeEfficiency)
	}
	return max(flops, (k.HBM()+dma)/(s.Die.HBMBandwidth*m.Params.HBMEfficiency))
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
	case partition.Batch:
		return int64(lc.l.MicroBatch)%P == 0 // whole sequences on every die
	}
	return true
}

// option prices scheme s of group gi for the whole step, on sub-chains of
// degree dies when degree is not zero.
func (lc *layoutCtx) option(gi int, s partition.Scheme, degree int) (Price, bool) {
	grp := &lc.sp.Groups[gi]
	if !lc.valid(grp, s) || degree > 0 && !slices.Contains(partition.SubChainDegrees(lc.l), degree) {
		return Price{}, false
	}
	gr := &grp.Work
	layers := float64(grp.Mult)
	per := lc.frac / layers // one layer, one micro-batch
	mv := DegreeMove(lc.m.Spec, grp, s, lc.P, degree, per, lc.tokens, lc.pricer.g.Seq)
	fwd, bwd := lc.pass(grp, &mv, mv.Fwd), lc.pass(grp, &mv, mv.Bwd)
	// Pointwise ops run in the group's output layout: replicated work is
	// done by every die.
	k := per / lc.split(s.Out())
	pwF := lc.pointwise(gr.PwFwdFLOPs*k, gr.PwFwdHBM*k)
	pwB := lc.pointwise(gr.PwBwdFLOPs*k, gr.PwBwdHBM*k)
	fwd, bwd = fwd.plus(pwF), bwd.plus(pwB)
	// Recomputation repeats forward work in the backward pass: the
	// pointwise ops (selective), or the whole forward pass with them (full),
	// as lowering emits them.
	recomputed := 0.0 // forward kernels run again
	switch {
	case gr.Recomputed(lc.l.Recompute):
		again := fwd
		if s == partition.FSDP || s == partition.FSDPKeep {
			// The backward pass's gather serves the recomputed forward
			// too: its kernels run again, not its gathers (as lowered).
			again = lc.pass(grp, &mv, Pass{Kernel: mv.Fwd.Kernel}).plus(pwF)
		}
		bwd = bwd.plus(again)
		recomputed = 1
	case lc.l.Recompute == partition.Selective:
		bwd = bwd.plus(pwF)
	}
	reps := layers * lc.microBatches
	pr := Price{Seconds: (fwd.total + bwd.total) * reps, Compute: (fwd.compute + bwd.compute) * reps,
		Comm: (fwd.comm + bwd.comm) * reps, HBM: (fwd.hbm + bwd.hbm) * reps, SRAM: (fwd.sram + bwd.sram) * reps}
	flows := append(fwd.flows, bwd.flows...)
	pr.Traffic = trafficPerDie(flows, lc.P) * reps
	pr.Mem = lc.mem(grp, gr, &mv, per)
	pr.Backward, pr.BackwardHBM = bwd.total*layers, bwd.hbm*layers
	// The kernels' bytes are the busiest die's (uneven head or token
	// splits); the rest every die moves alike.
	kernels := (mv.Fwd.Kernel.HBM()*(1+recomputed) + mv.Bwd.Kernel.HBM()) * reps
	if degree > 0 {
		flows = append(flows, lc.subChainSync(grp, degree, &pr, reps)...)
		pr.Traffic = trafficPerDie(flows, lc.P) * reps
	}
	pr.Parts = lc.energy(gr, s, pr, kernels*(1-1/mv.Imbalance), flows, reps)
	return pr, true
}

// subChainSync adds to pr what a sub-chain stream's weights cost beyond
// the group's share: each die keeps 1/degree of the weight and of its
// gradient instead of 1/P; once per step, before the optimizer, the
// gradient is reduce-scattered among the dies that hold the same block
// (one per sub-chain: every degree-th die of the group's chain), leaving
// each its 1/P share for the optimizer, and after it the updated weights
// are all-gathered among them — both exposed, as lowered. It returns the
// collectives' flows scaled to one of the option's reps (energy and
// traffic count flows per rep).
func (lc *layoutCtx) subChainSync(grp *partition.Group, degree int, pr *Price, reps float64) []Flow {
	w := 2 * float64(grp.WeightElems) // bf16 weights and gradients
	extra := w/float64(degree) - w/lc.P
	pr.Mem.Weights, pr.Mem.Grads = extra, extra
	peers := partition.SubChainPeers(lc.mp.Chains, degree)
	bytes := w / float64(degree)
	q := lc.P / float64(degree)
	var flows []Flow
	for _, kind := range []string{"rs", "ag"} {
		key := fmt.Sprintf("peers/%s/%d/%g@%s", kind, degree, bytes, lc.mapKey)
		c := lc.cached(key, func() Cost {
			var c Cost
			var err error
			if kind == "rs" {
				c, err = lc.m.ReduceScatter(peers, bytes)
			} else {
				c, err = lc.m.AllGather(peers, bytes)
			}
			if err != nil {
				lc.fail(fmt.Errorf("sub-chain gradient %s of %g bytes: %w", kind, bytes, err))
			}
			return c
		})
		dma := Comm{Kind: kind, Bytes: bytes}.DMAHBM(q, false)
		t := lc.m.CollectiveSeconds(c, dma)
		pr.Seconds += t
		pr.Comm += t
		pr.HBM += dma
		for _, f := range c.Flows {
			flows = append(flows, Flow{Route: f.Route, Bytes: f.Bytes / float64(len(lc.mp.Chains)) / reps})
		}
	}
	return flows
}

// pointwise is a memory-bound kernel of the graph's FLOPs and bytes.
func (lc *layoutCtx) pointwise(flops, hbm float64) phase {
	t := lc.m.Compute(flops, hbm)
	return phase{compute: t, total: t, hbm: hbm}
}

// pass prices one pass of a scheme from its data movement (SchemeMove):
// collectives are serial after (or before) the kernels and last as long
// as their links or their HBM traffic at both ends; FSDP's gathers
// overlap its kernels; streams overlap their rounds' kernels, each round
// sharing the HBM port with the DMA of its block.
func (lc *layoutCtx) pass(grp *partition.Group, mv *Move, ps Pass) phase {
	k := ps.Kernel
	compute := lc.m.KernelSeconds(k, 0)
	ph := phase{compute: compute, total: compute, hbm: k.HBM(), sram: k.SRAM}
	var dma float64
	for _, c := range ps.Comms {
		dma += c.DMAHBM(lc.P, false)
	}
	sd := mv.StreamDies(lc.P)
	for _, st := range ps.Streams {
		dma += st.Comm.DMAHBM(sd, mv.Resident)
		ph.sram += st.Comm.DMASRAM(sd, mv.Resident)
	}
	ph.hbm += dma
	if ps.KV > 0 { // heads: K/V slices, and in the backward pass their gradients
		kv := lc.kvShare(grp)
		// A slice is read from HBM where it is sent and written where it
		// lands (a reduction also reads the destination's own).
		bytes := 2 * KVSlice(lc.tokens, grp, lc.P)
		for range ps.KV {
			t := lc.m.CollectiveSeconds(kv, bytes)
			ph.hbm += bytes
			ph.comm += t
			ph.total += t
			ph.flows = append(ph.flows, kv.Flows...)
		}
		return ph
	}
	switch {
	case len(ps.Streams) > 0:
		// Each round's kernel shares the port with the DMA of that round's
		// blocks (the stream's DMA bytes spread over its P rounds).
		ph.total = 0
		for _, st := range ps.Streams {
			// Priced paced: a die forwards blocks no faster than it
			// computes — in SRAM because lowering makes it wait (three
			// buffers); in HBM, where lowering forwards a block once it has
			// arrived, as an approximation: the forward's read shares the
			// die's port with its kernels and arrivals and ends at about
			// the end of the die's round. A block landing in HBM takes at
			// least its time through the port to cross a hop, being
			// forwarded only once all of it has arrived.
			own, round := lc.m.RoundSeconds(st, sd, mv.Resident)
			var minHop float64
			if !mv.Resident {
				minHop = lc.m.HBMHop(st.Comm.Bytes)
			}
			kind := st.Comm.Kind
			if st.Comm.Reduce {
				kind += "/reduce"
			}
			var cs Cost
			if mv.Degree > 0 {
				cs = lc.subChainStream(kind, mv.Degree, st.Comm.Bytes, own, round, minHop)
			} else {
				cs = lc.collective(kind, st.Comm.Bytes, own, round, minHop)
			}
			ph.total += cs.Seconds
			ph.flows = append(ph.flows, cs.Flows...)
		}
		ph.comm = max(0, ph.total-compute)
	default:
		cs := make([]Cost, len(ps.Comms))
		dmas := make([]float64, len(ps.Comms))
		for i, c := range ps.Comms {
			cs[i], dmas[i] = lc.collective(c.Kind, c.Bytes), c.DMAHBM(lc.P, false)
			ph.flows = append(ph.flows, cs[i].Flows...)
		}
		switch {
		case ps.Overlap && grp.Work.Block: // FSDP prefetches the next layer's weights while the kernels run
			ph.total = lc.m.Overlap(k, cs, dmas)
		case ps.Overlap: // outside the layers the gather is exposed, the gradient's reduce-scatter not
			before, _, after := ps.Phases()
			gc, gd := pick(cs, dmas, before)
			rc, rd := pick(cs, dmas, after)
			ph.total = lc.m.Serial(Kernel{}, gc, gd) + lc.m.Overlap(k, rc, rd)
		case ps.Grad.FLOPs > 0 && len(cs) > 0:
			ph.total = lc.m.GradOverlap(ps, cs, dmas)
		default:
			ph.total = lc.m.Serial(k, cs, dmas)
		}
		ph.comm = ph.total - compute
	}
	return ph
}

// CollectiveSeconds is the time of collective c, whose links take
// c.Seconds, moving dma bytes through each die's HBM port: the slower of
// the two.
func (m *Model) CollectiveSeconds(c Cost, dma float64) float64 {
	return max(c.Seconds, dma/(m.Spec.Die.HBMBandwidth*m.Params.HBMEfficiency))
}

// Serial is kernel k followed (or preceded) by collectives cs, one after
// the other, the i-th moving dma[i] bytes through each die's HBM port.
func (m *Model) Serial(k Kernel, cs []Cost, dma []float64) float64 {
	t := m.KernelSeconds(k, 0)
	for i, c := range cs {
		t += m.CollectiveSeconds(c, dma[i])
	}
	return t
}

// GradOverlap is a backward pass run as Megatron-LM runs it (see
// Pass.Grad): all-gathers the data gradient reads first; then the data
// gradient beside the gathers only the weight gradient reads; then the
// weight gradient beside the data gradient's reductions. cs and dma are
// the collectives of ps.Comms and their DMA bytes, in order.
func (m *Model) GradOverlap(ps Pass, cs []Cost, dma []float64) float64 {
	before, beside, after := ps.Phases()
	bc, bd := pick(cs, dma, before)
	ec, ed := pick(cs, dma, beside)
	lc, ld := pick(cs, dma, after)
	return m.Serial(Kernel{}, bc, bd) + m.Overlap(ps.Kernel.Less(ps.Grad), ec, ed) + m.Overlap(ps.Grad, lc, ld)
}

// pick is the collectives idx of cs, with their DMA bytes.
func pick(cs []Cost, dma []float64, idx []int) ([]Cost, []float64) {
	c, d := make([]Cost, len(idx)), make([]float64, len(idx))
	for k, i := range idx {
		c[k], d[k] = cs[i], dma[i]
	}
	return c, d
}

// Overlap is kernel k beside collectives cs that run one after the other:
// the longer of the two, or of the HBM port's time for the kernel's bytes
// and all the collectives' DMA bytes.
func (m *Model) Overlap(k Kernel, cs []Cost, dma []float64) float64 {
	var comm, all float64
	for i, c := range cs {
		comm += m.CollectiveSeconds(c, dma[i])
		all += dma[i]
	}
	return max(m.KernelSeconds(k, all), comm)
}

func kindOf(s partition.Scheme) string {
	if s.Relay() {
		return "relay"
	}
	return "ring"
}

// mem is what scheme s keeps per die beyond weights, gradients and
// optimizer states (which every scheme shards by the group size; they are
// in the layout's fixed price).
func (lc *layoutCtx) mem(grp *partition.Group, gr *partition.Work, mv *Move, per float64) Mem {
	s := mv.Scheme
	layers := float64(grp.Mult)
	var acts float64
	switch lc.l.Recompute {
	case partition.NoRecompute:
		acts = gr.SavedIn*per/lc.split(s.In()) + gr.SavedOut*per/lc.split(s.Out()) + (gr.PwSaved+gr.Scores)*per/lc.split(s.Out())
	case partition.Selective:
		acts = gr.SavedIn*per/lc.split(s.In()) + gr.SavedOut*per/lc.split(s.Out())
	case partition.Full:
		if gr.Head {
			acts = gr.SavedIn * per / lc.split(s.In())
		}
	}
	P, T := lc.P, lc.tokens
	var tr, gathered float64
	switch s {
	case partition.SPCol:
		tr = 2 * T * float64(grp.K)
	case partition.SPRow, partition.Vocab, partition.VocabSP:
		tr = 2 * T * float64(grp.N)
	case partition.FSDP:
		// On one die nothing is gathered nor reduced. Otherwise the full
		// gradient lives until its reduce-scatter; a layer's gathered
		// weights live with the other groups' and the next layer's (held),
		// another group's only during its own pass (transient). As lowered.
		if w := 2 * float64(grp.WeightElems); P > 1 {
			tr = w
			if grp.Work.Block {
				gathered = 2 * w
			} else {
				tr += w
			}
		}
	case partition.FSDPKeep:
		// Every layer's gathered weights are kept from its forward run to
		// its backward run, and the forward's last prefetch adds one more
		// (see SchemeMove): all of them at once when the backward pass
		// starts, for each micro-batch in flight. The full gradient lives
		// until its reduce-scatter. As lowered.
		if w := 2 * float64(grp.WeightElems); P > 1 {
			tr, gathered = w, (layers+1)*w*lc.m.Params.inFlight()
		}
	// A stream's blocks in flight: in SRAM, three (six for a relay, both
	// ways; see Resident) — the HBM keeps the die's own; landing in HBM,
	// forwarded as soon as they arrive, up to all P.
	case partition.RingW, partition.RelayW, partition.RingX, partition.RelayX, partition.RingY, partition.RelayY, partition.RingSeq:
		tr = mv.Block
		if !mv.Resident {
			tr *= mv.StreamDies(P)
		}
	case partition.Heads:
		if partition.KVShare(grp.Heads, grp.KVHeads, grp.HeadDim, int64(P)) != nil {
			tr = 2 * 2 * T * float64(grp.HeadDim*partition.KVNeeded(grp.Heads, grp.KVHeads, int64(P))) // whole K and V heads
		}
	}
	// Unfused attention holds two score matrices at once: scores and
	// probabilities in the forward pass, probabilities and their gradient
	// in the backward.
	tr += 2 * gr.Scores * per / lc.split(s.Out()) * mv.Imbalance
	return Mem{Acts: acts * layers * lc.m.Params.inFlight(), Gathered: gathered, Transient: tr}
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
		c := lc.cached(key, func() Cost {
			c, err := lc.m.Multicast(partition.KVTrees(chain, share), bytes)
			if err != nil {
				lc.fail(fmt.Errorf("K/V multicast of %g bytes: %w", bytes, err))
			}
			return c
		})
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
// when replicated, and the forward work recomputation repeats), the HBM
// and SRAM bytes its dies move (pr's, the busiest die's, less the excess
// HBM bytes of its uneven kernels), and D2D traffic on every group.
func (lc *layoutCtx) energy(gr *partition.Work, s partition.Scheme, pr Price, excess float64, flows []Flow, reps float64) Joules {
	rep := 1.0
	if s.Out() == partition.Rep {
		rep = lc.P
	}
	flops := gr.FwdFLOPs + gr.BwdFLOPs + rep*(gr.PwFwdFLOPs+gr.PwBwdFLOPs)
	switch {
	case gr.Recomputed(lc.l.Recompute):
		flops += gr.FwdFLOPs + rep*gr.PwFwdFLOPs
	case lc.l.Recompute == partition.Selective:
		flops += rep * gr.PwFwdFLOPs
	}
	dies := lc.P * float64(lc.l.DP)
	j := lc.m.EnergyOf(flops, (pr.HBM-excess)*dies, nil).Add(lc.m.EnergyOf(0, 0, flows).Scale(reps * float64(lc.l.DP)))
	j.SRAM = 8 * pr.SRAM * dies * lc.m.Spec.SRAMJoulesPerBit
	return j
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
			var hbm float64 // per die, through HBM at both ends
			switch {
			case a == b:
				continue
			case a == partition.Rep || b == partition.Rep:
				cm := Comm{Kind: "ag", Bytes: bytes}
				c, hbm = lc.collective(cm.Kind, bytes), cm.DMAHBM(lc.P, false)
				c.Seconds = lc.m.CollectiveSeconds(c, hbm)
			default:
				cm := Comm{Kind: "a2a", Bytes: bytes}
				c, hbm = lc.collective(cm.Kind, bytes), 2*cm.DMAHBM(lc.P, false)
				c = Cost{Seconds: 2 * lc.m.CollectiveSeconds(c, hbm/2), Flows: append(append([]Flow(nil), c.Flows...), c.Flows...)}
			}
			out[a][b] = Price{Seconds: c.Seconds * reps, Comm: c.Seconds * reps,
				Traffic: trafficPerDie(c.Flows, lc.P) * reps, HBM: hbm * reps,
				Parts: lc.m.EnergyOf(0, hbm*lc.P, c.Flows).Scale(reps * float64(lc.l.DP))}
		}
	}
	return out
}

// fixed is the layout's scheme-independent price: weights, gradients and
// optimizer states per die; DP all-reduce of the gradients between
// corresponding dies of the groups (its energy and traffic; its time is
// the Sync's); the Adam step.
func (lc *layoutCtx) fixed() (Price, Sync) {
	var sync Sync
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
		hbm := Comm{Kind: "ar", Bytes: 2 * perDie}.DMAHBM(float64(lc.l.DP), false)
		sync.Seconds, sync.Bucket = lc.m.CollectiveSeconds(c, hbm), lc.m.Params.Bucket()
		sync.HBM, sync.Port = hbm, lc.m.Spec.Die.HBMBandwidth*lc.m.Params.HBMEfficiency
		last := min(sync.Bucket, 2*perDie)
		tc, err := lc.m.AllReduce(dp, last)
		if err != nil {
			lc.fail(fmt.Errorf("DP all-reduce of %g bytes: %w", last, err))
		}
		sync.Tail = lc.m.CollectiveSeconds(tc, Comm{Kind: "ar", Bytes: last}.DMAHBM(float64(lc.l.DP), false))
		pr.HBM = hbm
		pr.Traffic = trafficPerDie(c.Flows, float64(len(dp)*lc.l.DP))
		pr.Parts = lc.m.EnergyOf(0, hbm*lc.P*float64(lc.l.DP), c.Flows)
	}
	share := lc.P * zero // the optimizer's work per die is 1/(P·ZeRO) of the total
	opt := lc.m.Compute(lc.sp.AdamFLOPs/share, lc.sp.AdamHBM/share)
	pr.Seconds += opt
	pr.Compute += opt
	pr.HBM += lc.sp.AdamHBM / share
	pr.Parts = pr.Parts.Add(lc.m.EnergyOf(lc.sp.AdamFLOPs, lc.sp.AdamHBM, nil))
	return pr, sync
}
