package frontend

import (
	"context"
	"fmt"

	"github.com/tempc/tempc/ir"
)

// Class tags of the operators a template emits: the repeated transformer
// block, the embedding stage before it and the head after it.
const (
	ClassEmbed = "embed"
	ClassBlock = "block"
	ClassHead  = "head"
)

// Forward builds the forward graph of one step of a: embedding, a.Layers
// pre-norm transformer blocks, final norm, LM head and cross-entropy loss.
// Activations are bf16 and shaped [batch, seq, width]; weights are bf16
// [in, out].
func Forward(a *Arch, s Shape) (*ir.Graph, error) {
	return ForwardStage(a, s, 0, int(a.Layers))
}

// ForwardStage builds the forward graph of one pipeline stage of a: blocks
// first to last−1 (numbered as in the whole model), with the embedding
// when first is 0 and the final norm, LM head and loss when last is
// a.Layers. A stage after the first receives its input as a Boundary
// tensor "stage.in"; a stage before the last sends its output
// (Graph.Outputs), whose gradient Train then takes as given. The last
// stage of a model with tied embeddings holds its own copy of the token
// table for the LM head ("lm_head.w", as Megatron-LM's last stage does;
// the copies' gradients are summed between the first and last stage), so
// the stages' parameters add up to the model's plus that copy.
func ForwardStage(a *Arch, s Shape, first, last int) (*ir.Graph, error) {
	return forwardStage(context.Background(), a, s, first, last)
}

// forwardStage is ForwardStage, stopping between blocks when ctx is done.
func forwardStage(ctx context.Context, a *Arch, s Shape, first, last int) (*ir.Graph, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if err := s.validate(a); err != nil {
		return nil, err
	}
	if first < 0 || last > int(a.Layers) || first >= last {
		return nil, fmt.Errorf("frontend: stage of blocks [%d, %d): want 0 ≤ first < last ≤ %d, the layers of %s", first, last, a.Layers, a.Name)
	}
	b := &builder{g: &ir.Graph{Name: StageName(a, first, last), Batch: s.Batch, Seq: s.Seq, Layers: last - first}, a: a, s: s,
		layer: ir.NoLayer, class: ClassEmbed}
	// Token ids and labels first, as the whole model's graph has them.
	var tokens, labels ir.TensorID
	if first == 0 {
		tokens = b.tensor("tokens", ir.INT32, ir.Input, s.Batch, s.Seq)
	}
	if last == int(a.Layers) {
		labels = b.tensor("labels", ir.INT32, ir.Input, s.Batch, s.Seq)
	}
	var x, wte ir.TensorID
	if first == 0 {
		x, wte = b.embed(tokens)
	} else {
		x = b.tensor("stage.in", ir.BF16, ir.Boundary, s.Batch, s.Seq, a.Hidden)
	}
	for l := first; l < last; l++ {
		if err := stopped(ctx, b.g.Name); err != nil {
			return nil, err
		}
		b.layer, b.class = l, ClassBlock
		x = b.block(x)
	}
	if last < int(a.Layers) {
		b.g.Outputs = []ir.TensorID{x}
		return b.g, nil
	}
	b.layer, b.class = ir.NoLayer, ClassHead
	if first > 0 && a.TiedEmbeddings {
		wte = b.weight("lm_head.w", a.Vocab, a.EmbedDim())
	}
	b.head(x, wte, labels)
	return b.g, nil
}

// builder appends the ops of one template, naming tensors and ops after the
// current layer and class.
type builder struct {
	g     *ir.Graph
	a     *Arch
	s     Shape
	layer int
	class string
}

// StageName names the graph of blocks [first, last) of a: "gpt3-175b[0:48]",
// or the model's name for all its blocks.
func StageName(a *Arch, first, last int) string {
	if first > 0 || last < int(a.Layers) {
		return fmt.Sprintf("%s[%d:%d]", a.Name, first, last)
	}
	return a.Name
}

func (b *builder) name(key string) string {
	if b.layer == ir.NoLayer {
		return key
	}
	return fmt.Sprintf("L%d.%s", b.layer, key)
}

func (b *builder) tensor(key string, dt ir.DType, role ir.Role, shape ...int64) ir.TensorID {
	return b.g.AddTensor(b.name(key), shape, dt, role, b.layer)
}

// act is a bf16 activation of shape [batch, seq, width].
func (b *builder) act(key string, width int64) ir.TensorID {
	return b.tensor(key, ir.BF16, ir.Activation, b.s.Batch, b.s.Seq, width)
}

func (b *builder) weight(key string, shape ...int64) ir.TensorID {
	return b.tensor(key, ir.BF16, ir.Weight, shape...)
}

func (b *builder) op(key string, kind ir.Kind, fn string, in []ir.TensorID, out ...ir.TensorID) *ir.Op {
	id := b.g.AddOp(ir.Op{Name: b.name(key), Kind: kind, Phase: ir.Forward, Fn: fn, Layer: b.layer,
		Class: b.class, Key: key, Inputs: in, Outputs: out})
	return b.g.Op(id)
}

