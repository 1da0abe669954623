package frontend

import (
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/tempc/tempc/frontend/onnxpb"
)

// Edits of generated models, for the cases below.

func nodeNamed(t *testing.T, m *onnxpb.ModelProto, name string) *onnxpb.NodeProto {
	t.Helper()
	for _, n := range m.Graph.Node {
		if n.GetName() == name {
			return n
		}
	}
	t.Fatalf("no node %q", name)
	return nil
}

func initNamed(t *testing.T, m *onnxpb.ModelProto, name string) *onnxpb.TensorProto {
	t.Helper()
	for _, in := range m.Graph.Initializer {
		if in.GetName() == name {
			return in
		}
	}
	t.Fatalf("no initializer %q", name)
	return nil
}

// rewire makes every reader of value from (but skip) read to instead.
func rewire(m *onnxpb.ModelProto, from, to string, skip *onnxpb.NodeProto) {
	for _, n := range m.Graph.Node {
		for k, in := range n.Input {
			if in == from && n != skip {
				n.Input[k] = to
			}
		}
	}
}

// insertAfter puts a node op(output of name, extra...) right after node
// name, its output taking the place of that node's for all readers.
func insertAfter(t *testing.T, m *onnxpb.ModelProto, name, op string, extra ...string) {
	n := nodeNamed(t, m, name)
	out := n.Output[0]
	add := &onnxpb.NodeProto{Name: proto.String(name + "/inserted"), OpType: proto.String(op),
		Input: append([]string{out}, extra...), Output: []string{out + "/inserted"}}
	rewire(m, out, add.Output[0], add)
	i := slices.Index(m.Graph.Node, n)
	m.Graph.Node = slices.Insert(m.Graph.Node, i+1, add)
}

// bypass removes node name; its readers read its first input instead.
func bypass(t *testing.T, m *onnxpb.ModelProto, name string) {
	n := nodeNamed(t, m, name)
	rewire(m, n.Output[0], n.Input[0], nil)
	m.Graph.Node = slices.DeleteFunc(m.Graph.Node, func(x *onnxpb.NodeProto) bool { return x == n })
}

// setInts rewrites the int64 Constant node producing value.
func setInts(t *testing.T, m *onnxpb.ModelProto, value string, vals ...int64) {
	t.Helper()
	for _, n := range m.Graph.Node {
		if n.GetOpType() == "Constant" && n.Output[0] == value {
			raw := make([]byte, 0, 8*len(vals))
			for _, v := range vals {
				raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
			}
			n.Attribute[0].T.RawData = raw
			n.Attribute[0].T.Dims = []int64{int64(len(vals))}
			return
		}
	}
	t.Fatalf("no Constant node gives %q", value)
}

// addWeight adds a float initializer of the given dims.
func addWeight(m *onnxpb.ModelProto, name string, dims ...int64) string {
	m.Graph.Initializer = append(m.Graph.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))})
	return name
}

func renameOp(t *testing.T, m *onnxpb.ModelProto, node, domain, op string) {
	n := nodeNamed(t, m, node)
	n.Domain, n.OpType = proto.String(domain), proto.String(op)
}

