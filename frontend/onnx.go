package frontend

import (
	"container/heap"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tempc/tempc/frontend/onnxpb"
	"github.com/tempc/tempc/internal/jsonpos"
)

// ReadONNX recognises the decoder-only transformer in an ONNX model (a
// serialised ModelProto, as torch.onnx and Hugging Face Optimum export
// GPT-2- and Llama-shaped models, plain or fused by ONNX Runtime's
// optimizer) and returns its architecture. Only shapes are read: the dims
// of initializers and the values of small integer constants (Reshape and
// Split sizes); weight contents, inline or external, are never read, so a
// file whose weights live in absent external data files reads the same.
//
// The graph must be a stack of pre-norm blocks between a token embedding
// (Gather on a [vocab, hidden] table, with a second [positions, hidden]
// table for learned positions) and a final norm followed by the LM head:
//   - norms: LayerNormalization, SimplifiedLayerNormalization,
//     RMSNormalization, SkipLayerNormalization and
//     SkipSimplifiedLayerNormalization, or their decomposition (ReduceMean
//     over Pow, with Sub of the mean for LayerNorm, then Add, Sqrt,
//     Div or Reciprocal and Mul by a learned scale, and Add of a shift);
//     there are 2·layers+1 of them;
//   - projections: MatMul or Gemm by a 2-D initializer (through Transpose
//     or Cast), with an optional bias (Gemm's C, an Add, or the bias input
//     of a fused successor); per block a fused QKV or separate Q, K, V
//     projections (grouped-query attention when K and V are narrower than
//     Q), an output projection, and an FFN of one input projection (GELU,
//     ReLU or SiLU) or two (gated, as SwiGLU) and a down projection; the
//     last projection between two norms is the one after the attention or
//     activation;
//   - attention: decomposed (MatMul, Softmax, MatMul), com.microsoft
//     Attention, MultiHeadAttention or GroupQueryAttention, or ONNX
//     Attention.
//
// The head count is taken from the num_heads (and kv_num_heads,
// q_num_heads, qkv_hidden_sizes) attributes of a fused attention or rotary
// operator when there is one; otherwise from the Reshape that splits a
// projection's output into heads: its target shape, a constant or a
// Concat whose trailing parts are constants, ends in [heads, head_dim],
// either of which may be -1. The head width then divides the Q, K and V
// widths into heads and key/value heads. A model where neither is found is
// rejected.
//
// The token table is the one whose rows match the LM head's outputs (or,
// if both tables do, the one indexed by the input_ids input). The LM head
// is tied to the token embedding when it reads the same
// initializer (by Gemm's transB or a Transpose); a copy of the table makes
// an untied head, as its parameters are stored twice. The context length
// (MaxPositions) is the row count of the learned position table, or of the
// rotary cos/sin caches when the graph holds them; rotary embeddings
// computed from position ids leave it 0, and Load then takes it from the
// sequence length asked for.
//
// Any operator outside the ones these patterns and their shape and mask
// computations use is rejected by node name and type; so are unread 2-D
// weights, malformed files (with the decoder's complaint) and graphs that
// do not form the pattern. All problems are returned as an ErrorList.
//
// A file whose decoded messages would exceed tempc's bounds (maxONNXNodes
// nodes, maxONNXDecoded bytes of memory, estimated from the wire format)
// is refused before decoding.
func ReadONNX(file string, data []byte) (*Arch, error) {
	return readONNX(context.Background(), file, data)
}

