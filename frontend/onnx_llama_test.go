package frontend

import (
	"fmt"
	"math"

	"github.com/tempc/tempc/frontend/onnxpb"
)

// llamaONNX is Llama as torch.onnx exports LlamaForCausalLM for Optimum
// (transformers 4.4x): separate q, k, v, o projections (k and v narrower:
// grouped-query attention), heads split by Reshape to
// (*input_shape, -1, head_dim), rotary cos and sin computed from
// position_ids and inv_freq (so no table fixes the context length),
// repeat_kv by Expand and Reshape, decomposed RMSNorm, SwiGLU as
// Sigmoid·x times up, and an untied LM head. Weights carry dims only.
func llamaONNX() *onnxpb.ModelProto {
	const h = tinyHidden
	b := newONNXBuilder("")
	ids := b.input("input_ids", onnxpb.TensorProto_INT64, "batch_size", "sequence_length")
	mask := b.input("attention_mask", onnxpb.TensorProto_INT64, "batch_size", "sequence_length")
	posIDs := b.input("position_ids", onnxpb.TensorProto_INT64, "batch_size", "sequence_length")
	b.scope = "/model/embed_tokens"
	x := b.op("Gather", []string{b.weight("model.embed_tokens.weight", llamaVocab, h), ids})
	b.scope = "/model/rotary_emb"
	inv := b.op("Unsqueeze", []string{b.weight("model.rotary_emb.inv_freq", tinyHeadDim/2), b.ints(0, 2)})
	inv = b.op("Expand", []string{inv, b.shape(b.dim(posIDs, 0), b.ints(-1), b.ints(1))})
	p := b.op("Cast", []string{b.op("Unsqueeze", []string{posIDs, b.ints(1)})}, aInt("to", int64(onnxpb.TensorProto_FLOAT)))
	freqs := b.op("Transpose", []string{b.op("MatMul", []string{inv, p})}, aInts("perm", 0, 2, 1))
	emb := b.op("Concat", []string{freqs, freqs}, aInt("axis", -1))
	cos := b.op("Unsqueeze", []string{b.op("Cos", []string{emb}), b.ints(1)})
	sin := b.op("Unsqueeze", []string{b.op("Sin", []string{emb}), b.ints(1)})
	b.scope = "/model"
	m := b.op("Cast", []string{b.op("Unsqueeze", []string{mask, b.ints(1, 2)})}, aInt("to", int64(onnxpb.TensorProto_FLOAT)))
	m = b.op("Mul", []string{b.op("Sub", []string{b.scalar(1), m}), b.scalar(-3.4e38)})
	for l := 0; l < tinyLayers; l++ {
		scope, w := fmt.Sprintf("/model/layers.%d", l), fmt.Sprintf("model.layers.%d", l)
		b.scope = scope + "/input_layernorm"
		n := b.rmsNorm(x, w+".input_layernorm", h)
		b.scope = scope + "/self_attn"
		a := b.llamaAttention(n, w+".self_attn", cos, sin, m)
		b.scope = scope
		x = b.op("Add", []string{x, a})
		b.scope = scope + "/post_attention_layernorm"
		n = b.rmsNorm(x, w+".post_attention_layernorm", h)
		b.scope = scope + "/mlp"
		gate := b.op("MatMul", []string{n, b.weight(w+".mlp.gate_proj.weight", h, llamaFFN)})
		gate = b.op("Mul", []string{gate, b.op("Sigmoid", []string{gate})})
		up := b.op("MatMul", []string{n, b.weight(w+".mlp.up_proj.weight", h, llamaFFN)})
		down := b.op("MatMul", []string{b.op("Mul", []string{gate, up}), b.weight(w+".mlp.down_proj.weight", llamaFFN, h)})
		b.scope = scope
		x = b.op("Add", []string{x, down})
	}
	b.scope = "/model/norm"
	x = b.rmsNorm(x, "model.norm", h)
	b.scope = "/lm_head"
	logits := b.op("MatMul", []string{x, b.weight("onnx::MatMul_lm_head", h, llamaVocab)})
	b.output(logits, onnxpb.TensorProto_FLOAT, "batch_size", "sequence_length", llamaVocab)
	return b.model("pytorch", 17, false)
}

