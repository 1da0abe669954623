package ir

import "fmt"

// op checks the identity, operands and shapes of the operator at index i.
func (v *verifier) op(i int) {
	g := v.g
	op := &g.Ops[i]
	if op.ID != OpID(i) {
		v.report(OpID(i), NoTensor, "%v is stored at index %d", op, i)
		return
	}
	if op.Kind >= numKinds || op.Phase >= numPhases {
		v.report(op.ID, NoTensor, "%v has an invalid kind or phase", op)
		return
	}
	if op.Name == "" {
		v.report(op.ID, NoTensor, "op %d has no name", op.ID)
	}
	ok := true
	for _, list := range [][]TensorID{op.Inputs, op.Outputs, op.Updates} {
		for _, t := range list {
			if !g.validTensor(t) {
				v.report(op.ID, NoTensor, "%v refers to tensor %d, which does not exist", op, t)
				ok = false
			}
		}
	}
	if len(op.Updates) > 0 && op.Kind != OptimizerUpdate {
		v.report(op.ID, NoTensor, "%v updates tensors in place; only adam ops may", op)
	}
	for _, t := range op.Outputs {
		if g.validTensor(t) && (g.Tensors[t].Role == Weight || g.Tensors[t].Role == Input || g.Tensors[t].Role == OptState || g.Tensors[t].Role == Boundary) {
			ok = false // reported by dangling()
		}
	}
	if !ok {
		return
	}
	c := opChecker{v: v, op: op}
	switch op.Kind {
	case MatMul:
		c.matmul()
	case Attention:
		c.attention()
	case Elementwise:
		c.pointwise(elementwiseCost)
	case Norm:
		c.pointwise(normCost)
	case Softmax:
		if c.arity(1, 1) {
			c.sameElems(c.in(0), c.out(0))
		}
	case Embedding:
		c.embedding()
	case Loss:
		c.loss()
	case OptimizerUpdate:
		c.adam()
	}
}

// opChecker holds one op under verification.
type opChecker struct {
	v  *verifier
	op *Op
}

func (c opChecker) in(i int) *Tensor  { return c.v.g.Tensor(c.op.Inputs[i]) }
func (c opChecker) out(i int) *Tensor { return c.v.g.Tensor(c.op.Outputs[i]) }

func (c opChecker) fail(format string, args ...any) {
	c.v.report(c.op.ID, NoTensor, "%v: %s", c.op, fmt.Sprintf(format, args...))
}

func (c opChecker) arity(ins, outs int) bool {
	if len(c.op.Inputs) != ins || len(c.op.Outputs) != outs {
		c.fail("has %d inputs and %d outputs, want %d and %d", len(c.op.Inputs), len(c.op.Outputs), ins, outs)
		return false
	}
	return true
}

func lastDim(t *Tensor) int64 {
	if len(t.Shape) == 0 {
		return 1
	}
	return t.Shape[len(t.Shape)-1]
}

func (c opChecker) elems(t *Tensor, want int64, what string) {
	if t.NumElements() != want {
		c.fail("tensor %d %q %v has %d elements, want %s = %d", t.ID, t.Name, t.Shape, t.NumElements(), what, want)
	}
}

func (c opChecker) last(t *Tensor, want int64, what string) {
	if lastDim(t) != want {
		c.fail("tensor %d %q %v has last dimension %d, want %s = %d", t.ID, t.Name, t.Shape, lastDim(t), what, want)
	}
}

func (c opChecker) sameElems(a, b *Tensor) {
	c.elems(b, a.NumElements(), fmt.Sprintf("the elements of %q", a.Name))
}

func (c opChecker) matmul() {
	m := c.op.MatMul
	if m == nil {
		c.fail("matmul has no M/N/K attributes")
		return
	}
	if m.Batch <= 0 || m.M <= 0 || m.N <= 0 || m.K <= 0 {
		c.fail("matmul sizes batch=%d M=%d N=%d K=%d must be positive", m.Batch, m.M, m.N, m.K)
		return
	}
	if len(c.op.Inputs) == 3 && len(c.op.Outputs) == 1 {
		c.elems(c.in(2), m.N, "N (a bias)")
	} else if !c.arity(2, 1) {
		return
	}
	a, b, y := c.in(0), c.in(1), c.out(0)
	c.elems(a, m.Batch*m.M*m.K, "batch·M·K")
	c.last(a, pick(m.TransA, m.M, m.K), "the inner dimension of A")
	if b.NumElements() != m.K*m.N && b.NumElements() != m.Batch*m.K*m.N {
		c.fail("tensor %d %q %v has %d elements, want K·N = %d or batch·K·N", b.ID, b.Name, b.Shape, b.NumElements(), m.K*m.N)
	}
	c.last(b, pick(m.TransB, m.K, m.N), "the inner dimension of B")
	c.elems(y, m.Batch*m.M*m.N, "batch·M·N")
	c.last(y, m.N, "N")
}

func pick(cond bool, a, b int64) int64 {
	if cond {
		return a
	}
	return b
}

