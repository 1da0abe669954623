package ir

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

// The line comments of the enum constants below are their names: String
// prints them, ParseDType and the rest read them (as the graph JSON does).
// types_enum.go is generated from them by
//
//go:generate go run github.com/tempc/tempc/internal/enumgen -type DType,Role,Phase,Kind -ok

// DType is the element type of a tensor.
type DType uint8

// The element types tempc models.
const (
	BF16  DType = iota // bf16
	FP16               // fp16
	FP32               // fp32
	INT32              // int32
	numDTypes
)

var dtypeSizes = [...]int64{BF16: 2, FP16: 2, FP32: 4, INT32: 4}

// Size returns the size of one element in bytes.
func (d DType) Size() int64 { return dtypeSizes[d] }

// Role says what a tensor is for; memory accounting and partitioning treat
// the roles differently.
type Role uint8

// Tensor roles.
const (
	// Input is data fed to the step: token ids and labels.
	Input Role = iota // input
	// Activation is a forward intermediate (including the loss).
	Activation // activation
	// ActGrad is the gradient of an activation, live only during backward.
	ActGrad // actgrad
	// Weight is a trainable parameter in its compute precision (bf16).
	Weight // weight
	// Gradient is the gradient of a weight, accumulated over micro-batches.
	Gradient // gradient
	// OptState is an optimizer state: fp32 master weight, Adam m and v.
	OptState // optstate
	// Boundary is the edge of a pipeline stage's graph: the activation it
	// receives from the stage before, or the gradient of its output
	// (Graph.Outputs) it receives from the stage after. A leaf.
	Boundary // boundary
	numRoles
)

// Phase is the part of the training step an operator belongs to.
type Phase uint8

// Training phases, in execution order.
const (
	Forward   Phase = iota // fwd
	Backward               // bwd
	Optimizer              // opt
	numPhases
)

// NumPhases is the number of phases, for tables indexed by Phase.
const NumPhases = int(numPhases)

// Kind is the class of computation an operator performs.
type Kind uint8

// Operator kinds. Backward operators reuse the kind of the forward operator
// they differentiate (the backward of a Norm is a Norm in Phase Backward),
// except that the two products of a GEMM's backward are MatMuls.
const (
	// MatMul is a (batched) GEMM: Y[batch, M, N] = A[batch, M, K] · B[K, N]
	// with optional transposes; attributes in Op.MatMul.
	MatMul Kind = iota // matmul
	// Attention is fused scaled-dot-product attention (scores, softmax and
	// weighted sum, never materialising the score matrix); attributes in
	// Op.Attn.
	Attention // attention
	// Elementwise is a pointwise map over one or more same-shaped operands
	// (add, bias, activation functions, gradient accumulation); Op.Fn names
	// the function.
	Elementwise // elementwise
	// Norm is a LayerNorm or RMSNorm over the last dimension (Op.Fn).
	Norm // norm
	// Softmax is an unfused softmax over the last dimension.
	Softmax // softmax
	// Embedding is a table lookup (forward) or scatter-add (backward).
	Embedding // embedding
	// Loss is the cross-entropy of logits against labels, fused with its
	// softmax; in Backward it produces the logits' gradient.
	Loss // loss
	// OptimizerUpdate is one Adam step of one parameter tensor.
	OptimizerUpdate // adam
	numKinds
)

// NumKinds is the number of operator kinds, for tables indexed by Kind.
const NumKinds = int(numKinds)