// llamaAttention is LlamaAttention (eager): projections, head split,
// rotary embedding, repeat_kv, scaled masked scores, Softmax, context,
// merge and o_proj.
func (b *onnxBuilder) llamaAttention(x, w, cos, sin, mask string) string {
	const h, hd = tinyHidden, tinyHeadDim
	split := func(t string) string {
		s := b.shape(b.dim(x, 0), b.dim(x, 1), b.ints(-1), b.ints(hd))
		return b.op("Transpose", []string{b.op("Reshape", []string{t, s})}, aInts("perm", 0, 2, 1, 3))
	}
	rope := func(t string) string {
		x1 := b.op("Slice", []string{t, b.ints(0), b.ints(hd / 2), b.ints(-1)})
		x2 := b.op("Slice", []string{t, b.ints(hd / 2), b.ints(math.MaxInt64), b.ints(-1)})
		rot := b.op("Concat", []string{b.op("Neg", []string{x2}), x1}, aInt("axis", -1))
		return b.op("Add", []string{b.op("Mul", []string{t, cos}), b.op("Mul", []string{rot, sin})})
	}
	repeat := func(t string) string {
		u := b.op("Unsqueeze", []string{t, b.ints(2)})
		u = b.op("Expand", []string{u, b.shape(b.dim(x, 0), b.ints(llamaKV), b.ints(tinyHeads/llamaKV), b.dim(x, 1), b.ints(hd))})
		return b.op("Reshape", []string{u, b.shape(b.dim(x, 0), b.ints(tinyHeads), b.dim(x, 1), b.ints(hd))})
	}
	q := b.op("MatMul", []string{x, b.weight(w+".q_proj.weight", h, tinyHeads*hd)})
	k := b.op("MatMul", []string{x, b.weight(w+".k_proj.weight", h, llamaKV*hd)})
	v := b.op("MatMul", []string{x, b.weight(w+".v_proj.weight", h, llamaKV*hd)})
	q, k, v = rope(split(q)), repeat(rope(split(k))), repeat(split(v))
	s := b.op("MatMul", []string{q, b.op("Transpose", []string{k}, aInts("perm", 0, 1, 3, 2))})
	s = b.op("Add", []string{b.op("Mul", []string{s, b.scalar(1 / math.Sqrt(hd))}), mask})
	c := b.op("MatMul", []string{b.op("Softmax", []string{s}, aInt("axis", -1)), v})
	c = b.op("Transpose", []string{c}, aInts("perm", 0, 2, 1, 3))
	c = b.op("Reshape", []string{c, b.shape(b.dim(x, 0), b.dim(x, 1), b.ints(-1))})
	return b.op("MatMul", []string{c, b.weight(w+".o_proj.weight", tinyHeads*hd, h)})
}

