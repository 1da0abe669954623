package frontend

import (
	"fmt"
	"sort"

	"github.com/tempc/tempc/frontend/onnxpb"
)

// onnxBlock is what one transformer block of an ONNX graph determines.
type onnxBlock struct {
	heads, kvHeads, headDim, ffn int64
	act                          string
	gated, attnBias, mlpBias     bool
}

func (b onnxBlock) String() string {
	return fmt.Sprintf("%d heads of %d, %d key/value heads, FFN %d (%s, gated %t), biases attention %t, FFN %t",
		b.heads, b.headDim, b.kvHeads, b.ffn, b.act, b.gated, b.attnBias, b.mlpBias)
}

// block reads block l from its three norms (its own two and the next) and
// the projections of its attention and feed-forward segments.
func (g *onnxGraph) block(l int, norms []onnxNorm, attn, ffn []onnxLinear, hidden int64) (onnxBlock, bool) {
	var b onnxBlock
	field := fmt.Sprintf("layer %d", l)
	core := g.attentionCore(field, norms[0], norms[1])
	if core < 0 {
		return b, false
	}
	if !g.attention(field, core, attn, hidden, &b) || !g.feedForward(field, ffn, hidden, &b) {
		return b, false
	}
	return b, true
}

// attentionCore returns the one attention operator between two norms: a
// Softmax, or a fused attention operator.
func (g *onnxGraph) attentionCore(field string, from, to onnxNorm) int {
	var cores []int
	for i := from.node + 1; i < to.node; i++ {
		n := g.nodes[i]
		if is(n, "Softmax", false) || is(n, "Attention", false) || is(n, "Attention", true) ||
			is(n, "MultiHeadAttention", true) || is(n, "GroupQueryAttention", true) {
			cores = append(cores, i)
		}
	}
	switch len(cores) {
	case 0:
		g.errorf(field, "no attention between %s and %s (want Softmax or a fused attention operator)",
			g.desc(from.at), g.desc(to.at))
		return -1
	case 1:
		return cores[0]
	}
	g.errorf(field, "%d attention operators (%s, %s); want one a block", len(cores), g.desc(cores[0]), g.desc(cores[1]))
	return -1
}

// attention reads the attention projections: Q, K and V (fused or
// separate) before the core, the output projection after it.
func (g *onnxGraph) attention(field string, core int, lins []onnxLinear, hidden int64, b *onnxBlock) bool {
	if len(lins) != 2 && len(lins) != 4 {
		g.errorf(field, "has %d attention projections; want Q, K and V (or one fused QKV) and an output projection", len(lins))
		return false
	}
	o, qkv := lins[len(lins)-1], lins[:len(lins)-1]
	if o.node < core {
		g.errorf(g.desc(o.node), "precedes the attention %s; want the output projection after it", g.desc(core))
		return false
	}
	b.attnBias = o.bias
	for _, l := range qkv {
		if l.node > core {
			g.errorf(g.desc(l.node), "follows the attention %s; want one output projection", g.desc(core))
			return false
		}
		if l.in != hidden {
			g.errorf(g.desc(l.node), "projects %d inputs; want the hidden size %d", l.in, hidden)
			return false
		}
		if l.bias != o.bias {
			g.errorf(g.desc(l.node), "has bias %t but the output projection %s has %t; tempc models all or none", l.bias, g.desc(o.node), o.bias)
			return false
		}
	}
	q, k, v, hd, ok := g.headWidths(field, core, qkv)
	if !ok {
		return false
	}
	switch {
	case q%hd != 0 || k%hd != 0 || k != v:
		g.errorf(field, "Q, K and V widths %d, %d and %d do not split into heads of %d", q, k, v, hd)
		return false
	case o.in != q || o.out != hidden:
		g.errorf(g.desc(o.node), "projects %d to %d; want the attention width %d to the hidden size %d", o.in, o.out, q, hidden)
		return false
	}
	b.heads, b.kvHeads, b.headDim = q/hd, k/hd, hd
	return true
}

// headWidths returns the Q, K and V widths and the head width (see
// ReadONNX for the rules).
func (g *onnxGraph) headWidths(field string, core int, qkv []onnxLinear) (q, k, v, hd int64, ok bool) {
	c := g.nodes[core]
	heads, kvHeads := smallPositive(intAttr(c, "num_heads", 0)), smallPositive(intAttr(c, "kv_num_heads", 0))
	if is(c, "Attention", false) {
		heads = smallPositive(intAttr(c, "q_num_heads", 0))
	}
	var shapes []headShape
	var split []int64
	for _, l := range qkv {
		s, sp := g.headShapes(l)
		shapes = append(shapes, s...)
		split = append(split, sp...)
	}
	if q, k, v, ok = g.qkvWidths(c, qkv, heads, kvHeads, split); !ok {
		return 0, 0, 0, 0, false
	}
	switch {
	case heads > 0 && q%heads == 0:
		hd = q / heads
	case heads == 0:
		hd = headDimOf(shapes)
	}
	if hd <= 0 {
		g.errorf(field, "cannot tell the number of attention heads: %s has no num_heads attribute and no Reshape to [..., heads, head_dim] follows the projections %s",
			g.desc(core), g.desc(qkv[0].node))
		return 0, 0, 0, 0, false
	}
	if kvHeads > 0 && k != kvHeads*hd {
		g.errorf(g.desc(core), "has %d key/value heads of %d, but K is %d wide", kvHeads, hd, k)
		return 0, 0, 0, 0, false
	}
	return q, k, v, hd, true
}

