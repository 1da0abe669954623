package frontend

import (
	"fmt"
	"math"

	"github.com/tempc/tempc/frontend/onnxpb"
)

// The ONNX models under testdata/onnx, built as their exporters lay them
// out, with the sizes of the config.json beside them: gpt2.json (2 layers,
// hidden 64, 4 heads, FFN 256, 128 tokens and 128 positions, so that only
// the input_ids input tells the tables apart) and llama.json (2 layers,
// hidden 64, 4 heads sharing 2 key/value heads, FFN 176, 96 tokens, 128
// positions).
const (
	tinyLayers, tinyHidden, tinyHeads, tinyHeadDim = 2, 64, 4, 16
	gpt2FFN, gpt2Vocab, gpt2Positions              = 256, 128, 128
	llamaKV, llamaFFN, llamaVocab, llamaPositions  = 2, 176, 96, 128
)

// onnxModels generates each test model; the key is its file name.
var onnxModels = map[string]func() *onnxpb.ModelProto{
	"gpt2.onnx":      gpt2ONNX,
	"gpt2-ort.onnx":  gpt2FusedONNX,
	"llama.onnx":     llamaONNX,
	"llama-ort.onnx": llamaFusedONNX,
}

// gpt2ONNX is GPT-2 as torch.onnx (TorchScript, opset 14) exports
// GPT2LMHeadModel: Conv1D as Reshape-Gemm-Reshape, fused c_attn split
// three ways, heads split by Reshape to a traced shape ending in
// [heads, head_dim], decomposed LayerNorm and tanh GELU, and the LM head
// tied to the token table through a Transpose. Weights are external.
func gpt2ONNX() *onnxpb.ModelProto { return gpt2ONNXLayers(tinyLayers) }

// gpt2ONNXLayers is gpt2ONNX with the given number of blocks.
func gpt2ONNXLayers(layers int) *onnxpb.ModelProto {
	const h = tinyHidden
	b := newONNXBuilder("gpt2.onnx.data")
	ids := b.input("input_ids", onnxpb.TensorProto_INT64, "batch", "seq")
	b.scope = "/transformer"
	seq := b.op("Gather", []string{b.op("Shape", []string{ids}), b.scalarInt(1)}, aInt("axis", 0))
	pos := b.op("Range", []string{b.scalarInt(0), seq, b.scalarInt(1)})
	pos = b.op("Unsqueeze", []string{pos, b.ints(0)})
	b.scope = "/transformer/wte"
	wte := b.weight("transformer.wte.weight", gpt2Vocab, h)
	x := b.op("Gather", []string{wte, ids})
	b.scope = "/transformer/wpe"
	p := b.op("Gather", []string{b.weight("transformer.wpe.weight", gpt2Positions, h), pos})
	b.scope = "/transformer"
	x = b.op("Add", []string{x, p})
	for l := 0; l < layers; l++ {
		scope, w := fmt.Sprintf("/transformer/h.%d", l), fmt.Sprintf("transformer.h.%d", l)
		b.scope = scope + "/ln_1"
		n := b.layerNorm(x, w+".ln_1", h)
		b.scope = scope + "/attn"
		a := b.gpt2Attention(n, w)
		b.scope = scope
		x = b.op("Add", []string{a, x})
		b.scope = scope + "/ln_2"
		n = b.layerNorm(x, w+".ln_2", h)
		b.scope = scope + "/mlp"
		m := b.conv1d(n, w+".mlp.c_fc", h, gpt2FFN)
		m = b.conv1d(b.tanhGELU(m), w+".mlp.c_proj", gpt2FFN, h)
		b.scope = scope
		x = b.op("Add", []string{x, m})
	}
	b.scope = "/transformer/ln_f"
	x = b.layerNorm(x, "transformer.ln_f", h)
	b.scope = "/lm_head"
	logits := b.op("MatMul", []string{x, b.op("Transpose", []string{wte}, aInts("perm", 1, 0))})
	b.g.Output = append(b.g.Output, valueInfo(logits, onnxpb.TensorProto_FLOAT, "batch", "seq", gpt2Vocab))
	return b.model("pytorch", 14, false)
}

// conv1d is GPT-2's Conv1D: addmm on the flattened input, then the view
// back to x.size()[:-1] + (out,).
func (b *onnxBuilder) conv1d(x, prefix string, in, out int64) string {
	flat := b.op("Reshape", []string{x, b.ints(-1, in)})
	y := b.op("Gemm", []string{flat, b.weight(prefix+".weight", in, out), b.weight(prefix+".bias", out)},
		aFloat("alpha", 1), aFloat("beta", 1))
	return b.op("Reshape", []string{y, b.shape(b.dim(x, 0), b.dim(x, 1), b.ints(out))})
}

