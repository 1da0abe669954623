package frontend

import (
	"container/heap"
	"fmt"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

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
func ReadONNX(file string, data []byte) (*Arch, error) {
	e := &jsonpos.Errs{File: file, Prefix: "frontend"}
	pos := jsonpos.Pos{File: file}
	if len(data) == 0 {
		e.Add(pos, "", "empty file, want an ONNX model")
		return nil, e.Err()
	}
	var m onnxpb.ModelProto
	// Fields outside onnxpb's subset (weight data in float_data, subgraphs,
	// docs) are skipped, not kept.
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &m); err != nil {
		e.Add(pos, "", "malformed ONNX model (truncated, or not an ONNX file): %v", err)
		return nil, e.Err()
	}
	g := newONNXGraph(file, e, m.GetGraph())
	if e.Len() > 0 {
		return nil, e.Err()
	}
	a := g.recognise(onnxName(file))
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
	file  string
	e     *jsonpos.Errs
	nodes []*onnxpb.NodeProto
	index []int // the node's position in the file
	prod  map[string]int
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
func newONNXGraph(file string, e *jsonpos.Errs, gp *onnxpb.GraphProto) *onnxGraph {
	g := &onnxGraph{file: file, e: e, prod: map[string]int{}, users: map[string][]int{},
		consts: map[string]*onnxpb.TensorProto{}, inputs: map[string]bool{}}
	if len(gp.GetNode()) == 0 {
		g.errorf("", "the model has no graph nodes (want an exported decoder-only LLM)")
		return g
	}
	g.checkOps(gp.GetNode())
	if e.Len() > 0 {
		return g
	}
	defined := map[string]string{} // value → what defines it
	twice := 0
	define := func(v, by string) {
		if first, ok := defined[v]; ok {
			if twice++; twice <= maxONNXErrors {
				g.errorf("", "value %q is defined twice (%s and %s)", v, first, by)
			}
			return
		}
		defined[v] = by
	}
	for _, t := range gp.GetInitializer() {
		define(t.GetName(), fmt.Sprintf("initializer %q", t.GetName()))
		g.addConst(t.GetName(), t, fmt.Sprintf("initializer %q", t.GetName()))
	}
	for _, in := range gp.GetInput() {
		if _, init := g.consts[in.GetName()]; !init {
			define(in.GetName(), fmt.Sprintf("graph input %q", in.GetName()))
			g.inputs[in.GetName()] = true
		}
	}
	nodeOf := map[string]int{} // value → file position of its node
	for i, n := range gp.GetNode() {
		for _, out := range n.GetOutput() {
			if out != "" {
				define(out, nodeDesc(n, i))
				nodeOf[out] = i
			}
		}
		if n.GetOpType() == "Constant" && len(n.GetOutput()) > 0 {
			if t := attr(n, "value").GetT(); t != nil {
				g.addConst(n.GetOutput()[0], t, nodeDesc(n, i))
			}
		}
	}
	if twice > maxONNXErrors {
		g.errorf("", "%d more values are defined twice", twice-maxONNXErrors)
	}
	if e.Len() > 0 {
		return g
	}
	g.sortNodes(gp.GetNode(), nodeOf)
	for i, n := range g.nodes {
		for _, out := range n.GetOutput() {
			if out != "" {
				g.prod[out] = i
			}
		}
		for _, in := range n.GetInput() {
			if in != "" {
				g.users[in] = append(g.users[in], i)
			}
		}
	}
	return g
}

// addConst records a constant tensor, rejecting impossible dims.
func (g *onnxGraph) addConst(name string, t *onnxpb.TensorProto, what string) {
	for _, d := range t.GetDims() {
		if d < 0 || d > maxONNXDim {
			g.errorf("", "%s has dimension %d (want 0 to 2^40)", what, d)
			return
		}
	}
	g.consts[name] = t
}

// sortNodes orders nodes topologically, keeping the file's order where it
// allows (Kahn's algorithm, lowest file position first), and reports reads
// of undefined values and cycles.
func (g *onnxGraph) sortNodes(nodes []*onnxpb.NodeProto, nodeOf map[string]int) {
	indeg := make([]int, len(nodes))
	next := make([][]int, len(nodes))
	undefined := 0
	for i, n := range nodes {
		seen := map[int]bool{}
		for _, in := range n.GetInput() {
			p, byNode := nodeOf[in]
			switch {
			case in == "" || g.inputs[in] || g.consts[in] != nil && !byNode:
			case !byNode:
				if undefined++; undefined <= maxONNXErrors {
					g.errorf(nodeDesc(n, i), "reads %q, which no node, initializer or graph input defines", in)
				}
			case !seen[p]:
				seen[p] = true
				indeg[i]++
				next[p] = append(next[p], i)
			}
		}
	}
	if undefined > maxONNXErrors {
		g.errorf("", "%d more reads of undefined values", undefined-maxONNXErrors)
	}
	if g.e.Len() > 0 {
		return
	}
	ready := &intHeap{}
	for i := range nodes {
		if indeg[i] == 0 {
			heap.Push(ready, i)
		}
	}
	for ready.Len() > 0 {
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
	op := n.GetOpType()
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		op = d + "." + op
	}
	if n.GetName() != "" {
		return fmt.Sprintf("node %q (op %s)", n.GetName(), op)
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
	i, ok := g.prod[v]
	if !ok {
		return nil, -1
	}
	return g.nodes[i], i
}

// is tells whether n is op in the ONNX domain (ms false) or in
// com.microsoft (ms true).
func is(n *onnxpb.NodeProto, op string, ms bool) bool {
	return n != nil && n.GetOpType() == op && (n.GetDomain() == msDomain) == ms
}