// qkvWidths returns the widths of Q, K and V: of separate projections, the
// widest is Q; a fused projection splits by com.microsoft Attention's
// qkv_hidden_sizes, by the head counts of the core c, by a three-way
// Split after it, or else evenly (multi-head attention).
func (g *onnxGraph) qkvWidths(c *onnxpb.NodeProto, qkv []onnxLinear, heads, kvHeads int64, split []int64) (q, k, v int64, ok bool) {
	if len(qkv) == 3 {
		w := []int64{qkv[0].out, qkv[1].out, qkv[2].out}
		sort.Slice(w, func(i, j int) bool { return w[i] > w[j] })
		return w[0], w[1], w[2], true
	}
	t := qkv[0].out
	sizes := attr(c, "qkv_hidden_sizes").GetInts()
	switch {
	case is(c, "Attention", true) && len(sizes) == 3:
		q, k, v = sizes[0], sizes[1], sizes[2]
	case heads > 0 && kvHeads > 0 && t%(heads+2*kvHeads) == 0:
		hd := t / (heads + 2*kvHeads)
		q, k, v = heads*hd, kvHeads*hd, kvHeads*hd
	case len(split) == 3:
		q, k, v = split[0], split[1], split[2]
	default:
		q, k, v = t/3, t/3, t/3
	}
	if q <= 0 || k <= 0 || v <= 0 || q > t || k > t || v > t || q+k+v != t {
		g.errorf(g.desc(qkv[0].node), "fused QKV projection of width %d does not split into Q, K and V", t)
		return 0, 0, 0, false
	}
	return q, k, v, true
}

// headShape is a head split found after a projection: heads n and head
// width d (0 when unknown) of a value w wide (0 when unknown).
type headShape struct{ n, d, w int64 }

// headDimOf returns the head width the splits agree on, or 0.
func headDimOf(shapes []headShape) int64 {
	hd := int64(0)
	for _, s := range shapes {
		if s.d > 0 {
			if hd != 0 && hd != s.d {
				return 0
			}
			hd = s.d
		}
	}
	if hd != 0 {
		return hd
	}
	for _, s := range shapes {
		if s.n > 0 && s.w > 0 && s.w%s.n == 0 {
			if hd != 0 && hd != s.w/s.n {
				return 0
			}
			hd = s.w / s.n
		}
	}
	return hd
}

// headShapes follows a projection's output forward through biases,
// scalings, casts, Split and width-keeping Reshapes to the Reshapes that
// split heads (or rotary operators with num_heads), and returns the splits
// found, and the sizes of a three-way Split on the way.
func (g *onnxGraph) headShapes(l onnxLinear) (shapes []headShape, split []int64) {
	type item struct {
		v string
		w int64
	}
	queue := []item{{output(g.nodes[l.node]), l.out}}
	seen := map[string]bool{}
	for steps := 0; len(queue) > 0 && steps < maxWalk; steps++ {
		it := queue[0]
		queue = queue[1:]
		if seen[it.v] {
			continue
		}
		seen[it.v] = true
		for _, u := range g.users[it.v] {
			n := g.nodes[u]
			next := func(w int64) { queue = append(queue, item{output(n), w}) }
			switch op := n.GetOpType(); {
			case is(n, "Reshape", false) && input(n, 0) == it.v:
				tail, _ := g.shapeTail(input(n, 1), 0)
				switch {
				case len(tail) == 0:
				case tail[len(tail)-1] == it.w && it.w > 0:
					next(it.w) // [..., width]: not a head split
				default:
					s := headShape{d: smallPositive(tail[len(tail)-1]), w: it.w}
					if len(tail) >= 2 {
						s.n = smallPositive(tail[len(tail)-2])
					}
					shapes = append(shapes, s)
				}
			case is(n, "Split", false) && input(n, 0) == it.v:
				sizes, ok := g.ints(input(n, 1))
				if !ok {
					sizes = attr(n, "split").GetInts()
				}
				if !validSplit(sizes, len(n.GetOutput()), it.w) {
					sizes = nil
				}
				if len(sizes) == 3 {
					split = sizes
				}
				for j, out := range n.GetOutput() {
					w := int64(0)
					switch {
					case sizes != nil:
						w = sizes[j]
					case it.w > 0 && it.w%int64(len(n.GetOutput())) == 0:
						w = it.w / int64(len(n.GetOutput()))
					}
					queue = append(queue, item{out, w})
				}
			case op == "Add" || op == "Sub" || op == "Mul" || op == "Div":
				if g.consts[input(n, 0)] != nil || g.consts[input(n, 1)] != nil {
					next(it.w)
				}
			case op == "Cast" || op == "Identity":
				next(it.w)
			case op == "Slice":
				next(0)
			case op == "RotaryEmbedding":
				if h := smallPositive(intAttr(n, "num_heads", 0)); h > 0 {
					shapes = append(shapes, headShape{n: h, w: it.w})
				}
			}
		}
	}
	return shapes, split
}

