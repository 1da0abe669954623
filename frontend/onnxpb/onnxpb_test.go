package onnxpb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// TestGenerated regenerates onnx.pb.go from onnx.proto, as go generate
// does, and checks that the committed file is current.
func TestGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	cmd := exec.Command(goBin, "run", "github.com/tempc/tempc/internal/protogen",
		"-out", dir, "-import", "github.com/tempc/tempc/frontend/onnxpb", "onnx.proto")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protogen: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "onnx.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("onnx.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("onnx.pb.go is stale; run go generate ./frontend/onnxpb")
	}
}

// TestFieldNumbers decodes bytes written field by field with the numbers
// and wire types of ONNX's official onnx.proto, so that a wrong number in
// onnx.proto shows here rather than as a silently empty field.
func TestFieldNumbers(t *testing.T) {
	str := func(b []byte, num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
	}
	msg := func(b []byte, num protowire.Number, m []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), m)
	}
	varint := func(b []byte, num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
	}
	// TensorProto: dims 1, data_type 2, int32_data 5 and int64_data 7
	// (packed), name 8, raw_data 9, external_data 13, data_location 14.
	entry := str(str(nil, 1, "location"), 2, "w.data")
	tensor := varint(varint(nil, 1, 3), 1, 4)
	tensor = varint(tensor, 2, 7)
	tensor = msg(tensor, 5, protowire.AppendVarint(nil, 9))
	tensor = msg(tensor, 7, protowire.AppendVarint(protowire.AppendVarint(nil, 5), 6))
	tensor = str(tensor, 8, "w")
	tensor = msg(tensor, 9, []byte{1, 2})
	tensor = msg(tensor, 13, entry)
	tensor = varint(tensor, 14, 1)
	// AttributeProto: name 1, f 2 (fixed32), i 3, s 4, t 5, ints 8, type 20.
	attr := str(nil, 1, "perm")
	attr = protowire.AppendFixed32(protowire.AppendTag(attr, 2, protowire.Fixed32Type), 0x3f800000)
	attr = varint(attr, 3, 2)
	attr = msg(attr, 4, []byte("s"))
	attr = msg(attr, 5, str(nil, 8, "t"))
	attr = varint(varint(attr, 8, 1), 8, 0)
	attr = varint(attr, 20, 7)
	// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7.
	node := str(str(str(str(nil, 1, "x"), 2, "y"), 3, "n"), 4, "Transpose")
	node = msg(node, 5, attr)
	node = str(node, 7, "com.microsoft")
	// ValueInfoProto name 1, type 2; TypeProto tensor_type 1; Tensor
	// elem_type 1, shape 2; TensorShapeProto dim 1; Dimension dim_value 1,
	// dim_param 2.
	shape := msg(msg(nil, 1, varint(nil, 1, 64)), 1, str(nil, 2, "batch"))
	vi := msg(str(nil, 1, "x"), 2, msg(nil, 1, msg(varint(nil, 1, 1), 2, shape)))
	// GraphProto: node 1, name 2, initializer 5, input 11, output 12,
	// value_info 13.
	graph := msg(nil, 1, node)
	graph = str(graph, 2, "g")
	graph = msg(graph, 5, tensor)
	graph = msg(msg(msg(graph, 11, vi), 12, vi), 13, vi)
	// ModelProto: ir_version 1, producer_name 2, producer_version 3,
	// domain 4, model_version 5, graph 7, opset_import 8 (domain 1,
	// version 2), metadata_props 14; doc_string 6 is not declared.
	model := varint(nil, 1, 8)
	model = str(str(str(model, 2, "pytorch"), 3, "2.1"), 4, "ai")
	model = varint(model, 5, 3)
	model = str(model, 6, "ignored")
	model = msg(model, 7, graph)
	model = msg(model, 8, varint(str(nil, 1, ""), 2, 17))
	model = msg(model, 14, entry)

	var m ModelProto
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(model, &m); err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	n := g.GetNode()[0]
	a := n.GetAttribute()[0]
	init := g.GetInitializer()[0]
	dim := g.GetInput()[0].GetType().GetTensorType().GetShape().GetDim()
	checks := []struct {
		field     string
		got, want any
	}{
		{"ir_version", m.GetIrVersion(), int64(8)},
		{"producer", m.GetProducerName() + " " + m.GetProducerVersion() + " " + m.GetDomain(), "pytorch 2.1 ai"},
		{"model_version", m.GetModelVersion(), int64(3)},
		{"opset", m.GetOpsetImport()[0].GetVersion(), int64(17)},
		{"metadata", m.GetMetadataProps()[0].GetValue(), "w.data"},
		{"graph name", g.GetName(), "g"},
		{"node", n.GetInput()[0] + n.GetOutput()[0] + n.GetName() + " " + n.GetOpType() + " " + n.GetDomain(), "xyn Transpose com.microsoft"},
		{"attribute", a.GetName(), "perm"},
		{"attribute f", a.GetF(), float32(1)},
		{"attribute i", a.GetI(), int64(2)},
		{"attribute s", string(a.GetS()), "s"},
		{"attribute t", a.GetT().GetName(), "t"},
		{"attribute ints", len(a.GetInts()), 2},
		{"attribute type", a.GetType(), AttributeProto_INTS},
		{"dims", len(init.GetDims()), 2},
		{"data_type", init.GetDataType(), int32(TensorProto_INT64)},
		{"int32_data", init.GetInt32Data()[0], int32(9)},
		{"int64_data", len(init.GetInt64Data()), 2},
		{"name", init.GetName(), "w"},
		{"raw_data", len(init.GetRawData()), 2},
		{"external_data", init.GetExternalData()[0].GetKey(), "location"},
		{"data_location", init.GetDataLocation(), TensorProto_EXTERNAL},
		{"inputs, outputs, value_info", len(g.GetInput()) + len(g.GetOutput()) + len(g.GetValueInfo()), 3},
		{"elem_type", g.GetInput()[0].GetType().GetTensorType().GetElemType(), int32(1)},
		{"dim_value", dim[0].GetDimValue(), int64(64)},
		{"dim_param", dim[1].GetDimParam(), "batch"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.field, c.got, c.want)
		}
	}
}