// readONNX is ReadONNX, stopping when ctx is done (between decoding,
// indexing and recognition, and every checkEvery nodes within them) with
// an error wrapping ctx.Err().
func readONNX(ctx context.Context, file string, data []byte) (*Arch, error) {
	e := &jsonpos.Errs{File: file, Prefix: "frontend"}
	pos := jsonpos.Pos{File: file}
	if len(data) == 0 {
		e.Add(pos, "", "empty file, want an ONNX model")
		return nil, e.Err()
	}
	var m onnxpb.ModelProto
	if msg := checkONNXSize(data, m.ProtoReflect().Descriptor()); msg != "" {
		e.Add(pos, "", "%s", msg)
		return nil, e.Err()
	}
	// Fields outside onnxpb's subset (weight data in float_data, subgraphs,
	// docs) are skipped, not kept.
	if err := decodeModel(ctx, file, data, &m); ctx.Err() != nil {
		return nil, stopped(ctx, file)
	} else if err != nil {
		e.Add(pos, "", "malformed ONNX model (truncated, or not an ONNX file): %v", err)
		return nil, e.Err()
	}
	g := newONNXGraph(ctx, file, e, m.GetGraph())
	if g.stop != nil {
		return nil, g.stop
	}
	if e.Len() > 0 {
		return nil, e.Err()
	}
	if !g.checkOperands() {
		if g.stop != nil {
			return nil, g.stop
		}
		return nil, e.Err()
	}
	a := g.recognise(onnxName(file))
	if g.stop != nil {
		return nil, g.stop
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// onnxName names the model after its file, or after the folder of an
// exporter's fixed file name model.onnx.
func onnxName(file string) string {
	base := filepath.Base(file)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	if name == "model" {
		if dir := filepath.Base(filepath.Dir(file)); dir != "." && dir != "/" {
			return dir
		}
	}
	return name
}

// onnxGraph indexes an ONNX graph for recognition. Nodes are kept in a
// topological order (the file's order when it is one, as ONNX requires);
// positions in that order are the node numbers used throughout.
type onnxGraph struct {
	ctx context.Context
	// stop is the error of a done context, once seen: the graph is then
	// incomplete and recognition returns early.
	stop  error
	file  string
	e     *jsonpos.Errs
	nodes []*onnxpb.NodeProto
	index []int // the node's position in the file
	topo  []int // the position in nodes of the node at each file position
	// defs is what defines each value: for a node output, the node's
	// file position (see producer).
	defs  map[string]definer
	users map[string][]int
	// consts are the initializers and Constant nodes' tensors, by value name.
	consts map[string]*onnxpb.TensorProto
	inputs map[string]bool
}

// maxONNXErrors bounds the problems of one kind reported by name (a file
// that is not an exported graph could have thousands).
const maxONNXErrors = 10

// maxONNXDim bounds the dims of tensors (2^40), far above any model's,
// so that products of two stay within int64.
const maxONNXDim = 1 << 40

// newONNXGraph indexes gp, reporting unsupported operators, values
// defined twice or never, and cycles through e.
func newONNXGraph(ctx context.Context, file string, e *jsonpos.Errs, gp *onnxpb.GraphProto) *onnxGraph {
	nodes := gp.GetNode()
	g := &onnxGraph{ctx: ctx, file: file, e: e, users: make(map[string][]int, len(nodes)),
		consts: make(map[string]*onnxpb.TensorProto, len(gp.GetInitializer())), inputs: map[string]bool{}}
	if len(nodes) == 0 {
		g.errorf("", "the model has no graph nodes (want an exported decoder-only LLM)")
		return g
	}
	g.checkOps(nodes)
	if e.Len() > 0 {
		return g
	}
	defs := g.define(gp)
	if e.Len() > 0 || g.stop != nil {
		return g
	}
	g.sortNodes(nodes, defs)
	if e.Len() > 0 || g.stop != nil {
		return g
	}
	g.defs = defs
	g.topo = make([]int, len(nodes))
	for i, k := range g.index {
		g.topo[k] = i
	}
	for i, n := range g.nodes {
		if g.cancelled(i) {
			return g
		}
		for _, in := range n.GetInput() {
			if in != "" {
				g.users[in] = append(g.users[in], i)
			}
		}
	}
	return g
}

// definer is what defines a value: initializer k (node false), graph
// input k, or node k (node true) in file order.
type definer struct {
	k          int
	node, init bool
}

// describe names d in messages.
func (d definer) describe(gp *onnxpb.GraphProto) string {
	switch {
	case d.node:
		return nodeDesc(gp.GetNode()[d.k], d.k)
	case d.init:
		return "initializer " + echo(gp.GetInitializer()[d.k].GetName())
	}
	return "graph input " + echo(gp.GetInput()[d.k].GetName())
}

// define records the constants and graph inputs of gp, reports values
// defined twice, and returns what defines each value.
func (g *onnxGraph) define(gp *onnxpb.GraphProto) map[string]definer {
	defined := make(map[string]definer, len(gp.GetNode())+len(gp.GetInitializer()))
	twice := 0
	def := func(v string, d definer) {
		if first, ok := defined[v]; ok {
			if twice++; twice <= maxONNXErrors {
				g.errorf("", "value %s is defined twice (%s and %s)", echo(v), first.describe(gp), d.describe(gp))
			}
			return
		}
		defined[v] = d
	}
	for k, t := range gp.GetInitializer() {
		def(t.GetName(), definer{k: k, init: true})
		g.addConst(t.GetName(), t, func() string { return "initializer " + echo(t.GetName()) })
	}
	for k, in := range gp.GetInput() {
		if _, init := g.consts[in.GetName()]; !init {
			def(in.GetName(), definer{k: k})
			g.inputs[in.GetName()] = true
		}
	}
	for i, n := range gp.GetNode() {
		if g.cancelled(i) {
			return nil
		}
		for _, out := range n.GetOutput() {
			if out != "" {
				def(out, definer{k: i, node: true})
			}
		}
		if n.GetOpType() == "Constant" && len(n.GetOutput()) > 0 {
			if t := attr(n, "value").GetT(); t != nil {
				g.addConst(n.GetOutput()[0], t, func() string { return nodeDesc(n, i) })
			}
		}
	}
	if twice > maxONNXErrors {
		g.errorf("", "%d more values are defined twice", twice-maxONNXErrors)
	}
	return defined
}

// cancelled tells, every checkEvery-th i, whether the context is done,
// recording its error in g.stop; once it is, it always tells so.
func (g *onnxGraph) cancelled(i int) bool {
	if g.stop == nil && i%checkEvery == 0 {
		g.stop = stopped(g.ctx, g.file)
	}
	return g.stop != nil
}

// addConst records a constant tensor, rejecting impossible dims; what
// names it in messages.
func (g *onnxGraph) addConst(name string, t *onnxpb.TensorProto, what func() string) {
	for _, d := range t.GetDims() {
		if d < 0 || d > maxONNXDim {
			g.errorf("", "%s has dimension %d (want 0 to 2^40)", what(), d)
			return
		}
	}
	g.consts[name] = t
}

// sortNodes orders nodes topologically, keeping the file's order where it
// allows (Kahn's algorithm, lowest file position first), and reports reads
// of undefined values and cycles. A file in topological order, as ONNX
// requires and exporters write, is kept as it is without building the
// edge lists.
func (g *onnxGraph) sortNodes(nodes []*onnxpb.NodeProto, defs map[string]definer) {
	undefined, ordered := 0, true
	for i, n := range nodes {
		if g.cancelled(i) {
			return
		}
		for _, in := range n.GetInput() {
			d, ok := defs[in]
			p, byNode := d.k, ok && d.node
			switch {
			case in == "" || g.inputs[in] || g.consts[in] != nil && !byNode:
			case !byNode:
				if undefined++; undefined <= maxONNXErrors {
					g.errorf(nodeDesc(n, i), "reads %s, which no node, initializer or graph input defines", echo(in))
				}
			case p >= i:
				ordered = false
			}
		}
	}
	if undefined > maxONNXErrors {
		g.errorf("", "%d more reads of undefined values", undefined-maxONNXErrors)
	}
	if g.e.Len() > 0 {
		return
	}
	if ordered {
		g.nodes = nodes
		g.index = make([]int, len(nodes))
		for i := range g.index {
			g.index[i] = i
		}
		return
	}
	g.kahn(nodes, defs)
}

// kahn is sortNodes for a file out of topological order.
func (g *onnxGraph) kahn(nodes []*onnxpb.NodeProto, defs map[string]definer) {
	indeg := make([]int, len(nodes))
	next := make([][]int, len(nodes))
	// seen[p] is i+1 once node i counted its edge from node p.
	seen := make([]int, len(nodes))
	for i, n := range nodes {
		for _, in := range n.GetInput() {
			d, ok := defs[in]
			p, byNode := d.k, ok && d.node
			if in != "" && !g.inputs[in] && byNode && seen[p] != i+1 {
				seen[p] = i + 1
				indeg[i]++
				next[p] = append(next[p], i)
			}
		}
	}
	ready := &intHeap{}
	for i := range nodes {
		if indeg[i] == 0 {
			heap.Push(ready, i)
		}
	}
	for ready.Len() > 0 {
		if g.cancelled(len(g.nodes)) {
			return
		}
		i := heap.Pop(ready).(int)
		g.nodes = append(g.nodes, nodes[i])
		g.index = append(g.index, i)
		for _, j := range next[i] {
			if indeg[j]--; indeg[j] == 0 {
				heap.Push(ready, j)
			}
		}
	}
	for i, n := range nodes {
		if indeg[i] > 0 {
			g.errorf(nodeDesc(n, i), "is on a cycle (an ONNX graph must be acyclic)")
			return
		}
	}
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// nodeDesc names node n (at file position i) in messages: by its name, or
// by its position when it has none, and its operator.
func nodeDesc(n *onnxpb.NodeProto, i int) string {
	op := truncate(n.GetOpType())
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		op = truncate(d) + "." + op
	}
	if n.GetName() != "" {
		return fmt.Sprintf("node %s (op %s)", echo(n.GetName()), op)
	}
	return fmt.Sprintf("node #%d (op %s)", i, op)
}

// desc names the node at topological position i.
func (g *onnxGraph) desc(i int) string { return nodeDesc(g.nodes[i], g.index[i]) }

func (g *onnxGraph) errorf(field, format string, args ...any) {
	g.e.Add(jsonpos.Pos{File: g.file}, field, format, args...)
}

// attr returns n's attribute called name, or nil.
func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// intAttr returns n's integer attribute name, or def when absent.
func intAttr(n *onnxpb.NodeProto, name string, def int64) int64 {
	if a := attr(n, name); a != nil {
		return a.GetI()
	}
	return def
}

// input returns n's k-th input, or "" when it has fewer.
func input(n *onnxpb.NodeProto, k int) string {
	if k < len(n.GetInput()) {
		return n.GetInput()[k]
	}
	return ""
}

// output returns n's first output, or "".
func output(n *onnxpb.NodeProto) string {
	if len(n.GetOutput()) > 0 {
		return n.GetOutput()[0]
	}
	return ""
}

// producer returns the node producing v, or nil for graph inputs,
// initializers and undefined names.
func (g *onnxGraph) producer(v string) (*onnxpb.NodeProto, int) {
	d, ok := g.defs[v]
	if !ok || !d.node {
		return nil, -1
	}
	return g.nodes[g.topo[d.k]], g.topo[d.k]
}

// is tells whether n is op in the ONNX domain (ms false) or in
// com.microsoft (ms true).
func is(n *onnxpb.NodeProto, op string, ms bool) bool {
	return n != nil && n.GetOpType() == op && (n.GetDomain() == msDomain) == ms
}

// maxEcho bounds the bytes of a name, operator or domain from the file
// echoed in a message: a corrupt file may hold megabytes in one.
const maxEcho = 64

// truncate returns s, or when it is longer than maxEcho its first bytes
// (cut at a character boundary) followed by "… (N bytes)".
func truncate(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return s[:echoCut(s)] + fmt.Sprintf("… (%d bytes)", len(s))
}

// echo quotes s as %q does, truncated as truncate does, the count outside
// the quotes.
func echo(s string) string {
	if len(s) <= maxEcho {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:echoCut(s)]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// echoCut is where truncate cuts s: at most maxEcho bytes, not inside a
// UTF-8 sequence.
func echoCut(s string) int {
	n := maxEcho
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
