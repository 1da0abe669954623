package lower

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tempc/tempc/ir"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// CheckWork checks that a plan does the work of the graph it was compiled
// from: every pass of every op group of the graph, and the optimizer step,
// computed exactly once per step. sp is the strategy space of that graph
// on the plan's wafer (partition.Build); the plan must have passed
// plan.Verify. The work one step must contain is derived from the graph
// through the space's op groups — not from the plan, nor by lowering again:
//
//   - the plan names the graph it was compiled from (batch, seq, the
//     graph's SHA-256), and every op of the graph belongs to an op group,
//     is a pointwise op attached to one, or is an optimizer update;
//   - the plan's layout is one of the space's; its groups of P dies, DP of
//     them, are D = DP·P dies;
//   - every group computes its forward and backward pass and those of its
//     pointwise ops (key.fwd, key.bwd, key.pw.fwd, key.pw.bwd), a group
//     whose forward pass is recomputed (partition.Work.Recomputed: block
//     groups under full recomputation, unfused attention under
//     selective) computes it again (key.recompute.fwd,
//     key.recompute.pw.fwd), under selective recomputation every other
//     group its pointwise ops (key.pw.recompute), and
//     "adam" is the optimizer step; a pass with neither FLOPs nor bytes
//     may be absent, and the plan computes no other op;
//   - summed over every die and every run of the expanded plan, a pass
//     computes at least the FLOPs and the memory bytes (HBM or SRAM) the
//     graph gives it per step
//     (replicated pointwise work and uneven head or sequence splits make
//     it more, never less), and less than twice the whole pass on each of
//     the D dies (no die computes more than the whole pass), HBM bytes in
//     each micro-batch (weights are read again in every one);
//   - in every block of the plan that computes an op, each of the D dies
//     computes b of its blocks per run and the blocks are 0..D·b−1, where
//     b is 1 for a direct scheme (2 in a backward pass that computes the
//     data and the weight gradient apart, as Megatron's overlap does) and,
//     for a scheme that streams blocks around its group (streamed), P in
//     a forward pass and 2P in a backward one — b among those the group's
//     schemes allow;
//   - each of the D dies runs the optimizer step exactly once.
//
// It then checks the plan's communication (CheckComm).
//
// Errors name the op and what is missing, e.g. "lower: plan computes 0 of
// the 1.2e+15 FLOPs of block/attn.qkv.fwd per step".
func CheckWork(p *plan.Plan, sp *partition.Space) error {
	if err := CheckStageWork(p, sp); err != nil {
		return err
	}
	return CheckComm(p, sp)
}

// CheckStageWork is CheckWork without CheckComm: for a pipeline stage's
// step (plan.Stage.Steps) held to its stage graph, whose communication
// CheckPipeline checks with the boundaries'.
func CheckStageWork(p *plan.Plan, sp *partition.Space) error {
	if err := checkGraph(p, sp); err != nil {
		return err
	}
	l, err := planLayout(p.Layout, sp)
	if err != nil {
		return err
	}
	passes, err := expectedPasses(sp, l)
	if err != nil {
		return err
	}
	c := &workCheck{passes: passes, P: l.P(), D: l.DP * l.P(), micro: l.MicroBatches(sp.Graph.Batch), s: sp.Spec, done: map[string]*done{}, adam: map[wafer.DieID]int{}}
	if err := p.Walk(c.block); err != nil {
		return err
	}
	if err := c.totals(); err != nil {
		return err
	}
	return c.optimizerOnce()
}

// optimizerOnce checks that each of the D dies runs its optimizer step
// exactly once per step: Adam applied twice is not a training step, though
// its work is within the totals' bounds.
func (c *workCheck) optimizerOnce() error {
	for d, n := range c.adam {
		if n != 1 {
			return fmt.Errorf("lower: die %s runs the optimizer step %d times per step; it must run once", dieName(c.s, d), n)
		}
	}
	if len(c.adam) != c.D {
		return fmt.Errorf("lower: %d dies run the optimizer step; the layout's %d dies must each run it once", len(c.adam), c.D)
	}
	return nil
}