// TestONNXRejects: unsupported operators, graphs that are not a decoder
// tempc models, and malformed graphs are errors naming the node (or layer)
// at fault.
func TestONNXRejects(t *testing.T) {
	tests := []struct {
		name, model string
		edit        func(*testing.T, *onnxpb.ModelProto)
		want        string // the whole error when exact, else a part of it
		exact       bool
	}{
		{"unsupported operator", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			n := nodeNamed(t, m, "/transformer/h.0/attn/Softmax")
			n.Name, n.OpType = proto.String("/h.0/attn/Foo"), proto.String("Foo")
		}, `frontend: model.onnx: node "/h.0/attn/Foo" (op Foo): unsupported operator`, true},
		{"each unsupported type once", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			renameOp(t, m, "/transformer/h.0/mlp/Tanh", "", "Mish")
			renameOp(t, m, "/transformer/h.1/mlp/Tanh", "", "Mish")
			renameOp(t, m, "/transformer/h.1/attn/Softmax", "", "Foo")
		}, "frontend: model.onnx: node \"/transformer/h.0/mlp/Tanh\" (op Mish): unsupported operator (and 1 more nodes of this type)\n" +
			"\tmodel.onnx: node \"/transformer/h.1/attn/Softmax\" (op Foo): unsupported operator", true},
		{"quantized", "llama-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			renameOp(t, m, "/model/layers.0/mlp/MatMul", msDomain, "MatMulNBits")
		}, `node "/model/layers.0/mlp/MatMul" (op com.microsoft.MatMulNBits): unsupported operator: quantized models are not supported`, false},
		{"control flow", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			renameOp(t, m, "/model/layers.0/Add", "", "If")
		}, `node "/model/layers.0/Add" (op If): unsupported operator: control flow is not supported`, false},
		{"custom domain", "gpt2-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			renameOp(t, m, "/h.0/Attention", "pkg.custom", "Attention")
		}, `node "/h.0/Attention" (op pkg.custom.Attention): unsupported operator`, false},
		{"contrib op in the ONNX domain", "gpt2-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			renameOp(t, m, "/h.0/FastGelu", "", "FastGelu")
		}, `node "/h.0/FastGelu" (op FastGelu): unsupported operator`, false},
		{"heads from run-time shapes only", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			m.Graph.Input = append(m.Graph.Input, valueInfo("shape", onnxpb.TensorProto_INT64, 4))
			for _, n := range m.Graph.Node {
				if n.GetOpType() == "Reshape" && strings.Contains(n.GetName(), "/self_attn/") {
					n.Input[1] = "shape"
				}
			}
		}, `layer 0: cannot tell the number of attention heads: node "/model/layers.0/self_attn/Softmax" (op Softmax) has no num_heads attribute and no Reshape to [..., heads, head_dim] follows the projections node "/model/layers.0/self_attn/MatMul" (op MatMul)`, false},
		{"fused attention without num_heads", "gpt2-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			nodeNamed(t, m, "/h.0/Attention").Attribute = nil
		}, `layer 0: cannot tell the number of attention heads: node "/h.0/Attention" (op com.microsoft.Attention) has no num_heads attribute`, false},
		{"head width not dividing", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			// The head width ends the shapes of the q, k and v Reshapes.
			for _, r := range []string{"Reshape", "Reshape_1", "Reshape_3"} {
				shape := nodeNamed(t, m, "/model/layers.0/self_attn/"+r).Input[1]
				setInts(t, m, nodeNamed(t, m, strings.TrimSuffix(shape, "_output_0")).Input[3], 24)
			}
		}, "layer 0: Q, K and V widths 64, 32 and 32 do not split into heads of 24", false},
		{"kv heads not matching the QKV width", "llama-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			nodeNamed(t, m, "/model/layers.0/attn/GroupQueryAttention").Attribute[1].I = proto.Int64(3)
		}, `node "/model/layers.0/attn/MatMul" (op MatMul): fused QKV projection of width 128 does not split into Q, K and V`, false},
		{"no LM head", "llama-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			bypass(t, m, "/lm_head/MatMul")
		}, `node "/model/norm/SkipSimplifiedLayerNormalization" (op com.microsoft.SkipSimplifiedLayerNormalization): is the final norm, but no LM head projection follows it`, false},
		{"norm without scale", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			initNamed(t, m, "model.layers.0.input_layernorm.weight").Dims = nil
		}, `node "/model/layers.0/input_layernorm/ReduceMean" (op ReduceMean): starts a norm without a learned scale`, false},
		{"missing norm", "gpt2-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			bypass(t, m, "/LayerNormalization")
		}, "model.onnx: found 4 norms; a pre-norm decoder of n blocks has 2n+1", false},
		{"embedding projection", "llama-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			insertAfter(t, m, "/model/embed_tokens/Gather", "MatMul", addWeight(m, "project_in", 64, 64))
		}, `node "/model/embed_tokens/Gather/inserted" (op MatMul): projects before the first norm (post-norm blocks and embedding projections are not supported)`, false},
		{"biases on Q, K, V only", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			for _, p := range []struct {
				node  string
				width int64
			}{{"MatMul", 64}, {"MatMul_1", 32}, {"MatMul_2", 32}} {
				insertAfter(t, m, "/model/layers.0/self_attn/"+p.node, "Add", addWeight(m, p.node+".bias", p.width))
			}
		}, `has bias true but the output projection node "/model/layers.0/self_attn/MatMul_5" (op MatMul) has false; tempc models all or none`, false},
		{"unread weight", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, &onnxpb.NodeProto{Name: proto.String("/extra/Gather"), OpType: proto.String("Gather"),
				Input: []string{addWeight(m, "extra", 5, 7), "input_ids"}, Output: []string{"extra_out"}})
		}, `node "/extra/Gather" (op Gather): reads the [5, 7] weight "extra", which is not part of a recognised decoder`, false},
		{"layers differ", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			initNamed(t, m, "model.layers.1.mlp.gate_proj.weight").Dims = []int64{64, 128}
			initNamed(t, m, "model.layers.1.mlp.up_proj.weight").Dims = []int64{64, 128}
			initNamed(t, m, "model.layers.1.mlp.down_proj.weight").Dims = []int64{128, 64}
		}, "layer 1: has 4 heads of 16, 2 key/value heads, FFN 128 (silu, gated true), biases attention false, FFN false, unlike layer 0 with 4 heads of 16, 2 key/value heads, FFN 176", false},
		{"no attention", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			renameOp(t, m, "/transformer/h.0/attn/Softmax", "", "Sigmoid")
		}, `layer 0: no attention between node "/transformer/h.0/ln_1/ReduceMean_1" (op ReduceMean) and node "/transformer/h.0/ln_2/ReduceMean_1" (op ReduceMean)`, false},
		{"cycle", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			n := nodeNamed(t, m, "/model/layers.0/Add")
			n.Input[1] = n.Output[0]
		}, `node "/model/layers.0/Add" (op Add): is on a cycle`, false},
		{"undefined value", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			nodeNamed(t, m, "/transformer/Add").Input[1] = "nowhere"
		}, `node "/transformer/Add" (op Add): reads "nowhere", which no node, initializer or graph input defines`, false},
		{"defined twice", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			addWeight(m, "transformer.wte.weight", 3, 4)
		}, `value "transformer.wte.weight" is defined twice (initializer "transformer.wte.weight" and initializer "transformer.wte.weight")`, false},
		{"negative dim", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			initNamed(t, m, "transformer.wte.weight").Dims[0] = -1
		}, `initializer "transformer.wte.weight" has dimension -1 (want 0 to 2^40)`, false},
		{"int8 weights", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			for _, in := range m.Graph.Initializer {
				if onnxFloat(in.GetDataType()) {
					in.DataType = proto.Int32(int32(onnxpb.TensorProto_INT8))
				}
			}
		}, `node "/model/layers.0/input_layernorm/Mul_1" (op Mul): reads "model.layers.0.input_layernorm.weight", a weight of element type INT8; tempc reads floating-point weights only (quantized models are not supported)`, false},
		{"int8 projection behind a Cast", "gpt2-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			initNamed(t, m, "transformer.h.1.mlp.c_fc.weight").DataType = proto.Int32(int32(onnxpb.TensorProto_INT8))
			n := nodeNamed(t, m, "/h.1/MatMul_1")
			cast := &onnxpb.NodeProto{Name: proto.String("/h.1/Cast"), OpType: proto.String("Cast"),
				Input: []string{n.Input[1]}, Output: []string{"c_fc_f32"}, Attribute: []*onnxpb.AttributeProto{aInt("to", 1)}}
			n.Input[1] = "c_fc_f32"
			m.Graph.Node = slices.Insert(m.Graph.Node, slices.Index(m.Graph.Node, n), cast)
		}, `node "/h.1/MatMul_1" (op MatMul): reads "transformer.h.1.mlp.c_fc.weight", a weight of element type INT8`, false},
		{"zero-size norm scale", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			initNamed(t, m, "model.layers.0.input_layernorm.weight").Dims = []int64{0}
		}, `node "/model/layers.0/input_layernorm/Mul_1" (op Mul): reads "model.layers.0.input_layernorm.weight" of shape [0], which has a zero-size dimension; a weight must hold elements`, false},
		{"zero-width QKV", "llama-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			initNamed(t, m, "model.layers.0.attn.qkv_proj.weight").Dims = []int64{64, 0}
		}, `node "/model/layers.0/attn/MatMul" (op MatMul): reads "model.layers.0.attn.qkv_proj.weight" of shape [64 0], which has a zero-size dimension`, false},
		{"scalar token table", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			initNamed(t, m, "transformer.wte.weight").Dims = nil
		}, `node "/transformer/wte/Gather" (op Gather): reads "transformer.wte.weight" of shape [] as the token embedding (it is indexed by input_ids); the token table must be 2-D, [vocab, hidden]`, false},
		{"4-D position table", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			initNamed(t, m, "transformer.wpe.weight").Dims = []int64{gpt2Positions, tinyHidden, 1, 1}
		}, `node "/transformer/wpe/Gather" (op Gather): reads "transformer.wpe.weight" of shape [128 64 1 1] as a lookup table (an embedding or a rotary cache); it must be 2-D, [rows, width]`, false},
		{"integer position table", "gpt2-ort.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			initNamed(t, m, "transformer.wpe.weight").DataType = proto.Int32(int32(onnxpb.TensorProto_INT64))
		}, `reads "transformer.wpe.weight" of element type INT64 as a lookup table; an embedding table holds floating-point values`, false},
		{"10 MB operator name", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			n := nodeNamed(t, m, "/transformer/h.0/attn/Softmax")
			n.Name, n.OpType = proto.String(strings.Repeat("n", 10<<20)), proto.String(strings.Repeat("é", 5<<20))
		}, "frontend: model.onnx: node \"" + strings.Repeat("n", 64) + "\"… (10485760 bytes) (op " + strings.Repeat("é", 32) + "… (10485760 bytes)): unsupported operator", true},
		{"no nodes", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			m.Graph.Node = nil
		}, "frontend: model.onnx: the model has no graph nodes (want an exported decoder-only LLM)", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := onnxModels[tc.model]()
			tc.edit(t, m)
			a, err := ReadONNX("model.onnx", marshalONNX(t, m))
			if err == nil {
				t.Fatalf("accepted: %+v", a)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Errorf("error %v is not an ErrorList", err)
			}
			if tc.exact && err.Error() != tc.want || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

