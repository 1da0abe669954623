package frontend

import (
	"fmt"
	"slices"

	"github.com/tempc/tempc/frontend/onnxpb"
)

// weightOps are the operators that read weights, with the input positions
// that may hold one (nil: every input). A constant there that cannot be a
// weight of a floating-point model is reported by checkOperands before
// recognition, whose own complaint (a norm without a scale, a missing LM
// head) would name a consequence rather than the cause.
var weightOps = map[string][]int{
	"MatMul": nil, "Gemm": nil, "Mul": nil, "Add": nil, "Sub": nil, "Div": nil,
	"Gather": {0}, "LayerNormalization": nil, "SimplifiedLayerNormalization": nil,
	"RMSNormalization": nil, "SkipLayerNormalization": nil, "SkipSimplifiedLayerNormalization": nil,
	"Attention": nil, "FastGelu": nil, "BiasGelu": nil,
}

// quantizedTypes are the integer element types of quantized weights.
var quantizedTypes = map[onnxpb.TensorProto_DataType]bool{
	onnxpb.TensorProto_INT8: true, onnxpb.TensorProto_UINT8: true, onnxpb.TensorProto_INT16: true,
	onnxpb.TensorProto_UINT16: true, onnxpb.TensorProto_INT4: true, onnxpb.TensorProto_UINT4: true,
	onnxpb.TensorProto_INT2: true, onnxpb.TensorProto_UINT2: true,
}

// checkOperands reports the constants read where a weight goes that are
// stored quantized (an 8-bit or narrower integer type), or are
// floating-point with a zero-size dimension, and the constant tables a
// Gather looks up (the token and position embeddings, rotary caches) that
// are not 2-D floating-point; recognition would otherwise skip such a
// table and read, say, a learned-position model as a rotary one. It
// returns false when it reported any.
func (g *onnxGraph) checkOperands() bool {
	reported := map[string]bool{}
	for i, n := range g.nodes {
		if g.cancelled(i) {
			return false
		}
		pos, ok := weightOps[n.GetOpType()]
		if !ok {
			continue
		}
		for k, in := range n.GetInput() {
			if in == "" || reported[in] || pos != nil && !slices.Contains(pos, k) {
				continue
			}
			if msg := g.operandProblem(i, k, in); msg != "" {
				reported[in] = true
				g.errorf(g.desc(i), "%s", msg)
			}
		}
	}
	return len(reported) == 0
}

// operandProblem returns what is wrong with input k (value v) of node i as
// a weight, or "".
func (g *onnxGraph) operandProblem(i, k int, v string) string {
	base, t := g.constBehind(v)
	if t == nil {
		return ""
	}
	dt := onnxpb.TensorProto_DataType(t.GetDataType())
	table := is(g.nodes[i], "Gather", false) && k == 0
	// Elementwise arithmetic reads weights (a norm's scale, a bias: 1-D)
	// but also masks: an integer causal mask cast and multiplied (GPT-2's
	// attn.bias, [1, 1, n, n]) is not a quantized weight.
	arith := slices.Contains([]string{"Mul", "Add", "Sub", "Div"}, g.nodes[i].GetOpType())
	switch {
	case quantizedTypes[dt] && (!arith || len(t.GetDims()) == 1):
		return fmt.Sprintf("reads %s, a weight of element type %s; tempc reads floating-point weights only (quantized models are not supported)",
			echo(base), dt)
	case table && !onnxFloat(t.GetDataType()) && len(t.GetDims()) >= 2:
		return fmt.Sprintf("reads %s of element type %s as a lookup table; an embedding table holds floating-point values", echo(base), dt)
	case !onnxFloat(t.GetDataType()):
		return ""
	case slices.Contains(t.GetDims(), 0):
		return fmt.Sprintf("reads %s of shape %v, which has a zero-size dimension; a weight must hold elements", echo(base), t.GetDims())
	case table && len(t.GetDims()) != 2 && g.readsTokens(i):
		return fmt.Sprintf("reads %s of shape %v as the token embedding (it is indexed by input_ids); the token table must be 2-D, [vocab, hidden]",
			echo(base), t.GetDims())
	case table && len(t.GetDims()) != 2:
		return fmt.Sprintf("reads %s of shape %v as a lookup table (an embedding or a rotary cache); it must be 2-D, [rows, width]",
			echo(base), t.GetDims())
	}
	return ""
}

// constBehind follows v back through Transpose, Cast and Identity, as
// weightOf does, to a constant, and returns its name and tensor (nil when
// v does not come from a constant).
func (g *onnxGraph) constBehind(v string) (string, *onnxpb.TensorProto) {
	for hop := 0; hop <= maxPathHops; hop++ {
		if t := g.consts[v]; t != nil {
			return v, t
		}
		n, _ := g.producer(v)
		if n == nil || !is(n, "Transpose", false) && !is(n, "Cast", false) && !is(n, "Identity", false) {
			return "", nil
		}
		v = input(n, 0)
	}
	return "", nil
}
