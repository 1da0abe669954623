package ir

// FLOP conventions. A multiply-add counts as two FLOPs. GEMM FLOPs are exact
// (2·batch·M·N·K). Attention counts the full SeqQ×SeqKV score matrix even
// when causal, the convention of Narayanan et al. (SC'21, "Efficient
// Large-Scale Language Model Training on GPU Clusters", eq. 3), whose
// closed form the tests compare against; a causal kernel may skip up to
// half. Pointwise costs per element are estimates (a tanh-GELU is about 8
// FLOPs, an exp about 1), small next to the GEMMs; they are listed here so a
// planner can see them and a user can question them.

// fnCost is the FLOPs per output element of a pointwise function in the
// forward and backward phase.
type fnCost struct{ fwd, bwd float64 }

// elementwiseCost lists the Elementwise functions tempc knows.
var elementwiseCost = map[string]fnCost{
	"add":    {1, 1},  // residual add; in backward: gradient accumulation
	"bias":   {1, 1},  // y = x + b (backward reduces dY over tokens into db)
	"gelu":   {8, 13}, // tanh approximation: x·(1+tanh(√(2/π)(x+0.044715x³)))/2
	"relu":   {1, 1},  // max(x, 0) and its mask
	"silu":   {4, 7},  // x·σ(x)
	"swiglu": {5, 9},  // silu(gate)·up, one output from two inputs
	"scale":  {1, 1},  // multiplication by a scalar
}

// normCost lists the Norm functions tempc knows.
var normCost = map[string]fnCost{
	"layernorm": {8, 16}, // mean, variance, normalise, affine; backward about twice
	"rmsnorm":   {5, 10}, // mean of squares, normalise, scale
}

var (
	softmaxCost           = fnCost{5, 4} // max, exp, sum, divide; backward y·(dy − Σ y·dy)
	lossCost              = fnCost{6, 2} // softmax + log + pick per logit; backward softmax − onehot
	embeddingCost         = fnCost{0, 1} // gather; backward scatter-add
	adamFLOPs     float64 = 14           // per parameter: m, v, bias corrections, sqrt, divide, decay, cast
	ropeFLOPs     float64 = 3            // per rotated element of Q and K: two multiplies, one add
)

// ElementwiseFns lists the function names valid for Elementwise ops.
func ElementwiseFns() []string { return sortedKeys(elementwiseCost) }

// NormFns lists the function names valid for Norm ops.
func NormFns() []string { return sortedKeys(normCost) }

func (c fnCost) at(p Phase) float64 {
	if p == Forward {
		return c.fwd
	}
	return c.bwd
}

// opFLOPs derives the FLOPs of op from its kind and attributes; it returns 0
// for ops Verify will reject (missing attributes, unknown function).
func (g *Graph) opFLOPs(op *Op) float64 {
	outElems := float64(0)
	for _, t := range op.Outputs {
		if g.validTensor(t) {
			outElems += float64(g.Tensors[t].NumElements())
		}
	}
	switch op.Kind {
	case MatMul:
		if m := op.MatMul; m != nil {
			f := 2 * float64(m.Batch) * float64(m.M) * float64(m.N) * float64(m.K)
			if len(op.Inputs) == 3 { // fused bias: one add per output element
				f += float64(m.Batch) * float64(m.M) * float64(m.N)
			}
			return f
		}
	case Attention:
		if a := op.Attn; a != nil {
			return attentionFLOPs(a, op.Phase)
		}
	case Elementwise:
		return elementwiseCost[op.Fn].at(op.Phase) * outElems
	case Norm:
		return normCost[op.Fn].at(op.Phase) * outElems
	case Softmax:
		return softmaxCost.at(op.Phase) * outElems
	case Embedding:
		// Backward scatter-adds each row of dOut (input 0) into the table.
		if op.Phase != Forward && len(op.Inputs) > 0 && g.validTensor(op.Inputs[0]) {
			return embeddingCost.bwd * float64(g.Tensors[op.Inputs[0]].NumElements())
		}
		return embeddingCost.fwd * outElems
	case Loss:
		if op.Phase == Forward && len(op.Inputs) > 0 && g.validTensor(op.Inputs[0]) {
			return lossCost.fwd * float64(g.Tensors[op.Inputs[0]].NumElements())
		}
		return lossCost.bwd * outElems
	case OptimizerUpdate:
		if len(op.Inputs) > 0 && g.validTensor(op.Inputs[0]) {
			return adamFLOPs * float64(g.Tensors[op.Inputs[0]].NumElements())
		}
	}
	return 0
}

// attentionFLOPs counts the two score GEMMs (QKᵀ and PV, 2·2·b·a·sq·skv·d)
// and the softmax in forward; backward has four GEMMs (dP, dV, dQ, dK) and
// the softmax backward. Rotary embedding adds ropeFLOPs per element of Q and
// K in forward and backward.
func attentionFLOPs(a *AttnAttrs, p Phase) float64 {
	scores := float64(a.Batch) * float64(a.Heads) * float64(a.SeqQ) * float64(a.SeqKV)
	gemm := 4 * scores * float64(a.HeadDim)
	f := gemm + softmaxCost.fwd*scores
	if p != Forward {
		f = 2*gemm + softmaxCost.bwd*scores
	}
	if a.Rope {
		qk := float64(a.Batch) * float64(a.SeqQ) * float64(a.Heads+a.KVHeads) * float64(a.HeadDim)
		f += ropeFLOPs * qk
	}
	return f
}