// TestONNXVariants: exporters' variations that describe the same model.
func TestONNXVariants(t *testing.T) {
	tests := []struct {
		name, model string
		edit        func(*testing.T, *onnxpb.ModelProto)
		change      func(*Arch) // from the unedited model's architecture
	}{
		{"nodes in reverse order", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			slices.Reverse(m.Graph.Node)
		}, nil},
		{"LM head on a copy of the token table", "gpt2.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			nodeNamed(t, m, "/lm_head/Transpose").Input[0] = addWeight(m, "lm_head.weight", gpt2Vocab, tinyHidden)
		}, func(a *Arch) { a.TiedEmbeddings = false }},
		{"head split as [heads, -1]", "llama.onnx", func(t *testing.T, m *onnxpb.ModelProto) {
			// The shapes of the q, k and v Reshapes (after the rotary
			// Concats' names): [b, s, heads, -1] instead of [b, s, -1, 16].
			for _, c := range []struct {
				node  string
				heads int64
			}{{"Concat", tinyHeads}, {"Concat_2", llamaKV}, {"Concat_6", llamaKV}} {
				n := nodeNamed(t, m, "/model/layers.0/self_attn/"+c.node)
				setInts(t, m, n.Input[2], c.heads)
				setInts(t, m, n.Input[3], -1)
			}
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := ReadONNX(tc.model, marshalONNX(t, onnxModels[tc.model]()))
			if err != nil {
				t.Fatal(err)
			}
			if tc.change != nil {
				tc.change(want)
			}
			m := onnxModels[tc.model]()
			tc.edit(t, m)
			got, err := ReadONNX(tc.model, marshalONNX(t, m))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("architecture changed (-want +got):\n%s", d)
			}
		})
	}
}

