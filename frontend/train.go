package frontend

import (
	"context"
	"fmt"

	"github.com/tempc/tempc/ir"
)

// Train appends to a forward graph its backward pass and an Adam optimizer
// step, in place:
//
//   - backward: the forward ops are differentiated in reverse order, each by
//     the rule of its kind (a GEMM Y = X·W gives dX = dY·Wᵀ and dW = Xᵀ·dY;
//     attention, norms and pointwise functions have fused backward ops of
//     the same kind; the loss seeds the pass). A tensor read by several ops
//     gets one gradient per reader, summed by an "add" op (the residual
//     stream; a tied embedding's two gradients).
//   - optimizer: one Adam update per weight, reading its bf16 gradient and
//     updating in place an fp32 master copy and the fp32 moments m and v
//     (mixed precision: 2+2+4+4+4 = 16 bytes per parameter), and the bf16
//     weight.
//
// Backward ops keep the Layer and Class of the op they differentiate, with
// the key suffixed (".dX", ".dW", ...), so identical blocks stay identical.
func Train(g *ir.Graph) error { return train(context.Background(), g) }

// checkEvery is how many ops (or ONNX nodes) a long loop handles between
// two looks at its context: a few milliseconds of work.
const checkEvery = 1 << 12

// train is Train, stopping every checkEvery ops when ctx is done; the
// graph is then left part-differentiated and must be dropped.
func train(ctx context.Context, g *ir.Graph) error {
	t := &trainer{g: g, nFwd: len(g.Ops), contrib: make([][]ir.TensorID, len(g.Tensors)),
		readers: make([]int, len(g.Tensors)), firstReader: make([]ir.OpID, len(g.Tensors))}
	hasLoss := false
	for i := 0; i < t.nFwd; i++ {
		op := g.Op(ir.OpID(i))
		if op.Phase != ir.Forward {
			return fmt.Errorf("frontend: %v: graph already has %s ops; Train expects a forward graph", op, op.Phase)
		}
		hasLoss = hasLoss || op.Kind == ir.Loss
		for _, j := range diffInputs(op) {
			x := op.Inputs[j]
			if t.readers[x] == 0 {
				t.firstReader[x] = op.ID
			}
			t.readers[x]++
		}
	}
	switch {
	case hasLoss && len(g.Outputs) > 0:
		return fmt.Errorf("frontend: graph %q has both a loss and stage outputs; a pipeline stage has one or the other", g.Name)
	case !hasLoss && len(g.Outputs) == 0:
		return fmt.Errorf("frontend: graph %q has no loss op, so there is nothing to differentiate", g.Name)
	}
	// A stage before the last receives its outputs' gradients.
	for _, out := range g.Outputs {
		src := t.tensor(out)
		d := g.AddTensor("d."+src.Name, src.Shape, ir.BF16, ir.Boundary, src.Layer)
		t.contrib[out] = append(t.contrib[out], d)
	}
	for i := t.nFwd - 1; i >= 0; i-- {
		if i%checkEvery == 0 {
			if err := stopped(ctx, g.Name); err != nil {
				return err
			}
		}
		if err := t.backward(ir.OpID(i)); err != nil {
			return err
		}
	}
	// A stage after the first sends back its input's gradient: the sum of
	// its readers' contributions.
	for i := range t.readers { // the forward graph's tensors
		if x := ir.TensorID(i); g.Tensors[i].Role == ir.Boundary && t.readers[x] > 0 {
			t.gradOf(x, ir.ActGrad)
		}
	}
	if err := stopped(ctx, g.Name); err != nil {
		return err
	}
	t.optimizer()
	return nil
}