// checkGraph checks that the plan was compiled from the space's graph and
// that the space gives every op of the graph to some op group.
func checkGraph(p *plan.Plan, sp *partition.Space) error {
	g := sp.Graph
	if p.Model != g.Name || p.Batch != g.Batch || p.Seq != g.Seq {
		return fmt.Errorf("lower: the plan is of %s at batch %d × seq %d, the graph of %s at batch %d × seq %d",
			p.Model, p.Batch, p.Seq, g.Name, g.Batch, g.Seq)
	}
	if h := GraphSHA256(g); h != p.GraphSHA256 {
		return fmt.Errorf("lower: the graph of %s is not the one the plan was compiled from (sha256 %.12s…, the plan's %.12s…): the model changed; recompile",
			g.Name, h, p.GraphSHA256)
	}
	covered := make([]bool, len(g.Ops))
	for _, grp := range sp.Groups {
		for _, id := range grp.Ops {
			covered[id] = true
		}
	}
	for _, a := range sp.Pointwise {
		covered[a.Op] = true
	}
	var lost []string
	for i := range g.Ops {
		if op := &g.Ops[i]; !covered[i] && op.Kind != ir.OptimizerUpdate {
			lost = append(lost, op.Name)
		}
	}
	if len(lost) > 0 {
		more := ""
		if len(lost) > 5 {
			more = fmt.Sprintf(" and %d more", len(lost)-5)
			lost = lost[:5]
		}
		return fmt.Errorf("lower: the strategy space of %s gives ops %s%s to no op group, so no plan computes them",
			g.Name, strings.Join(lost, ", "), more)
	}
	return nil
}

// graphPass is one op of a plan as the graph sees it: the work of one step
// (FLOPs and HBM bytes) and how many blocks per run each die may compute.
type graphPass struct {
	name         string
	flops, bytes float64
	perDie       []int
}

// expectedPasses lists the passes one step of layout l must compute (see
// CheckWork), in group order, the optimizer last.
func expectedPasses(sp *partition.Space, l *partition.Layout) ([]graphPass, error) {
	P := l.P()
	var out []graphPass
	for _, grp := range sp.Groups {
		var direct, stream bool
		for _, s := range grp.Schemes {
			direct, stream = direct || !s.Streamed(), stream || s.Streamed()
		}
		// A streamed scheme (partition.Scheme.Streamed) computes one block
		// per die of its group in a forward pass, and one or two streams of
		// them in a backward pass (ring-y streams dY once for both
		// gradients; the others one stream per gradient).
		blocks := func(streamBlocks []int, directBlocks ...int) []int {
			var b []int
			if direct {
				b = append(b, directBlocks...)
			}
			for _, sb := range streamBlocks {
				if stream && !slices.Contains(b, sb) {
					b = append(b, sb)
				}
			}
			return b
		}
		// A relay-w stream on sub-chains computes one block per die of its
		// sub-chain.
		fwdStream, bwdStream := []int{P}, []int{2 * P, P}
		if slices.Contains(grp.Schemes, partition.RelayW) {
			for _, d := range partition.SubChainDegrees(l) {
				fwdStream, bwdStream = append(fwdStream, d), append(bwdStream, 2*d)
			}
		}
		W := &grp.Work
		k := grp.Key
		out = append(out,
			graphPass{k + ".fwd", W.FwdFLOPs, W.FwdHBM, blocks(fwdStream, 1)},
			graphPass{k + ".pw.fwd", W.PwFwdFLOPs, W.PwFwdHBM, []int{1}},
			graphPass{k + ".bwd", W.BwdFLOPs, W.BwdHBM, blocks(bwdStream, 1, 2)},
			graphPass{k + ".pw.bwd", W.PwBwdFLOPs, W.PwBwdHBM, []int{1}})
		switch {
		case W.Recomputed(l.Recompute):
			out = append(out,
				graphPass{k + ".recompute.fwd", W.FwdFLOPs, W.FwdHBM, blocks(fwdStream, 1)},
				graphPass{k + ".recompute.pw.fwd", W.PwFwdFLOPs, W.PwFwdHBM, []int{1}})
		case l.Recompute == partition.Selective:
			out = append(out, graphPass{k + ".pw.recompute", W.PwFwdFLOPs, W.PwFwdHBM, []int{1}})
		}
	}
	out = append(out, graphPass{"adam", sp.AdamFLOPs, sp.AdamHBM, []int{1}})
	seen := map[string]bool{}
	for _, ps := range out {
		if seen[ps.name] {
			return nil, fmt.Errorf("lower: two op groups of the strategy space name a pass %s", ps.name)
		}
		seen[ps.name] = true
	}
	return out, nil
}

// done is what the plan computes of one pass per step: FLOPs, bytes in
// HBM or SRAM, and of them in HBM.
type done struct {
	flops, bytes, hbm float64
}

type workCheck struct {
	passes []graphPass
	P, D   int
	// micro is the micro-batches each group runs per step.
	micro int64
	s     *wafer.Spec
	done  map[string]*done
	// adam counts each die's optimizer steps per step.
	adam map[wafer.DieID]int
}

