package ir

import "fmt"

// TensorID indexes Graph.Tensors.
type TensorID int32

// OpID indexes Graph.Ops.
type OpID int32

// NoOp marks a tensor that no operator produces (an input, a weight, an
// optimizer state).
const NoOp OpID = -1

// NoLayer is the layer index of operators and tensors outside the repeated
// transformer blocks (embedding, final norm, LM head, loss).
const NoLayer = -1

// DType is the element type of a tensor.
type DType uint8

// The element types tempc models.
const (
	BF16 DType = iota
	FP16
	FP32
	INT32
	numDTypes
)

var dtypeNames = [...]string{BF16: "bf16", FP16: "fp16", FP32: "fp32", INT32: "int32"}
var dtypeSizes = [...]int64{BF16: 2, FP16: 2, FP32: 4, INT32: 4}

// Size returns the size of one element in bytes.
func (d DType) Size() int64 { return dtypeSizes[d] }

func (d DType) String() string {
	if d < numDTypes {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Role says what a tensor is for; memory accounting and partitioning treat
// the roles differently.
type Role uint8

// Tensor roles.
const (
	// Input is data fed to the step: token ids and labels.
	Input Role = iota
	// Activation is a forward intermediate (including the loss).
	Activation
	// ActGrad is the gradient of an activation, live only during backward.
	ActGrad
	// Weight is a trainable parameter in its compute precision (bf16).
	Weight
	// Gradient is the gradient of a weight, accumulated over micro-batches.
	Gradient
	// OptState is an optimizer state: fp32 master weight, Adam m and v.
	OptState
	numRoles
)

var roleNames = [...]string{Input: "input", Activation: "activation", ActGrad: "actgrad",
	Weight: "weight", Gradient: "gradient", OptState: "optstate"}

func (r Role) String() string {
	if r < numRoles {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Phase is the part of the training step an operator belongs to.
type Phase uint8

// Training phases, in execution order.
const (
	Forward Phase = iota
	Backward
	Optimizer
	numPhases
)

// NumPhases is the number of phases, for tables indexed by Phase.
const NumPhases = int(numPhases)

var phaseNames = [...]string{Forward: "fwd", Backward: "bwd", Optimizer: "opt"}

func (p Phase) String() string {
	if p < numPhases {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// Kind is the class of computation an operator performs.
type Kind uint8

// Operator kinds. Backward operators reuse the kind of the forward operator
// they differentiate (the backward of a Norm is a Norm in Phase Backward),
// except that the two products of a GEMM's backward are MatMuls.
const (
	// MatMul is a (batched) GEMM: Y[batch, M, N] = A[batch, M, K] · B[K, N]
	// with optional transposes; attributes in Op.MatMul.
	MatMul Kind = iota
	// Attention is fused scaled-dot-product attention (scores, softmax and
	// weighted sum, never materialising the score matrix); attributes in
	// Op.Attn.
	Attention
	// Elementwise is a pointwise map over one or more same-shaped operands
	// (add, bias, activation functions, gradient accumulation); Op.Fn names
	// the function.
	Elementwise
	// Norm is a LayerNorm or RMSNorm over the last dimension (Op.Fn).
	Norm
	// Softmax is an unfused softmax over the last dimension.
	Softmax
	// Embedding is a table lookup (forward) or scatter-add (backward).
	Embedding
	// Loss is the cross-entropy of logits against labels, fused with its
	// softmax; in Backward it produces the logits' gradient.
	Loss
	// OptimizerUpdate is one Adam step of one parameter tensor.
	OptimizerUpdate
	numKinds
)

// NumKinds is the number of operator kinds, for tables indexed by Kind.
const NumKinds = int(numKinds)

var kindNames = [...]string{MatMul: "matmul", Attention: "attention", Elementwise: "elementwise",
	Norm: "norm", Softmax: "softmax", Embedding: "embedding", Loss: "loss", OptimizerUpdate: "adam"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// parseEnum finds s among names; it is the inverse of the String methods.
func parseEnum(names []string, s string) (int, bool) {
	for i, n := range names {
		if n == s {
			return i, true
		}
	}
	return 0, false
}

// ParseDType inverts DType.String.
func ParseDType(s string) (DType, bool) { i, ok := parseEnum(dtypeNames[:], s); return DType(i), ok }

// ParseRole inverts Role.String.
func ParseRole(s string) (Role, bool) { i, ok := parseEnum(roleNames[:], s); return Role(i), ok }

// ParsePhase inverts Phase.String.
func ParsePhase(s string) (Phase, bool) { i, ok := parseEnum(phaseNames[:], s); return Phase(i), ok }

// ParseKind inverts Kind.String.
func ParseKind(s string) (Kind, bool) { i, ok := parseEnum(kindNames[:], s); return Kind(i), ok }

// DTypeNames lists the spellings ParseDType accepts, in enum order (for
// schemas and error messages).
func DTypeNames() []string { return append([]string(nil), dtypeNames[:]...) }

// RoleNames lists the spellings of the roles in enum order.
func RoleNames() []string { return append([]string(nil), roleNames[:]...) }

// PhaseNames lists the spellings of the phases in enum order.
func PhaseNames() []string { return append([]string(nil), phaseNames[:]...) }

// KindNames lists the spellings of the kinds in enum order.
func KindNames() []string { return append([]string(nil), kindNames[:]...) }