// llamaFusedONNX is Llama as ONNX Runtime's model builder writes it:
// SimplifiedLayerNormalization and SkipSimplifiedLayerNormalization, a
// packed QKV MatMul feeding com.microsoft GroupQueryAttention (num_heads,
// kv_num_heads, rotary applied inside from cos and sin caches of
// [positions, head_dim/2]), SiLU as QuickGelu with alpha 1, and past
// key/value inputs. Weights carry dims only.
func llamaFusedONNX() *onnxpb.ModelProto {
	const h, hd = tinyHidden, tinyHeadDim
	b := newONNXBuilder("")
	ids := b.input("input_ids", onnxpb.TensorProto_INT64, "batch_size", "sequence_length")
	mask := b.input("attention_mask", onnxpb.TensorProto_INT64, "batch_size", "total_sequence_length")
	b.scope = "/model/attn_mask_reformat"
	seqlens := b.op("Cast", []string{b.op("Sub", []string{b.op("ReduceSum", []string{mask, b.ints(1)}), b.scalarInt(1)})},
		aInt("to", int64(onnxpb.TensorProto_INT32)))
	total := b.op("Cast", []string{b.op("Gather", []string{b.op("Shape", []string{mask}), b.scalarInt(1)})},
		aInt("to", int64(onnxpb.TensorProto_INT32)))
	cosCache := b.weight("cos_cache", llamaPositions, hd/2)
	sinCache := b.weight("sin_cache", llamaPositions, hd/2)
	b.scope = "/model/embed_tokens"
	x := b.op("Gather", []string{b.weight("model.embed_tokens.weight", llamaVocab, h), ids})
	b.scope = "/model/layers.0/input_layernorm"
	n := b.op("SimplifiedLayerNormalization", []string{x, b.weight("model.layers.0.input_layernorm.weight", h)},
		aFloat("epsilon", 1e-6), aInt("axis", -1))
	for l := 0; l < tinyLayers; l++ {
		scope, w := fmt.Sprintf("/model/layers.%d", l), fmt.Sprintf("model.layers.%d", l)
		pastK := b.input(fmt.Sprintf("past_key_values.%d.key", l), onnxpb.TensorProto_FLOAT, "batch_size", llamaKV, "past_sequence_length", hd)
		pastV := b.input(fmt.Sprintf("past_key_values.%d.value", l), onnxpb.TensorProto_FLOAT, "batch_size", llamaKV, "past_sequence_length", hd)
		b.scope = scope + "/attn"
		qkv := b.op("MatMul", []string{n, b.weight(w+".attn.qkv_proj.weight", h, (tinyHeads+2*llamaKV)*hd)})
		a := b.ms("GroupQueryAttention", 3, []string{qkv, "", "", pastK, pastV, seqlens, total, cosCache, sinCache},
			aInt("num_heads", tinyHeads), aInt("kv_num_heads", llamaKV), aInt("do_rotary", 1))
		o := b.op("MatMul", []string{a[0], b.weight(w+".attn.o_proj.weight", tinyHeads*hd, h)})
		b.scope = scope + "/post_attention_layernorm"
		sk := b.ms("SkipSimplifiedLayerNormalization", 4, []string{o, x, b.weight(w+".post_attention_layernorm.weight", h)},
			aFloat("epsilon", 1e-6))
		n, x = sk[0], sk[3]
		b.scope = scope + "/mlp"
		gate := b.op("MatMul", []string{n, b.weight(w+".mlp.gate_proj.weight", h, llamaFFN)})
		up := b.op("MatMul", []string{n, b.weight(w+".mlp.up_proj.weight", h, llamaFFN)})
		act := b.ms("QuickGelu", 1, []string{gate}, aFloat("alpha", 1))[0]
		down := b.op("MatMul", []string{b.op("Mul", []string{act, up}), b.weight(w+".mlp.down_proj.weight", llamaFFN, h)})
		next := fmt.Sprintf("model.layers.%d.input_layernorm", l+1)
		b.scope = fmt.Sprintf("/model/layers.%d/input_layernorm", l+1)
		if l == tinyLayers-1 {
			next, b.scope = "model.norm", "/model/norm"
		}
		sk = b.ms("SkipSimplifiedLayerNormalization", 4, []string{down, x, b.weight(next+".weight", h)}, aFloat("epsilon", 1e-6))
		n, x = sk[0], sk[3]
	}
	b.scope = "/lm_head"
	logits := b.op("MatMul", []string{n, b.weight("lm_head.MatMul.weight", h, llamaVocab)})
	b.output(logits, onnxpb.TensorProto_FLOAT, "batch_size", "sequence_length", llamaVocab)
	return b.model("onnxruntime-genai", 14, true)
}