// linear is y = x·W (+ bias): a [batch·seq, in] × [in, out] GEMM.
func (b *builder) linear(key string, x ir.TensorID, in, out int64, bias bool) ir.TensorID {
	ins := []ir.TensorID{x, b.weight(key+".w", in, out)}
	if bias {
		ins = append(ins, b.weight(key+".b", out))
	}
	y := b.act(key+".out", out)
	b.g.AddOp(ir.Op{Name: b.name(key), Kind: ir.MatMul, Phase: ir.Forward, Layer: b.layer, Class: b.class,
		Key: key, Inputs: ins, Outputs: []ir.TensorID{y},
		MatMul: &ir.MatMulAttrs{Batch: 1, M: b.s.Batch * b.s.Seq, N: out, K: in}})
	return y
}

func (b *builder) norm(key string, x ir.TensorID) ir.TensorID {
	h := b.a.Hidden
	ins := []ir.TensorID{x, b.weight(key+".g", h)}
	if b.a.NormBias {
		ins = append(ins, b.weight(key+".b", h))
	}
	y := b.act(key+".out", h)
	b.op(key, ir.Norm, b.a.Norm, ins, y)
	return y
}

func (b *builder) pointwise(key, fn string, width int64, in ...ir.TensorID) ir.TensorID {
	y := b.act(key+".out", width)
	b.op(key, ir.Elementwise, fn, in, y)
	return y
}

// embed emits the token (and learned position) embedding and, for OPT's
// narrow embeddings, the projection to the residual width.
func (b *builder) embed(tokens ir.TensorID) (x, wte ir.TensorID) {
	a := b.a
	e := a.EmbedDim()
	wte = b.weight("tok.w", a.Vocab, e)
	x = b.act("tok.out", e)
	b.op("tok", ir.Embedding, "", []ir.TensorID{tokens, wte}, x)
	if e != a.Hidden {
		x = b.linear("proj_in", x, e, a.Hidden, false)
	}
	if a.LearnedPositions {
		wpe := b.weight("pos.w", a.MaxPositions+a.PositionOffset, a.Hidden)
		p := b.act("pos.out", a.Hidden)
		b.op("pos", ir.Embedding, "", []ir.TensorID{tokens, wpe}, p)
		x = b.pointwise("add", "add", a.Hidden, x, p)
	}
	return x, wte
}

// block emits one pre-norm transformer block and returns its output.
func (b *builder) block(x ir.TensorID) ir.TensorID {
	a := b.a
	h := a.Hidden
	qkvWidth := (a.Heads + 2*a.KVHeads) * a.HeadDim
	attnWidth := a.Heads * a.HeadDim

	n1 := b.norm("ln1", x)
	qkv := b.linear("attn.qkv", n1, h, qkvWidth, a.AttnBias)
	ctx := b.act("attn.core.out", attnWidth)
	b.g.AddOp(ir.Op{Name: b.name("attn.core"), Kind: ir.Attention, Phase: ir.Forward, Layer: b.layer,
		Class: b.class, Key: "attn.core", Inputs: []ir.TensorID{qkv}, Outputs: []ir.TensorID{ctx},
		Attn: &ir.AttnAttrs{Batch: b.s.Batch, SeqQ: b.s.Seq, SeqKV: b.s.Seq, Heads: a.Heads,
			KVHeads: a.KVHeads, HeadDim: a.HeadDim, Causal: true, Rope: !a.LearnedPositions}})
	proj := b.linear("attn.out", ctx, attnWidth, h, a.AttnBias)
	x = b.pointwise("res1", "add", h, x, proj)

	n2 := b.norm("ln2", x)
	var hidden ir.TensorID
	if a.GatedFFN {
		gate := b.linear("mlp.gate", n2, h, a.FFN, a.MLPBias)
		up := b.linear("mlp.up", n2, h, a.FFN, a.MLPBias)
		hidden = b.pointwise("mlp.act", "swiglu", a.FFN, gate, up)
	} else {
		up := b.linear("mlp.up", n2, h, a.FFN, a.MLPBias)
		hidden = b.pointwise("mlp.act", a.Activation, a.FFN, up)
	}
	down := b.linear("mlp.down", hidden, a.FFN, h, a.MLPBias)
	return b.pointwise("res2", "add", h, x, down)
}

// head emits the final norm, the LM head (tied or not) and the loss.
func (b *builder) head(x, wte, labels ir.TensorID) {
	a := b.a
	e := a.EmbedDim()
	x = b.norm("ln_f", x)
	if e != a.Hidden {
		x = b.linear("proj_out", x, a.Hidden, e, false)
	}
	logits := b.act("lm_head.out", a.Vocab)
	mm := &ir.MatMulAttrs{Batch: 1, M: b.s.Batch * b.s.Seq, N: a.Vocab, K: e}
	w := wte
	if a.TiedEmbeddings {
		mm.TransB = true // logits = x · wteᵀ, wte stored [vocab, width]
	} else {
		w = b.weight("lm_head.w", e, a.Vocab)
	}
	b.g.AddOp(ir.Op{Name: "lm_head", Kind: ir.MatMul, Phase: ir.Forward, Layer: b.layer, Class: b.class,
		Key: "lm_head", Inputs: []ir.TensorID{x, w}, Outputs: []ir.TensorID{logits}, MatMul: mm})
	loss := b.tensor("loss", ir.FP32, ir.Activation)
	b.op("loss", ir.Loss, "", []ir.TensorID{logits, labels}, loss)
}
