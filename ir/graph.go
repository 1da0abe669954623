package ir

import "fmt"

// Tensor is a value in the graph. Weights, inputs and optimizer states have
// no producer; every other tensor has exactly one.
type Tensor struct {
	ID    TensorID
	Name  string
	Shape []int64
	DType DType
	Role  Role
	// Layer is the transformer block the tensor belongs to, or NoLayer.
	Layer int
}

// NumElements returns the product of the dimensions (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes returns the tensor's size in bytes.
func (t *Tensor) Bytes() int64 { return t.NumElements() * t.DType.Size() }

// MatMulAttrs describes Y[Batch, M, N] = op(A) · op(B) where op(A) is
// [Batch, M, K] and op(B) is [K, N] (weights are never batched) or
// [Batch, K, N], plus an optional bias of N elements as a third input.
// TransA/TransB say the stored operand is the transpose: a
// weight gradient dW = Xᵀ·dY has TransA, an input gradient dX = dY·Wᵀ has
// TransB.
type MatMulAttrs struct {
	Batch, M, N, K int64
	TransA, TransB bool
}

// AttnAttrs describes fused multi-head attention over a packed QKV operand
// of last dimension (Heads + 2·KVHeads)·HeadDim. KVHeads < Heads is
// grouped-query attention.
type AttnAttrs struct {
	Batch, SeqQ, SeqKV      int64
	Heads, KVHeads, HeadDim int64
	Causal, Rope            bool
}

// Op is one operator. Inputs are read; Outputs are produced (each output
// has this op as its only producer); Updates are tensors modified in place
// (only OptimizerUpdate has them: master weight, Adam moments, bf16 weight).
type Op struct {
	ID    OpID
	Name  string
	Kind  Kind
	Phase Phase
	// Fn names the function of an Elementwise or Norm op (see ElementwiseFns
	// and NormFns); it is empty for other kinds.
	Fn string
	// Layer is the transformer block index, or NoLayer.
	Layer int
	// Class tags ops that are identical across layers: two ops with the same
	// Class, Key and Phase in different layers compute the same thing on
	// same-shaped tensors and may share planning decisions.
	Class string
	// Key is the op's name within its class, e.g. "attn.qkv".
	Key string

	Inputs, Outputs, Updates []TensorID

	MatMul *MatMulAttrs
	Attn   *AttnAttrs

	// FLOPs, BytesRead and BytesWritten are derived by Graph.AddOp (see
	// flops.go): FLOPs from the kind and attributes, bytes as the sizes of
	// the operands read and written.
	FLOPs                   float64
	BytesRead, BytesWritten int64
}

// Graph is one training step of a model: its tensors and operators, each
// addressed by its index.
type Graph struct {
	// Name identifies the model, e.g. "gpt2".
	Name string
	// Batch is the global batch in sequences and Seq the sequence length of
	// the step; both are informational (shapes already carry them).
	Batch, Seq int64
	// Layers is the number of repeated transformer blocks.
	Layers int
	// Outputs are the activations a pipeline stage sends to the stage
	// after it; empty for a whole model or the last stage. Train seeds
	// the backward pass with their gradients (Boundary tensors) where a
	// graph has no loss.
	Outputs []TensorID

	Tensors []Tensor
	Ops     []Op
}

// Tensor returns the tensor with the given ID.
func (g *Graph) Tensor(id TensorID) *Tensor { return &g.Tensors[id] }

// Op returns the operator with the given ID.
func (g *Graph) Op(id OpID) *Op { return &g.Ops[id] }

// AddTensor appends a tensor and returns its ID. The shape is copied.
func (g *Graph) AddTensor(name string, shape []int64, dt DType, role Role, layer int) TensorID {
	id := TensorID(len(g.Tensors))
	g.Tensors = append(g.Tensors, Tensor{ID: id, Name: name, Shape: append([]int64(nil), shape...),
		DType: dt, Role: role, Layer: layer})
	return id
}

// AddOp appends op, assigning its ID and deriving its FLOPs and bytes, and
// returns the ID. Operand slices are copied. AddOp does not check the op:
// malformed operators are reported by Verify.
func (g *Graph) AddOp(op Op) OpID {
	op.ID = OpID(len(g.Ops))
	op.Inputs = append([]TensorID(nil), op.Inputs...)
	op.Outputs = append([]TensorID(nil), op.Outputs...)
	op.Updates = append([]TensorID(nil), op.Updates...)
	if op.MatMul != nil {
		a := *op.MatMul
		op.MatMul = &a
	}
	if op.Attn != nil {
		a := *op.Attn
		op.Attn = &a
	}
	op.FLOPs = g.opFLOPs(&op)
	op.BytesRead = g.sumBytes(op.Inputs)
	op.BytesWritten = g.sumBytes(op.Outputs) + g.sumBytes(op.Updates)
	g.Ops = append(g.Ops, op)
	return op.ID
}

func (g *Graph) sumBytes(ids []TensorID) int64 {
	var b int64
	for _, id := range ids {
		if g.validTensor(id) {
			b += g.Tensors[id].Bytes()
		}
	}
	return b
}

func (g *Graph) validTensor(id TensorID) bool { return id >= 0 && int(id) < len(g.Tensors) }

// Producers returns, indexed by TensorID, the op producing each tensor or
// NoOp. A tensor listed as output by several ops maps to the first; Verify
// reports the others.
func (g *Graph) Producers() []OpID {
	p := make([]OpID, len(g.Tensors))
	for i := range p {
		p[i] = NoOp
	}
	for i := range g.Ops {
		for _, t := range g.Ops[i].Outputs {
			if g.validTensor(t) && p[t] == NoOp {
				p[t] = OpID(i)
			}
		}
	}
	return p
}

// Consumers returns, indexed by TensorID, the ops reading each tensor in
// ascending OpID order.
func (g *Graph) Consumers() [][]OpID {
	c := make([][]OpID, len(g.Tensors))
	for i := range g.Ops {
		for _, t := range g.Ops[i].Inputs {
			if g.validTensor(t) {
				c[t] = append(c[t], OpID(i))
			}
		}
	}
	return c
}

// String returns a one-line description of the op for error messages.
func (op *Op) String() string {
	return fmt.Sprintf("op %d %q (%s %s)", op.ID, op.Name, op.Phase, op.Kind)
}
