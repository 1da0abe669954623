package frontend

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/tempc/tempc/frontend/onnxpb"
)

// A small DSL that builds ONNX graphs node by node as the exporters lay
// them out (torch.onnx's module-path node names, Constant nodes for shape
// pieces, decomposed norms and activations; or ONNX Runtime's fused
// operators), for the models under testdata/onnx.

// onnxBuilder appends nodes and initializers to one graph.
type onnxBuilder struct {
	g *onnxpb.GraphProto
	// external, when set, makes initializers refer to that data file
	// (which is never written: the reader needs dims only).
	external string
	offset   int64
	// scope prefixes node names, as torch.onnx names nodes after modules.
	scope string
	count map[string]int
}

func newONNXBuilder(external string) *onnxBuilder {
	return &onnxBuilder{g: &onnxpb.GraphProto{Name: proto.String("main_graph")}, external: external,
		count: map[string]int{}}
}

// model wraps the graph with the opsets it uses.
func (b *onnxBuilder) model(producer string, opset int64, ms bool) *onnxpb.ModelProto {
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), ProducerName: proto.String(producer), Graph: b.g,
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}}}
	if ms {
		m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: proto.String(msDomain), Version: proto.Int64(1)})
	}
	return m
}

// valueInfo is a tensor type with named (symbolic) or fixed dims.
func valueInfo(name string, dt onnxpb.TensorProto_DataType, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		switch d := d.(type) {
		case string:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}})
		case int:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: shape}}}}
}

func (b *onnxBuilder) input(name string, dt onnxpb.TensorProto_DataType, dims ...any) string {
	b.g.Input = append(b.g.Input, valueInfo(name, dt, dims...))
	return name
}

func (b *onnxBuilder) output(name string, dt onnxpb.TensorProto_DataType, dims ...any) {
	b.g.Output = append(b.g.Output, valueInfo(name, dt, dims...))
}

// weight adds a float initializer carrying dims only, or an external data
// reference when the builder has an external file.
func (b *onnxBuilder) weight(name string, dims ...int64) string {
	t := &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
	if b.external != "" {
		n := int64(4) // bytes of a float32
		for _, d := range dims {
			n *= d
		}
		t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		t.ExternalData = []*onnxpb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String(b.external)},
			{Key: proto.String("offset"), Value: proto.String(fmt.Sprint(b.offset))},
			{Key: proto.String("length"), Value: proto.String(fmt.Sprint(n))},
		}
		b.offset += n
	}
	b.g.Initializer = append(b.g.Initializer, t)
	return name
}

// boolBuffer adds a boolean initializer (GPT-2's causal mask buffer).
func (b *onnxBuilder) boolBuffer(name string, dims ...int64) string {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_BOOL)), DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
		ExternalData: []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("buffers.data")}}})
	return name
}

// name returns a fresh node name for op in the current scope.
func (b *onnxBuilder) name(op string) string {
	key := b.scope + "/" + op
	k := b.count[key]
	b.count[key]++
	if k == 0 {
		return key
	}
	return fmt.Sprintf("%s_%d", key, k)
}

// node adds a node of op in domain with nout outputs and returns them.
func (b *onnxBuilder) node(domain, op string, nout int, ins []string, attrs ...*onnxpb.AttributeProto) []string {
	name := b.name(op)
	n := &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: ins, Attribute: attrs}
	if domain != "" {
		n.Domain = proto.String(domain)
	}
	for k := 0; k < nout; k++ {
		n.Output = append(n.Output, fmt.Sprintf("%s_output_%d", name, k))
	}
	b.g.Node = append(b.g.Node, n)
	return n.Output
}

// op adds an ONNX-domain node with one output.
func (b *onnxBuilder) op(op string, ins []string, attrs ...*onnxpb.AttributeProto) string {
	return b.node("", op, 1, ins, attrs...)[0]
}

// ms adds a com.microsoft node.
func (b *onnxBuilder) ms(op string, nout int, ins []string, attrs ...*onnxpb.AttributeProto) []string {
	return b.node(msDomain, op, nout, ins, attrs...)
}

// ints adds a Constant node holding a 1-D int64 tensor in raw bytes, as
// torch.onnx writes shape pieces; scalar makes it 0-D.
func (b *onnxBuilder) constInts(scalar bool, vals ...int64) string {
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	t := &onnxpb.TensorProto{DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), RawData: raw}
	if !scalar {
		t.Dims = []int64{int64(len(vals))}
	}
	return b.op("Constant", nil, tensorAttr("value", t))
}

func (b *onnxBuilder) ints(vals ...int64) string { return b.constInts(false, vals...) }
func (b *onnxBuilder) scalarInt(v int64) string  { return b.constInts(true, v) }

// scalar adds a Constant node holding a float32 scalar.
func (b *onnxBuilder) scalar(f float64) string {
	raw := binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(f)))
	t := &onnxpb.TensorProto{DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw}
	return b.op("Constant", nil, tensorAttr("value", t))
}

func tensorAttr(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}

func aInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func aInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func aFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// dim returns Unsqueeze(Gather(Shape(x), k)): dimension k of x as a
// one-element shape piece, as torch.onnx traces x.size(k).
func (b *onnxBuilder) dim(x string, k int64) string {
	d := b.op("Gather", []string{b.op("Shape", []string{x}), b.scalarInt(k)}, aInt("axis", 0))
	return b.op("Unsqueeze", []string{d, b.ints(0)})
}

// shape concatenates shape pieces.
func (b *onnxBuilder) shape(parts ...string) string {
	return b.op("Concat", parts, aInt("axis", 0))
}

// reduceMean averages over the last axis (opset 17: axes attribute).
func (b *onnxBuilder) reduceMean(x string) string {
	return b.op("ReduceMean", []string{x}, aInts("axes", -1), aInt("keepdims", 1))
}

// layerNorm is LayerNorm decomposed as torch.onnx exports it below opset
// 17: (x - mean) / sqrt(var + eps) · weight + bias.
func (b *onnxBuilder) layerNorm(x, prefix string, width int64) string {
	d := b.op("Sub", []string{x, b.reduceMean(x)})
	v := b.reduceMean(b.op("Pow", []string{d, b.scalar(2)}))
	s := b.op("Sqrt", []string{b.op("Add", []string{v, b.scalar(1e-5)})})
	y := b.op("Mul", []string{b.op("Div", []string{d, s}), b.weight(prefix+".weight", width)})
	return b.op("Add", []string{y, b.weight(prefix+".bias", width)})
}

// rmsNorm is Llama's RMSNorm decomposed: weight · x · 1/sqrt(mean(x²) + eps).
func (b *onnxBuilder) rmsNorm(x, prefix string, width int64) string {
	c := b.op("Cast", []string{x}, aInt("to", int64(onnxpb.TensorProto_FLOAT)))
	v := b.reduceMean(b.op("Pow", []string{c, b.scalar(2)}))
	r := b.op("Reciprocal", []string{b.op("Sqrt", []string{b.op("Add", []string{v, b.scalar(1e-6)})})})
	y := b.op("Cast", []string{b.op("Mul", []string{c, r})}, aInt("to", int64(onnxpb.TensorProto_FLOAT)))
	return b.op("Mul", []string{b.weight(prefix+".weight", width), y})
}