// TestONNXMalformed: files that are not ONNX models, or are cut short, give
// errors naming the file (never a panic or a bug report). A cut that
// leaves a whole graph (one losing only trailing graph outputs, say) may
// read as the full model, but as nothing else.
func TestONNXMalformed(t *testing.T) {
	dir := t.TempDir()
	hf, _ := os.ReadFile(filepath.Join("testdata", "onnx", "llama.json"))
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "m.onnx: empty file, want an ONNX model"},
		{"garbage", garbage(300), "m.onnx: malformed ONNX model (truncated, or not an ONNX file)"},
		{"json", string(hf), "m.onnx: malformed ONNX model"},
		{"header only", onnxHeader, "m.onnx: malformed ONNX model"},
		{"text", "not a model\n", "m.onnx: malformed ONNX model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "m.onnx")
			if err := os.WriteFile(path, []byte(tc.data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, Options{Seq: 16})
			if err == nil || !strings.HasPrefix(err.Error(), "frontend: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	for _, name := range sortedNames(onnxModels) {
		t.Run("truncated "+name, func(t *testing.T) {
			_, data := readTestdata(t, name)
			full, err := ReadONNX(name, data)
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; n < len(data); n += 1 + len(data)/97 {
				a, err := ReadONNX(name, data[:n])
				switch {
				case err != nil && !strings.HasPrefix(err.Error(), "frontend: "+name):
					t.Fatalf("cut at %d: error does not name the file: %v", n, err)
				case err == nil && !cmp.Equal(a, full):
					t.Fatalf("cut at %d: accepted as %+v", n, a)
				}
			}
			if _, err := ReadONNX(name, data[:len(data)/2]); err == nil {
				t.Errorf("accepted the first half")
			}
		})
	}
}

// TestONNXRandomEdits complements FuzzReadONNX, whose byte mutations
// rarely get past the protobuf decoder: random edits of the graphs
// (rewired inputs, changed operators, dims and attributes, deleted nodes;
// fixed seed) must give an error or an architecture that validates and
// builds, never a panic.
func TestONNXRandomEdits(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	names := sortedNames(onnxModels)
	ops := sortedNames(onnxOps)
	dims := []int64{0, 1, 2, 3, 16, 32, 64, 128, 1 << 41, -1}
	for it := 0; it < 1500; it++ {
		m := onnxModels[names[r.Intn(len(names))]]()
		g := m.Graph
		var values []string
		for _, n := range g.Node {
			values = append(values, n.Output...)
		}
		for _, in := range g.Initializer {
			values = append(values, in.GetName())
		}
		for e := 0; e < 1+r.Intn(3); e++ {
			n := g.Node[r.Intn(len(g.Node))]
			switch r.Intn(6) {
			case 0:
				if len(n.Input) > 0 {
					n.Input[r.Intn(len(n.Input))] = values[r.Intn(len(values))]
				}
			case 1:
				n.OpType = proto.String(ops[r.Intn(len(ops))])
			case 2:
				in := g.Initializer[r.Intn(len(g.Initializer))]
				if len(in.Dims) > 0 {
					in.Dims[r.Intn(len(in.Dims))] = dims[r.Intn(len(dims))]
				}
			case 3:
				for _, a := range n.Attribute {
					a.I = proto.Int64(dims[r.Intn(len(dims))])
					for k := range a.Ints {
						a.Ints[k] = dims[r.Intn(len(dims))]
					}
				}
			case 4:
				g.Node = slices.DeleteFunc(g.Node, func(x *onnxpb.NodeProto) bool { return x == n })
			case 5:
				if n.GetOpType() == "Constant" && n.Attribute[0].T != nil {
					n.Attribute[0].T.RawData = n.Attribute[0].T.RawData[:r.Intn(len(n.Attribute[0].T.RawData)+1)]
				}
			}
		}
		a, err := ReadONNX("edit.onnx", marshalONNX(t, m))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "frontend: edit.onnx") {
				t.Fatalf("edit %d: error does not name the file: %v", it, err)
			}
			continue
		}
		a.MaxPositions = max(a.MaxPositions, 8)
		if _, err := Build(a, Options{Batch: 1, Seq: 8}); err != nil {
			t.Fatalf("edit %d: accepted %+v, which does not build: %v", it, a, err)
		}
	}
}
