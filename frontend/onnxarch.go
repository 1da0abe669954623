package frontend

import (
	"fmt"
	"sort"

	"github.com/tempc/tempc/internal/jsonpos"
)

// Recognition of a decoder-only transformer in an indexed ONNX graph (the
// patterns ReadONNX documents). The norms cut the topological order into
// segments: any topological order puts a block's Q, K and V projections
// after its first norm (they read it) and its output projection before
// its second norm (which reads the residual sum), and likewise for the
// feed-forward projections; so projection l of a segment belongs where
// its position falls, whatever order the exporter chose.

// onnxNorm is a normalisation: a fused operator or a decomposition.
type onnxNorm struct {
	node  int // the node giving the normalised output
	at    int // the node named in messages
	kind  string
	width int64
	bias  bool
}

// onnxLinear is a projection by a 2-D weight, as [in, out].
type onnxLinear struct {
	node    int
	weight  string
	in, out int64
	bias    bool
}

// recognise derives the architecture, reporting through g.e; it returns
// nil when it reported a problem.
func (g *onnxGraph) recognise(name string) *Arch {
	norms := g.norms()
	lins := g.linears()
	if g.e.Len() > 0 || g.stop != nil {
		return nil
	}
	if len(norms) < 3 || len(norms)%2 == 0 {
		g.errorf("", "found %d norms; a pre-norm decoder of n blocks has 2n+1 (two a block and a final one)", len(norms))
		return nil
	}
	a := &Arch{Name: name, Layers: int64(len(norms) / 2), Hidden: norms[0].width, Norm: norms[0].kind,
		NormBias: norms[0].bias}
	for _, nm := range norms[1:] {
		if nm.width != a.Hidden || nm.kind != a.Norm || nm.bias != a.NormBias {
			g.errorf(g.desc(nm.at), "is a %s, differing from the first norm, a %s", nm, norms[0])
		}
	}
	segs := make([][]onnxLinear, len(norms))
	for _, l := range lins {
		s := sort.Search(len(norms), func(k int) bool { return norms[k].node > l.node }) - 1
		if s < 0 {
			g.errorf(g.desc(l.node), "projects before the first norm (post-norm blocks and embedding projections are not supported)")
			continue
		}
		segs[s] = append(segs[s], l)
	}
	if g.e.Len() > 0 {
		return nil
	}
	var first onnxBlock
	for l := 0; l < int(a.Layers); l++ {
		if g.stop = stopped(g.ctx, g.file); g.stop != nil {
			return nil
		}
		b, ok := g.block(l, norms[2*l:2*l+3], segs[2*l], segs[2*l+1], a.Hidden)
		switch {
		case !ok:
			return nil
		case l == 0:
			first = b
		case b != first:
			g.errorf(fmt.Sprintf("layer %d", l), "has %s, unlike layer 0 with %s", b, first)
			return nil
		}
	}
	a.Heads, a.KVHeads, a.HeadDim, a.FFN = first.heads, first.kvHeads, first.headDim, first.ffn
	a.Activation, a.GatedFFN, a.AttnBias, a.MLPBias = first.act, first.gated, first.attnBias, first.mlpBias
	if !g.head(a, norms[len(norms)-1], segs[len(segs)-1], lins) {
		return nil
	}
	// Validate as Load would build it; a missing context length is Load's
	// to fill.
	chk := *a
	chk.MaxPositions = max(chk.MaxPositions, 1)
	chk.validate(g.e, func(string) jsonpos.Pos { return jsonpos.Pos{File: g.file} }, nil)
	return a
}

func (n onnxNorm) String() string {
	s := fmt.Sprintf("%s of width %d", n.kind, n.width)
	if n.bias {
		s += " with a shift"
	}
	return s
}

// normOps are the fused norms, with the input positions of their scale
// and shift (-1: none).
var normOps = map[string]struct {
	kind         string
	scale, shift int
}{
	"LayerNormalization":               {"layernorm", 1, 2},
	"SkipLayerNormalization":           {"layernorm", 2, 3},
	"SimplifiedLayerNormalization":     {"rmsnorm", 1, -1},
	"RMSNormalization":                 {"rmsnorm", 1, -1},
	"SkipSimplifiedLayerNormalization": {"rmsnorm", 2, -1},
}

// norms finds the norms, in topological order of their outputs.
func (g *onnxGraph) norms() []onnxNorm {
	var out []onnxNorm
	for i, n := range g.nodes {
		if g.cancelled(i) {
			return nil
		}
		if is(n, "ReduceMean", false) {
			if nm, ok := g.decomposedNorm(i); ok {
				out = append(out, nm)
			}
			continue
		}
		op, ok := normOps[n.GetOpType()]
		if !ok {
			continue
		}
		w, ok := g.vector(input(n, op.scale))
		if !ok {
			g.errorf(g.desc(i), "has no 1-D constant scale (norms without a learned scale are not supported)")
			continue
		}
		nm := onnxNorm{node: i, at: i, kind: op.kind, width: w}
		if op.shift >= 0 && input(n, op.shift) != "" {
			if b, ok := g.vector(input(n, op.shift)); !ok || b != w {
				g.errorf(g.desc(i), "has a shift that is not a 1-D constant of the scale's width %d", w)
			}
			nm.bias = true
		}
		out = append(out, nm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].node < out[j].node })
	return out
}

// normSteps are the operators between a decomposed norm's variance and
// its scale: Add of epsilon, Sqrt, Div or Reciprocal and Mul, casts.
var normSteps = map[string]bool{"Add": true, "Sqrt": true, "Div": true, "Reciprocal": true, "Mul": true,
	"Cast": true, "Identity": true}

