package frontend

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tempc/tempc/frontend/onnxpb"
)

// onnxOps are the operators of the patterns ReadONNX recognises and of the
// shape, mask and position computations exporters emit around them. An
// empty value means the ONNX domain only; "ms" the com.microsoft domain
// only (ONNX Runtime's fused operators); "any" both. A few are shared
// names whose signatures differ by domain (Attention, RotaryEmbedding).
var onnxOps = func() map[string]string {
	m := map[string]string{}
	for _, op := range strings.Fields(`Abs Add And ArgMax Cast CastLike Ceil Clip Concat Constant
		ConstantOfShape Cos CumSum Div Dropout Equal Erf Exp Expand Flatten Floor Gather
		GatherElements GatherND Gemm Greater GreaterOrEqual Identity IsInf IsNaN Less LessOrEqual
		Log LogSoftmax MatMul Max Min Mod Mul Neg NegativeLogLikelihoodLoss Not Or Pow Range
		Reciprocal ReduceMax ReduceMean ReduceMin ReduceSum Relu Reshape RMSNormalization
		ScatterElements ScatterND Shape Sigmoid Sign Sin Size Slice Softmax
		SoftmaxCrossEntropyLoss Split Sqrt Squeeze Sub Tanh Tile Transpose Trilu Unsqueeze Where
		Xor`) {
		m[op] = ""
	}
	for _, op := range strings.Fields(`MultiHeadAttention GroupQueryAttention SkipLayerNormalization
		SkipSimplifiedLayerNormalization FastGelu BiasGelu QuickGelu`) {
		m[op] = "ms"
	}
	for _, op := range strings.Fields(`Attention RotaryEmbedding Gelu LayerNormalization
		SimplifiedLayerNormalization`) {
		m[op] = "any"
	}
	return m
}()

// onnxHints explain why some operators are rejected.
var onnxHints = map[string]string{
	"If":                    "control flow is not supported (export the decoder without a merged past-key-values branch)",
	"Loop":                  "control flow is not supported",
	"Scan":                  "control flow is not supported",
	"TopK":                  "mixture-of-experts routing is not supported",
	"MatMulNBits":           "quantized models are not supported",
	"MatMulInteger":         "quantized models are not supported",
	"QLinearMatMul":         "quantized models are not supported",
	"DequantizeLinear":      "quantized models are not supported",
	"QuantizeLinear":        "quantized models are not supported",
	"DynamicQuantizeLinear": "quantized models are not supported",
	"GatherBlockQuantized":  "quantized models are not supported",
}

// msDomain is ONNX Runtime's contrib-operator domain.
const msDomain = "com.microsoft"

func onnxSupported(n *onnxpb.NodeProto) bool {
	dom, known := onnxOps[n.GetOpType()]
	switch n.GetDomain() {
	case "", "ai.onnx":
		return known && dom != "ms"
	case msDomain:
		return known && dom != ""
	}
	return false
}

// checkOps reports each unsupported operator type once, at its first node,
// counting the other nodes of that type.
func (g *onnxGraph) checkOps(nodes []*onnxpb.NodeProto) {
	first := map[string]int{}
	count := map[string]int{}
	var keys []string
	for i, n := range nodes {
		if onnxSupported(n) {
			continue
		}
		k := n.GetDomain() + "." + n.GetOpType()
		if _, ok := first[k]; !ok {
			first[k] = i
			keys = append(keys, k)
		}
		count[k]++
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := nodes[first[k]]
		msg := "unsupported operator"
		if h, ok := onnxHints[n.GetOpType()]; ok {
			msg += ": " + h
		}
		if c := count[k]; c > 1 {
			msg += fmt.Sprintf(" (and %d more nodes of this type)", c-1)
		}
		g.errorf(nodeDesc(n, first[k]), "%s", msg)
	}
}