// diffInputs lists the input positions of op that receive a gradient.
func diffInputs(op *ir.Op) []int {
	switch op.Kind {
	case ir.MatMul:
		if len(op.Inputs) == 3 {
			return []int{0, 1, 2}
		}
		return []int{0, 1}
	case ir.Attention, ir.Softmax, ir.Loss:
		return []int{0}
	case ir.Embedding:
		return []int{1}
	default: // Elementwise, Norm: every operand
		idx := make([]int, len(op.Inputs))
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
}

// trainer holds the state of one differentiation.
type trainer struct {
	g    *ir.Graph
	nFwd int
	// contrib lists the gradient contributions each tensor has received.
	contrib [][]ir.TensorID
	// readers counts, per tensor, the forward operands that will contribute
	// a gradient to it.
	readers []int
	// firstReader is the first forward op reading each tensor. A gradient
	// sum is tagged with its layer and class, so that the sum of a block's
	// input gradient belongs to that block, and it tags Adam updates.
	firstReader []ir.OpID
}

func (t *trainer) tensor(id ir.TensorID) *ir.Tensor { return t.g.Tensor(id) }

// emit appends a backward op derived from fwd.
func (t *trainer) emit(fwd *ir.Op, suffix string, kind ir.Kind, fn string, in, out []ir.TensorID, mm *ir.MatMulAttrs, at *ir.AttnAttrs) {
	t.g.AddOp(ir.Op{Name: fwd.Name + suffix, Kind: kind, Phase: ir.Backward, Fn: fn, Layer: fwd.Layer,
		Class: fwd.Class, Key: keyOf(fwd) + suffix, Inputs: in, Outputs: out, MatMul: mm, Attn: at})
}

// keyOf is the key that derived ops extend: the op's Key, or its Name for
// hand-written graphs that set no key.
func keyOf(op *ir.Op) string {
	if op.Key == "" {
		return op.Name
	}
	return op.Key
}

// fresh makes a new gradient contribution for x and records it. A weight's
// only contribution is its Gradient; several are partial sums, added once
// the last arrives.
func (t *trainer) fresh(x ir.TensorID, fwd *ir.Op) ir.TensorID {
	src := t.tensor(x)
	k := len(t.contrib[x]) + 1
	name, role := "d."+src.Name, ir.ActGrad
	if t.readers[x] > 1 {
		name = fmt.Sprintf("%s#%d", name, k)
	} else if src.Role == ir.Weight {
		role = ir.Gradient
	}
	id := t.g.AddTensor(name, src.Shape, ir.BF16, role, src.Layer)
	t.contrib[x] = append(t.contrib[x], id)
	return id
}

// gradOf returns the gradient of x, summing its contributions if there are
// several, or false when x does not influence the loss.
func (t *trainer) gradOf(x ir.TensorID, role ir.Role) (ir.TensorID, bool) {
	c := t.contrib[x]
	switch len(c) {
	case 0:
		return 0, false
	case 1:
		return c[0], true
	}
	src := t.tensor(x)
	fwd := t.g.Op(t.firstReader[x])
	sum := t.g.AddTensor("d."+src.Name, src.Shape, ir.BF16, role, src.Layer)
	t.g.AddOp(ir.Op{Name: "acc." + src.Name, Kind: ir.Elementwise, Phase: ir.Backward, Fn: "add",
		Layer: fwd.Layer, Class: fwd.Class, Key: "acc." + keyOf(fwd), Inputs: c, Outputs: []ir.TensorID{sum}})
	t.contrib[x] = []ir.TensorID{sum}
	return sum, true
}

// pass forwards dY unchanged as x's contribution (the gradient of an add).
func (t *trainer) pass(x, dy ir.TensorID) {
	t.contrib[x] = append(t.contrib[x], dy)
}

// settleWeight sums a weight's partial gradients once all have arrived.
func (t *trainer) settleWeight(w ir.TensorID) {
	if t.tensor(w).Role == ir.Weight && len(t.contrib[w]) == t.readers[w] && t.readers[w] > 1 {
		t.gradOf(w, ir.Gradient)
	}
}

// backward emits the backward ops of forward op id.
func (t *trainer) backward(id ir.OpID) error {
	op := t.g.Op(id)
	if op.Kind == ir.Loss {
		// (logits, labels) -> dlogits; the loss gradient is 1.
		dl := t.fresh(op.Inputs[0], op)
		t.emit(op, ".dX", ir.Loss, "", op.Inputs, []ir.TensorID{dl}, nil, nil)
		return nil
	}
	dy, ok := t.gradOf(op.Outputs[0], ir.ActGrad)
	if !ok {
		return nil // the output does not reach the loss
	}
	for _, j := range diffInputs(op) {
		if r := t.tensor(op.Inputs[j]).Role; r != ir.Activation && r != ir.Weight && r != ir.Boundary {
			return fmt.Errorf("frontend: cannot differentiate %v: input %d %q has role %v", op, j, t.tensor(op.Inputs[j]).Name, r)
		}
	}
	var err error
	switch op.Kind {
	case ir.MatMul:
		err = t.matmul(op, dy)
	case ir.Attention:
		dqkv := t.fresh(op.Inputs[0], op)
		t.emit(op, ".dX", ir.Attention, "", []ir.TensorID{dy, op.Inputs[0], op.Outputs[0]}, []ir.TensorID{dqkv}, nil, op.Attn)
	case ir.Softmax:
		dx := t.fresh(op.Inputs[0], op)
		t.emit(op, ".dX", ir.Softmax, "", []ir.TensorID{dy, op.Outputs[0]}, []ir.TensorID{dx}, nil, nil)
	case ir.Embedding:
		dw := t.fresh(op.Inputs[1], op)
		t.emit(op, ".dW", ir.Embedding, "", []ir.TensorID{dy, op.Inputs[0]}, []ir.TensorID{dw}, nil, nil)
	case ir.Norm:
		outs := []ir.TensorID{t.fresh(op.Inputs[0], op)}
		for _, w := range op.Inputs[1:] {
			outs = append(outs, t.fresh(w, op))
		}
		t.emit(op, ".dX", ir.Norm, op.Fn, []ir.TensorID{dy, op.Inputs[0], op.Inputs[1]}, outs, nil, nil)
	case ir.Elementwise:
		err = t.elementwise(op, dy)
	default:
		err = fmt.Errorf("frontend: cannot differentiate %v", op)
	}
	if err != nil {
		return err
	}
	for _, j := range diffInputs(op) {
		t.settleWeight(op.Inputs[j])
	}
	return nil
}

// matmul differentiates Y = X·W (+b), with W stored [K, N], or [N, K] when
// TransB (a tied LM head).
func (t *trainer) matmul(op *ir.Op, dy ir.TensorID) error {
	m := op.MatMul
	x, w := op.Inputs[0], op.Inputs[1]
	if m == nil || m.TransA || m.Batch != 1 || t.tensor(w).Role != ir.Weight {
		return fmt.Errorf("frontend: cannot differentiate %v: only activation × weight GEMMs are supported", op)
	}
	// dX[M, K] = dY[M, N] · op(W)ᵀ
	dx := t.fresh(x, op)
	t.emit(op, ".dX", ir.MatMul, "", []ir.TensorID{dy, w}, []ir.TensorID{dx},
		&ir.MatMulAttrs{Batch: 1, M: m.M, N: m.K, K: m.N, TransB: !m.TransB}, nil)
	// dW = Xᵀ·dY [K, N], or dYᵀ·X [N, K] when W is stored transposed.
	dw := t.fresh(w, op)
	if m.TransB {
		t.emit(op, ".dW", ir.MatMul, "", []ir.TensorID{dy, x}, []ir.TensorID{dw},
			&ir.MatMulAttrs{Batch: 1, M: m.N, N: m.K, K: m.M, TransA: true}, nil)
	} else {
		t.emit(op, ".dW", ir.MatMul, "", []ir.TensorID{x, dy}, []ir.TensorID{dw},
			&ir.MatMulAttrs{Batch: 1, M: m.K, N: m.N, K: m.M, TransA: true}, nil)
	}
	if len(op.Inputs) == 3 {
		db := t.fresh(op.Inputs[2], op)
		t.emit(op, ".db", ir.Elementwise, "bias", []ir.TensorID{dy}, []ir.TensorID{db}, nil, nil)
	}
	return nil
}

func (t *trainer) elementwise(op *ir.Op, dy ir.TensorID) error {
	in := op.Inputs
	switch op.Fn {
	case "add":
		for _, x := range in {
			if t.tensor(x).Role == ir.Weight {
				return fmt.Errorf("frontend: cannot differentiate %v: adding a weight directly is not supported; use bias", op)
			}
			t.pass(x, dy)
		}
	case "bias":
		if len(in) != 2 {
			return fmt.Errorf("frontend: cannot differentiate %v: bias takes (x, b)", op)
		}
		t.pass(in[0], dy)
		db := t.fresh(in[1], op)
		t.emit(op, ".db", ir.Elementwise, "bias", []ir.TensorID{dy}, []ir.TensorID{db}, nil, nil)
	case "scale":
		dx := t.fresh(in[0], op)
		t.emit(op, ".dX", ir.Elementwise, "scale", []ir.TensorID{dy}, []ir.TensorID{dx}, nil, nil)
	default: // unary activations and swiglu: (dY, inputs...) -> one gradient per input
		outs := make([]ir.TensorID, len(in))
		for i, x := range in {
			outs[i] = t.fresh(x, op)
		}
		t.emit(op, ".dX", ir.Elementwise, op.Fn, append([]ir.TensorID{dy}, in...), outs, nil, nil)
	}
	return nil
}

// optimizer appends one Adam update per weight, in weight ID order.
func (t *trainer) optimizer() {
	g := t.g
	n := len(g.Tensors)
	for id := ir.TensorID(0); int(id) < n; id++ {
		w := g.Tensor(id)
		if w.Role != ir.Weight {
			continue
		}
		grad, ok := t.gradOf(id, ir.Gradient)
		if !ok {
			continue // a weight the loss does not depend on is not trained
		}
		name, shape, layer := w.Name, w.Shape, w.Layer
		master := g.AddTensor(name+".master", shape, ir.FP32, ir.OptState, layer)
		m := g.AddTensor(name+".adam_m", shape, ir.FP32, ir.OptState, layer)
		v := g.AddTensor(name+".adam_v", shape, ir.FP32, ir.OptState, layer)
		fwd := g.Op(t.firstReader[id])
		g.AddOp(ir.Op{Name: "adam." + name, Kind: ir.OptimizerUpdate, Phase: ir.Optimizer, Layer: layer,
			Class: fwd.Class, Key: "adam." + keyOf(fwd) + "." + lastKey(name), Inputs: []ir.TensorID{grad, master, m, v},
			Updates: []ir.TensorID{master, m, v, id}})
	}
}

// lastKey is the part of a tensor name after its last dot ("w", "b", "g").
func lastKey(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			return name[i+1:]
		}
	}
	return name
}