// decomposedNorm recognises a norm from the ReduceMean at r of a square
// (Pow, or Mul of a value by itself): a LayerNorm when the squared value
// is the input minus its mean (Sub of a ReduceMean), else an RMSNorm. Its
// scale is the first Mul by a 1-D constant after the mean, its shift an
// Add of a 1-D constant of the same width right after.
func (g *onnxGraph) decomposedNorm(r int) (onnxNorm, bool) {
	sq, _ := g.producer(input(g.nodes[r], 0))
	if !is(sq, "Pow", false) && !(is(sq, "Mul", false) && input(sq, 0) == input(sq, 1)) {
		return onnxNorm{}, false
	}
	nm := onnxNorm{at: r, kind: "rmsnorm"}
	if sub, _ := g.producer(input(sq, 0)); is(sub, "Sub", false) {
		if mean, _ := g.producer(input(sub, 1)); is(mean, "ReduceMean", false) && input(mean, 0) == input(sub, 0) {
			nm.kind = "layernorm"
		}
	}
	scale := g.walk(r, normSteps, func(i int) bool {
		n := g.nodes[i]
		if !is(n, "Mul", false) {
			return false
		}
		_, ok0 := g.vector(input(n, 0))
		_, ok1 := g.vector(input(n, 1))
		return ok0 || ok1
	})
	if scale < 0 {
		g.errorf(g.desc(r), "starts a norm without a learned scale (a Mul by a 1-D constant), which is not supported")
		return onnxNorm{}, false
	}
	nm.node = scale
	n := g.nodes[scale]
	nm.width, _ = g.vector(input(n, 0))
	if w, ok := g.vector(input(n, 1)); ok {
		nm.width = w
	}
	for _, u := range g.users[output(n)] {
		if add := g.nodes[u]; is(add, "Add", false) {
			for _, in := range add.GetInput() {
				if w, ok := g.vector(in); ok && w == nm.width {
					nm.node, nm.bias = u, true
				}
			}
		}
	}
	return nm, true
}

// maxWalk bounds the nodes a local search visits.
const maxWalk = 64

// walk searches forward from node from, breadth first, through nodes
// whose operator is in via, for the first node satisfying found; it
// returns the node's position or -1.
func (g *onnxGraph) walk(from int, via map[string]bool, found func(int) bool) int {
	queue := []int{from}
	seen := map[int]bool{from: true}
	for steps := 0; len(queue) > 0 && steps < maxWalk; steps++ {
		i := queue[0]
		queue = queue[1:]
		for _, out := range g.nodes[i].GetOutput() {
			for _, u := range g.users[out] {
				if seen[u] {
					continue
				}
				seen[u] = true
				if found(u) {
					return u
				}
				if via[g.nodes[u].GetOpType()] {
					queue = append(queue, u)
				}
			}
		}
	}
	return -1
}

// linears finds the projections: MatMul and Gemm by a 2-D constant, and
// com.microsoft Attention (whose weight is the fused QKV projection).
func (g *onnxGraph) linears() []onnxLinear {
	var out []onnxLinear
	for i, n := range g.nodes {
		if g.cancelled(i) {
			return nil
		}
		var l onnxLinear
		var ok bool
		switch {
		case is(n, "MatMul", false):
			l.weight, l.in, l.out, ok = g.matrix(input(n, 1))
			if ok {
				l.bias = g.biasAfter(output(n), l.out, 0)
			}
		case is(n, "Gemm", false):
			l.weight, l.in, l.out, ok = g.matrix(input(n, 1))
			if ok && intAttr(n, "transA", 0) != 0 {
				g.errorf(g.desc(i), "transposes its input (transA), which tempc does not read")
				continue
			}
			if intAttr(n, "transB", 0) != 0 {
				l.in, l.out = l.out, l.in
			}
			if ok {
				l.bias = g.isBias(input(n, 2), l.out) || g.biasAfter(output(n), l.out, 0)
			}
		case is(n, "Attention", true):
			l.weight, l.in, l.out, ok = g.matrix(input(n, 1))
			if !ok {
				g.errorf(g.desc(i), "has no 2-D constant QKV weight")
				continue
			}
			l.bias = g.isBias(input(n, 2), l.out)
		}
		if ok {
			l.node = i
			out = append(out, l)
		}
	}
	return out
}

// isBias tells whether v is a 1-D constant of the given width.
func (g *onnxGraph) isBias(v string, width int64) bool {
	w, ok := g.vector(v)
	return ok && w == width
}

// biasAfter tells whether the projection output v (of the given width) is
// shifted by a bias: an Add of a 1-D constant, or the bias input of a fused
// successor (FastGelu, BiasGelu, the Skip norms, MultiHeadAttention's
// packed QKV bias), possibly after a Reshape or Cast.
func (g *onnxGraph) biasAfter(v string, width int64, depth int) bool {
	for _, u := range g.users[v] {
		n := g.nodes[u]
		k := 0
		for k < len(n.GetInput()) && n.GetInput()[k] != v {
			k++
		}
		var found bool
		switch n.GetOpType() {
		case "Add":
			found = g.isBias(input(n, 1-min(k, 1)), width)
		case "FastGelu", "BiasGelu":
			found = k == 0 && g.isBias(input(n, 1), width)
		case "SkipLayerNormalization":
			found = k <= 1 && g.isBias(input(n, 4), width)
		case "SkipSimplifiedLayerNormalization":
			found = k <= 1 && g.isBias(input(n, 3), width)
		case "MultiHeadAttention":
			found = k <= 2 && input(n, 3) != ""
		case "Reshape", "Cast", "Identity":
			found = k == 0 && depth < 2 && g.biasAfter(output(n), width, depth+1)
		}
		if found {
			return true
		}
	}
	return false
}