// gpt2Attention is GPT2Attention: c_attn, split, per-head scores scaled,
// causally masked from the bias buffer, Softmax, context, merge, c_proj.
func (b *onnxBuilder) gpt2Attention(x, w string) string {
	const h = tinyHidden
	qkv := b.node("", "Split", 3, []string{b.conv1d(x, w+".attn.c_attn", h, 3*h), b.ints(h, h, h)}, aInt("axis", 2))
	heads := func(t string, perm ...int64) string {
		s := b.shape(b.dim(t, 0), b.dim(t, 1), b.ints(tinyHeads), b.ints(tinyHeadDim))
		return b.op("Transpose", []string{b.op("Reshape", []string{t, s})}, aInts("perm", perm...))
	}
	q, k, v := heads(qkv[0], 0, 2, 1, 3), heads(qkv[1], 0, 2, 3, 1), heads(qkv[2], 0, 2, 1, 3)
	s := b.op("Div", []string{b.op("MatMul", []string{q, k}), b.scalar(math.Sqrt(tinyHeadDim))})
	mask := b.op("Slice", []string{b.boolBuffer(w+".attn.bias", 1, 1, gpt2Positions, gpt2Positions),
		b.ints(0), b.dim(q, 2), b.ints(3)})
	s = b.op("Where", []string{mask, s, b.scalar(-3.4e38)})
	c := b.op("MatMul", []string{b.op("Softmax", []string{s}, aInt("axis", -1)), v})
	c = b.op("Transpose", []string{c}, aInts("perm", 0, 2, 1, 3))
	c = b.op("Reshape", []string{c, b.shape(b.dim(c, 0), b.dim(c, 1), b.ints(h))})
	return b.conv1d(c, w+".attn.c_proj", h, h)
}

// tanhGELU is gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func (b *onnxBuilder) tanhGELU(x string) string {
	half := b.op("Mul", []string{x, b.scalar(0.5)})
	cube := b.op("Mul", []string{b.op("Pow", []string{x, b.scalar(3)}), b.scalar(0.044715)})
	t := b.op("Tanh", []string{b.op("Mul", []string{b.op("Add", []string{x, cube}), b.scalar(math.Sqrt(2 / math.Pi))})})
	return b.op("Mul", []string{half, b.op("Add", []string{t, b.scalar(1)})})
}

// gpt2FusedONNX is GPT-2 after ONNX Runtime's transformer optimizer:
// com.microsoft Attention (QKV weight inside, num_heads attribute),
// SkipLayerNormalization fusing the residual and the projection biases,
// FastGelu fusing the c_fc bias. Weights carry dims only.
func gpt2FusedONNX() *onnxpb.ModelProto { return gpt2FusedONNXLayers(tinyLayers) }

// gpt2FusedONNXLayers is gpt2FusedONNX with the given number of blocks.
func gpt2FusedONNXLayers(layers int) *onnxpb.ModelProto {
	const h = tinyHidden
	b := newONNXBuilder("")
	ids := b.input("input_ids", onnxpb.TensorProto_INT64, "batch", "seq")
	wte := b.weight("transformer.wte.weight", gpt2Vocab, h)
	pos := b.op("Range", []string{b.scalarInt(0), b.op("Gather", []string{b.op("Shape", []string{ids}), b.scalarInt(1)}), b.scalarInt(1)})
	x := b.op("Add", []string{b.op("Gather", []string{wte, ids}),
		b.op("Gather", []string{b.weight("transformer.wpe.weight", gpt2Positions, h), pos})})
	n := b.op("LayerNormalization", []string{x, b.weight("transformer.h.0.ln_1.weight", h), b.weight("transformer.h.0.ln_1.bias", h)},
		aFloat("epsilon", 1e-5))
	for l := 0; l < layers; l++ {
		w := fmt.Sprintf("transformer.h.%d", l)
		b.scope = fmt.Sprintf("/h.%d", l)
		a := b.ms("Attention", 1, []string{n, b.weight(w+".attn.c_attn.weight", h, 3*h), b.weight(w+".attn.c_attn.bias", 3*h)},
			aInt("num_heads", tinyHeads), aInt("unidirectional", 1))[0]
		proj := b.op("MatMul", []string{a, b.weight(w+".attn.c_proj.weight", h, h)})
		sk := b.ms("SkipLayerNormalization", 4, []string{proj, x, b.weight(w+".ln_2.weight", h), b.weight(w+".ln_2.bias", h),
			b.weight(w+".attn.c_proj.bias", h)}, aFloat("epsilon", 1e-5))
		n, x = sk[0], sk[3]
		m := b.op("MatMul", []string{n, b.weight(w+".mlp.c_fc.weight", h, gpt2FFN)})
		m = b.ms("FastGelu", 1, []string{m, b.weight(w+".mlp.c_fc.bias", gpt2FFN)})[0]
		m = b.op("MatMul", []string{m, b.weight(w+".mlp.c_proj.weight", gpt2FFN, h)})
		next := fmt.Sprintf("transformer.h.%d.ln_1", l+1)
		if l == layers-1 {
			next = "transformer.ln_f"
		}
		sk = b.ms("SkipLayerNormalization", 4, []string{m, x, b.weight(next+".weight", h), b.weight(next+".bias", h),
			b.weight(w+".mlp.c_proj.bias", h)}, aFloat("epsilon", 1e-5))
		n, x = sk[0], sk[3]
	}
	b.scope = ""
	logits := b.op("Gemm", []string{b.op("Reshape", []string{n, b.ints(-1, h)}), wte}, aInt("transB", 1))
	b.output(logits, onnxpb.TensorProto_FLOAT, "batch_seq", gpt2Vocab)
	return b.model("onnxruntime.transformers", 14, true)
}
