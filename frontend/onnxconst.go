package frontend

import (
	"encoding/binary"

	"github.com/tempc/tempc/frontend/onnxpb"
)

// Constants of an ONNX graph: weights known by their dims, and small
// integer tensors (shapes, split sizes) known by their values.

// onnxFloat tells whether an ONNX element type is a floating-point one, as
// weights are.
func onnxFloat(dt int32) bool {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_DOUBLE,
		onnxpb.TensorProto_BFLOAT16, onnxpb.TensorProto_FLOAT8E4M3FN, onnxpb.TensorProto_FLOAT8E4M3FNUZ,
		onnxpb.TensorProto_FLOAT8E5M2, onnxpb.TensorProto_FLOAT8E5M2FNUZ:
		return true
	}
	return false
}

// maxPathHops bounds the Transpose, Cast and Identity nodes followed from a
// weight's use back to its initializer.
const maxPathHops = 8

// weightOf follows v back through Transpose (of a matrix), Cast and
// Identity to a floating-point constant, and returns the constant's name
// and its dims as v sees them (reversed by an odd number of transposes).
func (g *onnxGraph) weightOf(v string) (base string, dims []int64, ok bool) {
	flip := false
	for hop := 0; hop <= maxPathHops; hop++ {
		if t := g.consts[v]; t != nil {
			if !onnxFloat(t.GetDataType()) {
				return "", nil, false
			}
			dims = append([]int64(nil), t.GetDims()...)
			if flip {
				if len(dims) != 2 {
					return "", nil, false
				}
				dims[0], dims[1] = dims[1], dims[0]
			}
			return v, dims, true
		}
		n, _ := g.producer(v)
		switch {
		case n == nil:
			return "", nil, false
		case is(n, "Transpose", false):
			if p := attr(n, "perm").GetInts(); p != nil && !(len(p) == 2 && p[0] == 1 && p[1] == 0) {
				return "", nil, false
			}
			flip = !flip
		case is(n, "Cast", false), is(n, "Identity", false):
		default:
			return "", nil, false
		}
		v = input(n, 0)
	}
	return "", nil, false
}

// matrix is weightOf for 2-D weights.
func (g *onnxGraph) matrix(v string) (base string, rows, cols int64, ok bool) {
	base, dims, ok := g.weightOf(v)
	if !ok || len(dims) != 2 {
		return "", 0, 0, false
	}
	return base, dims[0], dims[1], true
}

// vector returns the length of v when it is a 1-D floating-point constant
// (a norm scale or shift, a bias) of more than one element.
func (g *onnxGraph) vector(v string) (int64, bool) {
	_, dims, ok := g.weightOf(v)
	if !ok || len(dims) != 1 || dims[0] < 2 {
		return 0, false
	}
	return dims[0], true
}

// maxConstInts bounds the integer constants read (shapes and split sizes
// have a handful of elements).
const maxConstInts = 64

// ints returns the values of v when it is a small inline integer constant:
// an int64 or int32 initializer or Constant node (value, value_int or
// value_ints). External data is never read.
func (g *onnxGraph) ints(v string) ([]int64, bool) {
	if n, _ := g.producer(v); is(n, "Constant", false) {
		if a := attr(n, "value_ints"); a != nil && len(a.GetInts()) <= maxConstInts {
			return a.GetInts(), true
		}
		if a := attr(n, "value_int"); a != nil {
			return []int64{a.GetI()}, true
		}
	}
	t := g.consts[v]
	if t == nil || t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(t.GetDims()) > 1 {
		return nil, false
	}
	want := int64(1)
	if len(t.GetDims()) == 1 {
		want = t.GetDims()[0]
	}
	if want > maxConstInts {
		return nil, false
	}
	raw := t.GetRawData()
	var out []int64
	switch onnxpb.TensorProto_DataType(t.GetDataType()) {
	case onnxpb.TensorProto_INT64:
		if raw == nil {
			out = t.GetInt64Data()
		}
		for i := 0; i+8 <= len(raw); i += 8 {
			out = append(out, int64(binary.LittleEndian.Uint64(raw[i:])))
		}
	case onnxpb.TensorProto_INT32:
		if raw == nil {
			for _, x := range t.GetInt32Data() {
				out = append(out, int64(x))
			}
		}
		for i := 0; i+4 <= len(raw); i += 4 {
			out = append(out, int64(int32(binary.LittleEndian.Uint32(raw[i:]))))
		}
	default:
		return nil, false
	}
	// Raw bytes must hold exactly the elements the dims promise.
	if int64(len(out)) != want || raw != nil && len(raw) != len(out)*elemSize(t.GetDataType()) {
		return nil, false
	}
	return out, true
}

func elemSize(dt int32) int {
	if onnxpb.TensorProto_DataType(dt) == onnxpb.TensorProto_INT64 {
		return 8
	}
	return 4
}

// unknownDim marks an element of a shape vector that is computed at run
// time (from Shape, say).
const unknownDim = -1 << 63

// maxShapeDepth bounds the nodes followed when evaluating a shape vector.
const maxShapeDepth = 8

// shapeTail evaluates the trailing elements of the 1-D integer tensor v,
// as the shape input of a Reshape: constants, and Concat of constants and
// of Unsqueezed run-time scalars (unknownDim). whole tells whether the
// result is the whole vector rather than a suffix of it.
func (g *onnxGraph) shapeTail(v string, depth int) (tail []int64, whole bool) {
	if vals, ok := g.ints(v); ok {
		return vals, true
	}
	n, _ := g.producer(v)
	if n == nil || depth >= maxShapeDepth {
		return nil, false
	}
	switch {
	case is(n, "Concat", false):
		for k := len(n.GetInput()) - 1; k >= 0; k-- {
			part, whole := g.shapeTail(n.GetInput()[k], depth+1)
			tail = append(append([]int64(nil), part...), tail...)
			if !whole || len(tail) > maxConstInts {
				return tail, false
			}
		}
		return tail, true
	case is(n, "Unsqueeze", false):
		// Of a scalar, in a shape: one element.
		if vals, ok := g.ints(input(n, 0)); ok && len(vals) == 1 {
			return vals, true
		}
		return []int64{unknownDim}, true
	case is(n, "Cast", false), is(n, "Identity", false):
		return g.shapeTail(input(n, 0), depth+1)
	}
	return nil, false
}

// smallPositive returns x when it is a plausible count or width (1 to
// 2^20), else 0.
func smallPositive(x int64) int64 {
	if x >= 1 && x <= 1<<20 {
		return x
	}
	return 0
}