// validSplit tells whether sizes split a value w wide (0: unknown) into
// outs positive parts.
func validSplit(sizes []int64, outs int, w int64) bool {
	if len(sizes) != outs {
		return false
	}
	sum := int64(0)
	for _, s := range sizes {
		if s <= 0 || s > maxONNXDim {
			return false
		}
		sum += s
	}
	return w == 0 || sum == w
}

// feedForward reads the FFN projections: one (or, gated, two) up
// projections and a down projection, with the activation between.
func (g *onnxGraph) feedForward(field string, lins []onnxLinear, hidden int64, b *onnxBlock) bool {
	if len(lins) != 2 && len(lins) != 3 {
		g.errorf(field, "has %d feed-forward projections; want an up (or a gate and an up) and a down projection", len(lins))
		return false
	}
	down, ups := lins[len(lins)-1], lins[:len(lins)-1]
	b.ffn, b.gated, b.mlpBias = ups[0].out, len(ups) == 2, down.bias
	from := make([]int, len(ups))
	for i, u := range ups {
		from[i] = u.node
		switch {
		case u.in != hidden || u.out != b.ffn:
			g.errorf(g.desc(u.node), "projects %d to %d; want the hidden size %d to the FFN width %d", u.in, u.out, hidden, b.ffn)
			return false
		case u.bias != down.bias:
			g.errorf(g.desc(u.node), "has bias %t but the down projection %s has %t; tempc models all or none", u.bias, g.desc(down.node), down.bias)
			return false
		}
	}
	if down.in != b.ffn || down.out != hidden {
		g.errorf(g.desc(down.node), "projects %d to %d; want the FFN width %d to the hidden size %d", down.in, down.out, b.ffn, hidden)
		return false
	}
	b.act = g.activation(field, g.between(from, down.node))
	return b.act != ""
}

// activation classifies the nodes between the FFN projections: GELU
// (Gelu, FastGelu, BiasGelu, QuickGelu, or decomposed with Erf or Tanh),
// SiLU (Sigmoid times the input, or QuickGelu with alpha 1) or ReLU.
func (g *onnxGraph) activation(field string, path []int) string {
	found := map[string]bool{}
	for _, i := range path {
		n := g.nodes[i]
		switch n.GetOpType() {
		case "Gelu", "FastGelu", "BiasGelu", "Erf", "Tanh":
			found["gelu"] = true
		case "QuickGelu":
			if a := attr(n, "alpha"); a != nil && a.GetF() == 1 {
				found["silu"] = true
			} else {
				found["gelu"] = true
			}
		case "Sigmoid":
			found["silu"] = true
		case "Relu":
			found["relu"] = true
		}
	}
	names := sortedNames(found)
	switch len(names) {
	case 1:
		return names[0]
	case 0:
		g.errorf(field, "no activation between the feed-forward projections (want GELU, SiLU or ReLU)")
	default:
		g.errorf(field, "several activations between the feed-forward projections (%v)", names)
	}
	return ""
}

// between returns the nodes on paths from any of the nodes from to the
// node to, in topological order.
func (g *onnxGraph) between(from []int, to int) []int {
	lo := to
	fwd := map[int]bool{}
	queue := append([]int(nil), from...)
	for _, f := range from {
		lo = min(lo, f)
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, out := range g.nodes[i].GetOutput() {
			for _, u := range g.users[out] {
				if u < to && !fwd[u] {
					fwd[u] = true
					queue = append(queue, u)
				}
			}
		}
	}
	var path []int
	seen := map[int]bool{}
	queue = []int{to}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, in := range g.nodes[i].GetInput() {
			if _, p := g.producer(in); p > lo && !seen[p] {
				seen[p] = true
				queue = append(queue, p)
				if fwd[p] {
					path = append(path, p)
				}
			}
		}
	}
	sort.Ints(path)
	return path
}