func (c opChecker) attention() {
	a := c.op.Attn
	if a == nil {
		c.fail("attention has no head attributes")
		return
	}
	if a.Batch <= 0 || a.SeqQ <= 0 || a.SeqKV <= 0 || a.Heads <= 0 || a.KVHeads <= 0 || a.HeadDim <= 0 {
		c.fail("attention sizes %+v must be positive", *a)
		return
	}
	if a.Heads%a.KVHeads != 0 {
		c.fail("%d heads are not a multiple of %d key/value heads", a.Heads, a.KVHeads)
	}
	packed := (a.Heads + 2*a.KVHeads) * a.HeadDim
	if c.op.Phase == Forward {
		if !c.arity(1, 1) {
			return
		}
		c.elems(c.in(0), a.Batch*a.SeqQ*packed, "batch·seq·(heads+2·kv_heads)·head_dim")
		c.last(c.in(0), packed, "(heads+2·kv_heads)·head_dim")
		c.elems(c.out(0), a.Batch*a.SeqQ*a.Heads*a.HeadDim, "batch·seq·heads·head_dim")
		return
	}
	// Backward: (dO, qkv, O) -> dqkv.
	if !c.arity(3, 1) {
		return
	}
	c.elems(c.in(0), a.Batch*a.SeqQ*a.Heads*a.HeadDim, "batch·seq·heads·head_dim")
	c.sameElems(c.in(1), c.out(0))
	c.last(c.in(1), packed, "(heads+2·kv_heads)·head_dim")
	c.sameElems(c.in(0), c.in(2))
}

// pointwise checks Elementwise and Norm ops: a known function, and operands
// that either match the largest operand's element count or broadcast along
// its last dimension (biases, norm scales and their gradients).
func (c opChecker) pointwise(fns map[string]fnCost) {
	if _, ok := fns[c.op.Fn]; !ok {
		c.fail("unknown function %q (known: %v)", c.op.Fn, sortedKeys(fns))
		return
	}
	if len(c.op.Inputs) == 0 || len(c.op.Outputs) == 0 {
		c.fail("needs at least one input and one output")
		return
	}
	var big *Tensor
	for _, list := range [][]TensorID{c.op.Inputs, c.op.Outputs} {
		for _, id := range list {
			if t := c.v.g.Tensor(id); big == nil || t.NumElements() > big.NumElements() {
				big = t
			}
		}
	}
	for _, list := range [][]TensorID{c.op.Inputs, c.op.Outputs} {
		for _, id := range list {
			t := c.v.g.Tensor(id)
			if t.NumElements() != big.NumElements() && t.NumElements() != lastDim(big) {
				c.fail("tensor %d %q %v neither matches %q %v nor broadcasts along its last dimension",
					t.ID, t.Name, t.Shape, big.Name, big.Shape)
			}
		}
	}
}

func (c opChecker) embedding() {
	if c.op.Phase == Forward {
		// (ids, table) -> out
		if !c.arity(2, 1) {
			return
		}
		ids, table, out := c.in(0), c.in(1), c.out(0)
		c.elems(out, ids.NumElements()*lastDim(table), "ids·hidden")
		c.last(out, lastDim(table), "the table's width")
		return
	}
	// (dOut, ids) -> dTable
	if !c.arity(2, 1) {
		return
	}
	dOut, ids, dTable := c.in(0), c.in(1), c.out(0)
	c.elems(dOut, ids.NumElements()*lastDim(dTable), "ids·hidden")
}

func (c opChecker) loss() {
	if !c.arity(2, 1) {
		return
	}
	logits, labels := c.in(0), c.in(1)
	c.elems(logits, labels.NumElements()*lastDim(logits), "labels·vocab")
	if labels.DType != INT32 {
		c.fail("labels %q are %v, want int32", labels.Name, labels.DType)
	}
	if c.op.Phase == Forward {
		c.elems(c.out(0), 1, "a scalar loss")
		return
	}
	c.sameElems(logits, c.out(0))
}

func (c opChecker) adam() {
	// (grad, master, m, v) updates (master, m, v, weight).
	if len(c.op.Inputs) != 4 || len(c.op.Outputs) != 0 || len(c.op.Updates) != 4 {
		c.fail("adam has %d inputs, %d outputs, %d updates; want 4, 0, 4",
			len(c.op.Inputs), len(c.op.Outputs), len(c.op.Updates))
		return
	}
	wantRoles := []Role{Gradient, OptState, OptState, OptState}
	for i, r := range wantRoles {
		if c.in(i).Role != r {
			c.fail("input %d %q has role %v, want %v", i, c.in(i).Name, c.in(i).Role, r)
		}
		c.sameElems(c.in(0), c.in(i))
	}
	for i, id := range c.op.Updates {
		t := c.v.g.Tensor(id)
		want := OptState
		if i == 3 {
			want = Weight
		}
		if t.Role != want {
			c.fail("update %d %q has role %v, want %v", i, t.Name, t.Role, want)
		}
		c.sameElems(c.in(0), t)
	}
	for i := 0; i < 3; i++ {
		if c.op.Updates[i] != c.op.Inputs[i+1] {
			c.fail("update %d must be input %d (the state is updated in place)", i, i+1)
		}
	}
}