// block checks one block of the plan, run runs times per step, and adds
// its work to the totals.
func (c *workCheck) block(n *plan.Node, runs int) error {
	type opBlocks struct {
		perDie map[wafer.DieID]int
		blocks map[int]bool
	}
	ops := map[string]*opBlocks{}
	for i := range n.Program.Tasks {
		t := &n.Program.Tasks[i]
		if t.Kind != plan.Compute {
			continue
		}
		if t.Op == "" {
			if t.FLOPs > 0 || t.HBMBytes > 0 {
				return fmt.Errorf("lower: node %q task %d %q computes %g FLOPs (%g bytes) of no op", n.Name, i, t.Name, t.FLOPs, t.HBMBytes)
			}
			continue
		}
		ob := ops[t.Op]
		if ob == nil {
			if c.pass(t.Op) == nil {
				return fmt.Errorf("lower: node %q computes %s, which is no pass of the graph's op groups", n.Name, t.Op)
			}
			ob = &opBlocks{perDie: map[wafer.DieID]int{}, blocks: map[int]bool{}}
			ops[t.Op] = ob
		}
		ob.perDie[t.Die]++
		if t.Op == "adam" {
			c.adam[t.Die] += runs
		}
		ob.blocks[t.Block] = true
		d := c.done[t.Op]
		if d == nil {
			d = &done{}
			c.done[t.Op] = d
		}
		d.flops += t.FLOPs * float64(runs)
		d.bytes += (t.HBMBytes + t.SRAMBytes) * float64(runs)
		d.hbm += t.HBMBytes * float64(runs)
	}
	names := make([]string, 0, len(ops))
	for op := range ops {
		names = append(names, op)
	}
	sort.Strings(names)
	for _, op := range names {
		if err := c.blocks(n, c.pass(op), ops[op].perDie, ops[op].blocks); err != nil {
			return err
		}
	}
	return nil
}

func (c *workCheck) pass(op string) *graphPass {
	for i := range c.passes {
		if c.passes[i].name == op {
			return &c.passes[i]
		}
	}
	return nil
}

// blocks checks one op's blocks in one block of the plan: b per die on
// all D dies, numbered 0..D·b−1.
func (c *workCheck) blocks(n *plan.Node, ps *graphPass, perDie map[wafer.DieID]int, blocks map[int]bool) error {
	b := 0
	for _, k := range perDie {
		b = max(b, k)
	}
	allowed := false
	for _, k := range ps.perDie {
		allowed = allowed || k == b
	}
	if !allowed {
		return fmt.Errorf("lower: node %q: a die computes %d blocks of %s per run; its schemes compute %s per die (%d dies per group)",
			n.Name, b, ps.name, ints(ps.perDie), c.P)
	}
	want := c.D * b
	for k := range want {
		if !blocks[k] {
			return fmt.Errorf("lower: node %q: block %d of %s is never computed (%d dies of %d per group, %d blocks each)",
				n.Name, k, ps.name, c.D, c.P, b)
		}
	}
	if len(blocks) > want || len(perDie) != c.D {
		return fmt.Errorf("lower: node %q: %s is computed in %d blocks on %d dies; the layout's %d dies (%d per group) compute %d blocks each",
			n.Name, ps.name, len(blocks), len(perDie), c.D, c.P, b)
	}
	for d, k := range perDie {
		if k != b {
			return fmt.Errorf("lower: node %q: die %s computes %d blocks of %s per run, the others %d (%d dies per group)",
				n.Name, dieName(c.s, d), k, ps.name, b, c.P)
		}
	}
	return nil
}

// workTolerance is the relative slack of the FLOPs and bytes totals: they
// are sums of up to millions of products, exact to about 1e-15 each.
const workTolerance = 1e-9

// totals checks every pass's work over the step against the graph's.
func (c *workCheck) totals() error {
	for i := range c.passes {
		ps := &c.passes[i]
		d := c.done[ps.name]
		if d == nil {
			d = &done{}
		}
		// Every FLOP and byte of the pass is computed, in HBM or SRAM
		// (operands a stream keeps in SRAM leave HBM); no die computes
		// twice the whole pass's FLOPs, nor moves twice its HBM bytes in
		// each micro-batch (a die reads its weights again in every
		// micro-batch). SRAM traffic has no such bound: a stream re-reads
		// its stationary operand from SRAM in every round.
		for _, q := range []struct {
			unit           string
			got, want, max float64
			per            int64
		}{{"FLOPs", d.flops, ps.flops, d.flops, 1}, {"HBM bytes", d.bytes, ps.bytes, d.hbm, c.micro}} {
			if !(q.got >= q.want*(1-workTolerance)) { // NaN too
				return fmt.Errorf("lower: plan computes %.3g of the %.3g %s of %s per step", q.got, q.want, q.unit, ps.name)
			}
			if limit := 2 * float64(c.D) * float64(q.per) * q.want; q.max > limit*(1+workTolerance) {
				return fmt.Errorf("lower: plan computes %.3g %s of %s per step, more than twice the whole pass (%.3g) on each of its %d dies in each of its %d micro-batches",
					q.max, q.unit, ps.name, q.want, c.D, q.per)
			}
		}
	}
	return nil
}

func ints(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " or ")
}

func dieName(s *wafer.Spec, d wafer.DieID) string {
	if d >= 0 && int(d) < s.NumDies() {
		return s.Coord(d).String()
	}
	return fmt.Sprint(d)
}
