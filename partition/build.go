package partition

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tempc/tempc/ir"
	"github.com/tempc/tempc/wafer"
)

// Build derives the strategy space of a verified training graph on a wafer.
func Build(g *ir.Graph, s *wafer.Spec, cfg Config) (*Space, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := s.SingleWafer(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults(s.NumHealthy())
	if g.Batch <= 0 || g.Seq <= 0 {
		return nil, fmt.Errorf("partition: graph %s has no batch and sequence size", g.Name)
	}
	b := &builder{g: g, cfg: cfg, sp: &Space{Graph: g, Spec: s, Config: cfg}, index: map[string]int{},
		groupOf: make([]int, len(g.Ops)), headOf: make([]ir.OpID, len(g.Ops)), owner: map[ir.TensorID]bool{},
		edges: map[Edge]int{}, producers: g.Producers()}
	for i := range b.groupOf {
		b.groupOf[i] = -1
	}
	if err := b.forward(); err != nil {
		return nil, err
	}
	if err := b.noSchemeLeft(); err != nil {
		return nil, err
	}
	b.backward()
	b.finishEdges()
	if cfg.Baseline != "" {
		b.canonicalSchemes()
	}
	b.work()
	if err := b.keepInBlocks(); err != nil {
		return nil, err
	}
	b.sp.Layouts = layouts(s, g.Batch, cfg)
	if len(b.sp.Layouts) == 0 {
		return nil, noLayout(s, g.Batch, cfg)
	}
	if cfg.Baseline == Megatron1 || cfg.Baseline == Megatron3 || cfg.Baseline == MegatronCore {
		if err := b.tensorParallelSizes(); err != nil {
			return nil, err
		}
	}
	return b.sp, nil
}

// tensorParallelSizes keeps the layouts whose group size Megatron-LM
// accepts as a tensor-parallel size: one that divides every attention's
// heads and K/V heads (its arguments check asserts both), so that a
// Megatron baseline never runs TP 3 on a 32-head model.
func (b *builder) tensorParallelSizes() error {
	var heads, kv []int64
	for _, g := range b.sp.Groups {
		if g.Kind == Attention {
			heads, kv = append(heads, g.Heads), append(kv, g.KVHeads)
		}
	}
	divides := func(p int64) bool {
		for i := range heads {
			if heads[i]%p != 0 || kv[i]%p != 0 {
				return false
			}
		}
		return true
	}
	var kept []Layout
	for _, l := range b.sp.Layouts {
		if divides(int64(l.P())) {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return layoutError(fmt.Sprintf("partition: no layout of %s for %s: Megatron-LM's tensor-parallel size must divide the attention's %d heads and %d K/V heads, and no group shape that fits does",
			b.sp.Spec.Name, b.g.Name, heads[0], kv[0]))
	}
	b.sp.Layouts = kept
	return nil
}

type builder struct {
	g   *ir.Graph
	cfg Config
	sp  *Space
	// index maps group keys to group indexes.
	index map[string]int
	// groupOf is the group of each op (its own, or the one a pointwise op
	// is attached to); headOf the group op it was attached through.
	groupOf []int
	headOf  []ir.OpID
	owner   map[ir.TensorID]bool
	edges   map[Edge]int // edge (Mult zero) → multiplicity
	// producers is the graph's producer table.
	producers []ir.OpID
}

// opKey is what identifies an op within its class and layer: its Key, or
// its Name when it has none (a JSON graph need not give keys). The
// frontend derives backward ops' keys the same way, so "up.dX" finds the
// forward op "up" either way; without the fallback every key-less GEMM
// shared the group "/" and their backward ops were given to no group.
func opKey(op *ir.Op) string {
	if op.Key == "" {
		return op.Name
	}
	return op.Key
}

func (b *builder) key(op *ir.Op, base string) string {
	k := op.Class + "/" + base
	if b.cfg.Unaliased && op.Layer != ir.NoLayer {
		k += fmt.Sprintf(".L%d", op.Layer)
	}
	return k
}

func isGroupOp(op *ir.Op) bool {
	return op.Phase == ir.Forward && (op.Kind == ir.MatMul || op.Kind == ir.Attention || op.Kind == ir.Embedding)
}

// tokens is the number of tokens of the step.
func (b *builder) tokens() int64 { return b.g.Batch * b.g.Seq }

// forward creates the groups and attaches forward pointwise ops.
func (b *builder) forward() error {
	for i := range b.g.Ops {
		op := &b.g.Ops[i]
		if op.Phase != ir.Forward {
			continue
		}
		if isGroupOp(op) {
			if err := b.addToGroup(op); err != nil {
				return err
			}
			continue
		}
		b.attach(op)
	}
	b.attachToReaders()
	return nil
}

// attachToReaders attaches the forward pointwise ops that read no group's
// output — in a pipeline stage's graph, the first norm, which reads the
// activation the stage receives (ir.Boundary) — to the group that reads
// their output, directly or through other pointwise ops, so that every op
// has a group to run in.
func (b *builder) attachToReaders() {
	readers := map[ir.TensorID][]ir.OpID{}
	for i := range b.g.Ops {
		op := &b.g.Ops[i]
		if op.Phase == ir.Forward {
			for _, t := range op.Inputs {
				readers[t] = append(readers[t], op.ID)
			}
		}
	}
	for i := len(b.g.Ops) - 1; i >= 0; i-- {
		op := &b.g.Ops[i]
		if op.Phase != ir.Forward || isGroupOp(op) || b.groupOf[i] >= 0 {
			continue
		}
		for _, t := range op.Outputs {
			for _, r := range readers[t] {
				if gi := b.groupOf[r]; gi >= 0 && b.groupOf[i] < 0 {
					b.groupOf[i], b.headOf[i] = gi, b.headOf[r]
					b.sp.Pointwise = append(b.sp.Pointwise, Attached{Op: op.ID, Group: gi})
				}
			}
		}
	}
}

func (b *builder) addToGroup(op *ir.Op) error {
	base := opKey(op)
	if op.Kind == ir.Embedding {
		base = "embedding"
	}
	k := b.key(op, base)
	gi, ok := b.index[k]
	if !ok {
		gi = len(b.sp.Groups)
		b.index[k] = gi
		b.sp.Groups = append(b.sp.Groups, b.newGroup(k, op))
	}
	grp := &b.sp.Groups[gi]
	grp.Ops = append(grp.Ops, op.ID)
	b.countWeights(grp, op)
	b.groupOf[op.ID], b.headOf[op.ID] = gi, op.ID
	// The activation input (not for embeddings, whose input is token ids).
	if op.Kind != ir.Embedding && len(op.Inputs) > 0 {
		b.inEdge(op.Inputs[0], gi)
	}
	return nil
}

func (b *builder) newGroup(key string, op *ir.Op) Group {
	grp := Group{Key: key, Mult: 0}
	switch op.Kind {
	case ir.MatMul:
		grp.Kind, grp.K, grp.N = GEMM, op.MatMul.K, op.MatMul.N
	case ir.Attention:
		a := op.Attn
		grp.Kind, grp.Heads, grp.KVHeads, grp.HeadDim = Attention, a.Heads, a.KVHeads, a.HeadDim
	case ir.Embedding:
		grp.Kind = Embedding
		grp.N = b.g.Tensor(op.Outputs[0]).Shape[len(b.g.Tensor(op.Outputs[0]).Shape)-1]
	}
	grp.Schemes = b.schemes(candidates[grp.Kind]...)
	return grp
}

// schemes filters the candidates by the configured family and the allow
// and deny lists.
func (b *builder) schemes(cands ...Scheme) []Scheme {
	allowed, restricted := familySchemes[b.cfg.Family]
	if b.cfg.TPCommOverlap {
		allowed = append(allowed[:len(allowed):len(allowed)], RingX, RingY)
	}
	var out []Scheme
	for _, c := range cands {
		if restricted && !slices.Contains(allowed, c) ||
			len(b.cfg.Allow) > 0 && !slices.Contains(b.cfg.Allow, c) || slices.Contains(b.cfg.Deny, c) {
			continue
		}
		out = append(out, c)
	}
	return sortedSchemes(out)
}

// noSchemeLeft names the first group whose schemes the family and the
// allow and deny lists removed all of.
func (b *builder) noSchemeLeft() error {
	for _, g := range b.sp.Groups {
		if len(g.Schemes) == 0 {
			return fmt.Errorf("partition: group %s has no scheme left: family %s, allowed %v, denied %v", g.Key, b.cfg.Family, b.cfg.Allow, b.cfg.Deny)
		}
	}
	return nil
}

// countWeights adds the op's weights to its group: every weight element to
// WeightElems (summed over the layers the group stands for, divided by
// them in finishEdges), and to Params those no earlier group used.
func (b *builder) countWeights(grp *Group, op *ir.Op) {
	for _, t := range op.Inputs {
		w := b.g.Tensor(t)
		if w.Role != ir.Weight {
			continue
		}
		grp.WeightElems += w.NumElements()
		if !b.owner[t] {
			b.owner[t] = true
			grp.Params += w.NumElements()
		}
	}
}

// attach places a forward pointwise op in the layout of the latest group
// whose output reaches it through pointwise ops only; every other such
// group must agree with it (a merge edge).
func (b *builder) attach(op *ir.Op) {
	type src struct {
		group int
		head  ir.OpID
		elems int64
	}
	var srcs []src
	for _, t := range op.Inputs {
		p := b.producers[t]
		if p == ir.NoOp || b.groupOf[p] < 0 {
			continue
		}
		srcs = append(srcs, src{b.groupOf[p], b.headOf[p], b.perToken(t)})
	}
	if len(srcs) == 0 {
		return
	}
	best := srcs[0]
	for _, s := range srcs[1:] {
		if s.head > best.head {
			best = s
		}
	}
	b.groupOf[op.ID], b.headOf[op.ID] = best.group, best.head
	b.sp.Pointwise = append(b.sp.Pointwise, Attached{Op: op.ID, Group: best.group})
	for _, s := range srcs {
		if s.head != best.head && s.group != best.group {
			b.addEdge(Edge{From: s.group, To: best.group, Out: true, Elems: s.elems})
		}
	}
}

// perToken is a tensor's elements per token of the step.
func (b *builder) perToken(t ir.TensorID) int64 { return b.g.Tensor(t).NumElements() / b.tokens() }

// inEdge records that group gi reads tensor t, produced by a group or a
// pointwise op attached to one.
func (b *builder) inEdge(t ir.TensorID, gi int) {
	p := b.producers[t]
	if p == ir.NoOp || b.groupOf[p] < 0 {
		return
	}
	b.addEdge(Edge{From: b.groupOf[p], To: gi, Elems: b.perToken(t)})
}

func (b *builder) addEdge(e Edge) { b.edges[e]++ }

// backward assigns each backward op to the group of the forward op it
// differentiates ("x.dX", "x.dW", "x.db" of x) or whose input gradient it
// sums ("acc.x"); pointwise ones are attached as their forward op was.
func (b *builder) backward() {
	byKey := map[string]ir.OpID{}
	for i := range b.g.Ops {
		op := &b.g.Ops[i]
		if op.Phase == ir.Forward {
			byKey[fmt.Sprintf("%s/%d/%s", op.Class, op.Layer, opKey(op))] = op.ID
		}
	}
	for i := range b.g.Ops {
		op := &b.g.Ops[i]
		if op.Phase != ir.Backward {
			continue
		}
		base := op.Key
		if strings.HasPrefix(base, "acc.") {
			base = strings.TrimPrefix(base, "acc.")
		} else if j := strings.LastIndex(base, "."); j >= 0 {
			base = base[:j]
		}
		fwd, ok := byKey[fmt.Sprintf("%s/%d/%s", op.Class, op.Layer, base)]
		if !ok || b.groupOf[fwd] < 0 {
			continue
		}
		gi := b.groupOf[fwd]
		b.groupOf[op.ID] = gi
		if isGroupOp(b.g.Op(fwd)) && !strings.HasPrefix(op.Key, "acc.") && op.Kind != ir.Elementwise {
			b.sp.Groups[gi].Ops = append(b.sp.Groups[gi].Ops, op.ID)
		} else {
			b.sp.Pointwise = append(b.sp.Pointwise, Attached{Op: op.ID, Group: gi})
		}
	}
}

// finishEdges sets group multiplicities and turns counted edges into a
// sorted list.
func (b *builder) finishEdges() {
	for gi := range b.sp.Groups {
		grp := &b.sp.Groups[gi]
		layers := map[int]bool{}
		for _, id := range grp.Ops {
			if op := b.g.Op(id); op.Phase == ir.Forward {
				layers[op.Layer] = true
			}
		}
		grp.Mult = len(layers)
		grp.WeightElems /= int64(grp.Mult)
	}
	for e, n := range b.edges {
		e.Mult = n
		b.sp.Edges = append(b.sp.Edges, e)
	}
	sort.Slice(b.sp.Edges, func(i, j int) bool {
		a, c := b.sp.Edges[i], b.sp.Edges[j]
		if a.From != c.From {
			return a.From < c.From
		}
		if a.To != c.To {
			return a.To < c.To
		}
		if a.Out != c.Out {
			return !a.Out
		}
		return a.Elems < c.Elems
	})
}

// canonicalSchemes gives every group the one scheme its baseline runs: the
// first of the baseline's schemes for its kind whose input layout is the
// output layout of the earliest group producing its input (the first
// group, with no producer, takes the first). Megatron's column→row pairs
// follow: a norm's replicated (or sequence-split) output feeds a column
// GEMM, whose column-split output feeds attention by heads and then a row
// GEMM.
func (b *builder) canonicalSchemes() {
	pref := canonical[b.cfg.Baseline]
	for gi := range b.sp.Groups {
		grp := &b.sp.Groups[gi]
		cands := pref[grp.Kind]
		pick := cands[0]
		for _, e := range b.sp.Edges {
			if e.To != gi || e.Out || e.From >= gi {
				continue
			}
			in := b.sp.Groups[e.From].Schemes[0].Out()
			for _, c := range cands {
				if c.In() == in {
					pick = c
					break
				}
			}
			break
		}
		grp.Schemes = []Scheme{pick}
		if o, ok := overlapped[b.cfg.Baseline][pick]; ok {
			grp.Schemes = sortedSchemes([]Scheme{pick, o})
		}
	}
}

// keepInBlocks takes fsdp-keep from every group but the layer blocks of
// an aliased space: it keeps a layer's gathered weights from the layer's
// forward run to its backward run, which only blocks of layers lowered as
// one repeated program have.
func (b *builder) keepInBlocks() error {
	for gi := range b.sp.Groups {
		grp := &b.sp.Groups[gi]
		if grp.Work.Block && !b.cfg.Unaliased {
			continue
		}
		grp.Schemes = slices.DeleteFunc(grp.Schemes, func(s Scheme) bool { return s == FSDPKeep })
		if len(grp.Schemes) == 0 {
			return fmt.Errorf("partition: %s: fsdp-keep runs in the layer blocks of an aliased space only, and no other scheme is allowed here", grp.Key)
		}
	}
	return nil
}
