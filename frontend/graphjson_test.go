package frontend

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tempc/tempc/ir"
)

func writeJSON(t *testing.T, g *ir.Graph) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteGraphJSON(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGraphJSONRoundTrip: read(write(g)) equals g, and writing it again
// gives the same bytes.
func TestGraphJSONRoundTrip(t *testing.T) {
	for _, name := range []string{"gpt2", "llama3-8b", "opt-6.7b"} {
		t.Run(name, func(t *testing.T) {
			g := mustPreset(t, name, small)
			first := writeJSON(t, g)
			back, err := ReadGraphJSON(name+".json", first)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(g, back); d != "" {
				t.Fatalf("graph changed in a round trip (-want +got):\n%s", d)
			}
			if second := writeJSON(t, back); !bytes.Equal(first, second) {
				t.Error("second write differs from the first")
			}
		})
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	abs, err := filepath.Abs("graph.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	sch, err := jsonschema.NewCompiler().Compile(abs)
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

// TestGraphJSONSchema checks written graphs and the hand-written example
// against graph.schema.json, and that the schema rejects a broken file.
func TestGraphJSONSchema(t *testing.T) {
	sch := compileSchema(t)
	for _, name := range []string{"gpt2", "llama2-70b"} {
		if err := validate(t, sch, writeJSON(t, mustPreset(t, name, small))); err != nil {
			t.Errorf("%s: written graph violates the schema: %v", name, err)
		}
	}
	for file, ok := range map[string]bool{"tiny-forward.json": true, "bad-refs.json": false} {
		data, err := os.ReadFile(filepath.Join("testdata", "graph", file))
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(t, sch, data); (err == nil) != ok {
			t.Errorf("%s: schema validation %v, want valid=%v", file, err, ok)
		}
	}
}

// TestSchemaEnumsMatchIR keeps the schema's enums in step with the IR
// (roles: those a file may give, all but pipeline stages' boundary).
func TestSchemaEnumsMatchIR(t *testing.T) {
	data, err := os.ReadFile("graph.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, names := range [][]string{ir.KindNames(), fileRoles, ir.DTypeNames(), ir.PhaseNames()} {
		want := `"enum": ["` + strings.Join(names, `", "`) + `"]`
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("schema lacks %s", want)
		}
	}
}

func TestGraphJSONForwardOnlyIsTrained(t *testing.T) {
	g, err := Load(filepath.Join("testdata", "graph", "tiny-forward.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := g.Summary()
	// Parameters: table 16·8 + w1 8·32 + w2 32·16.
	if s.Parameters != 128+256+512 || s.OpsByPhase["bwd"] == 0 || s.OpsByPhase["opt"] != 3 {
		t.Errorf("summary %+v", s)
	}
	if _, err := Load(filepath.Join("testdata", "graph", "tiny-forward.json"), Options{Batch: 4}); err == nil {
		t.Error("batch accepted for a graph file")
	}
}

func TestGraphJSONErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"bad-shape.json", []string{"bad-shape.json:16:5: ops[1]", "want batch·M·K = 128"}},
		{"bad-refs.json", []string{
			`bad-refs.json:8:42: tensors[0].dtype: unknown dtype "bf17"`,
			`bad-refs.json:11:28: ops[0].kind: unknown kind "conv"`,
			"bad-refs.json:11:74: ops[0].inputs[1]: tensor 7 does not exist",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "graph", tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ReadGraphJSON(path, data)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
	inline := []struct{ name, src, want string }{
		{"version", `{"schema_version": 2, "name": "x", "batch": 1, "seq": 1, "layers": 0, "tensors": [], "ops": []}`, "unsupported version 2"},
		{"unknown field", `{"schema_version": 1, "name": "x", "batch": 1, "seq": 1, "layers": 0, "tensors": [], "ops": [], "extra": 1}`, "unknown field"},
		{"id mismatch", `{"schema_version": 1, "name": "x", "batch": 1, "seq": 1, "layers": 0, "tensors": [{"id": 3, "name": "t", "shape": [1], "dtype": "bf16", "role": "weight"}], "ops": []}`, "tensors[0].id: is 3, want its index 0"},
		{"wrong type", `{"schema_version": 1, "name": "x", "batch": "one", "seq": 1, "layers": 0, "tensors": [], "ops": []}`, `g.json:1:36: batch: want an integer, got "one"`},
	}
	for _, tc := range inline {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadGraphJSON("g.json", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// tinyWith is testdata/graph/tiny-forward.json with each old string of
// edits (old, new, ...) replaced once.
func tinyWith(t *testing.T, edits ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "graph", "tiny-forward.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(edits); i += 2 {
		if !bytes.Contains(data, []byte(edits[i])) {
			t.Fatalf("tiny-forward.json lacks %q", edits[i])
		}
		data = bytes.Replace(data, []byte(edits[i]), []byte(edits[i+1]), 1)
	}
	return data
}

// TestGraphJSONNumbers: every numeric field of a graph file is checked —
// integers where integers are expected, positive sizes, counts within
// tempc's limits, element counts that cannot overflow — and reported with
// its position and path.
func TestGraphJSONNumbers(t *testing.T) {
	big := "1073741824" // 2^30
	tests := []struct {
		name  string
		edits []string
		want  []string
	}{
		{"batch negative", []string{`"batch": 2`, `"batch": -2`}, []string{"g.json:4:3: batch: must be positive, got -2"}},
		{"batch zero", []string{`"batch": 2`, `"batch": 0`}, []string{"g.json:4:3: batch: must be positive, got 0"}},
		{"batch null", []string{`"batch": 2`, `"batch": null`}, []string{"g.json:4:3: batch: want an integer, got null"}},
		{"batch fraction", []string{`"batch": 2`, `"batch": 2.5`}, []string{"g.json:4:3: batch: want an integer, got 2.5"}},
		{"batch missing", []string{`"batch": 2,`, ``}, []string{"g.json:1:1: batch: required field is missing"}},
		{"seq negative", []string{`"seq": 4`, `"seq": -4`}, []string{"g.json:5:3: seq: must be positive, got -4"}},
		{"tokens beyond limit", []string{`"batch": 2`, `"batch": ` + big}, []string{"g.json:5:3: seq: batch 1073741824 × seq 4 exceeds tempc's limit of 1073741824 tokens"}},
		{"batch beyond int64", []string{`"batch": 2`, `"batch": 1e19`}, []string{"g.json:4:3: batch: 1e19 is outside the 64-bit integer range"}},
		{"layers 1e9", []string{`"layers": 0`, `"layers": 1e9`}, []string{"g.json:6:3: layers: 1000000000 exceeds the limit of 4096"}},
		{"layers negative", []string{`"layers": 0`, `"layers": -1`}, []string{"g.json:6:3: layers: must not be negative, got -1"}},
		{"schema_version string", []string{`"schema_version": 1`, `"schema_version": "1"`}, []string{`g.json:2:3: schema_version: want an integer, got "1"`}},
		{"shape zero", []string{`"shape": [16, 8]`, `"shape": [16, 0]`}, []string{"g.json:10:46: tensors[2].shape[1]: must be positive, got 0"}},
		{"shape negative", []string{`"shape": [16, 8]`, `"shape": [-16, 8]`}, []string{"g.json:10:42: tensors[2].shape[0]: must be positive, got -16"}},
		{"shape fraction", []string{`"shape": [16, 8]`, `"shape": [16, 8.5]`}, []string{"g.json:10:46: tensors[2].shape[1]: want an integer, got 8.5"}},
		{"shape null", []string{`"shape": [16, 8]`, `"shape": null`}, []string{"g.json:10:32: tensors[2].shape: want an array, got null"}},
		{"shape not a list", []string{`"shape": [16, 8]`, `"shape": 128`}, []string{"g.json:10:32: tensors[2].shape: want an array, got 128"}},
		{"shape dim beyond limit", []string{`"shape": [16, 8]`, `"shape": [16, 1e16]`}, []string{"g.json:10:46: tensors[2].shape[1]: 10000000000000000 exceeds the limit of 1125899906842624"}},
		{"shape overflows int64", []string{`"shape": [16, 8]`, `"shape": [1048576, 1048576, 1048576, 1048576]`},
			[]string{"g.json:10:32: tensors[2].shape: 1.209e+24 elements exceed tempc's limit of 2^50 per tensor"}},
		{"tensor id fraction", []string{`{"id": 2, "name": "table"`, `{"id": 2.0001, "name": "table"`}, []string{"g.json:10:6: tensors[2].id: want an integer, got 2.0001"}},
		{"tensor layer beyond layers", []string{`"role": "weight"}`, `"role": "weight", "layer": 0}`}, []string{"g.json:10:85: tensors[2].layer: block 0 does not exist (layers is 0)"}},
		{"tensor layer negative", []string{`"role": "weight"}`, `"role": "weight", "layer": -1}`}, []string{"g.json:10:85: tensors[2].layer: must not be negative, got -1"}},
		{"tensor duplicate key", []string{`"dtype": "bf16", "role": "weight"}`, `"dtype": "bf16", "role": "weight", "dtype": "fp32"}`}, []string{"g.json:10:85: tensors[2].dtype: duplicate key"}},
		{"tensor empty name", []string{`"name": "table"`, `"name": ""`}, []string{"g.json:10:15: tensors[2].name: must not be empty"}},
		{"matmul m zero", []string{`"m": 8, "n": 32`, `"m": 0, "n": 32`}, []string{"g.json:22:29: ops[1].matmul.m: must be positive, got 0"}},
		{"matmul k string", []string{`"n": 32, "k": 8`, `"n": 32, "k": "8"`}, []string{`g.json:22:46: ops[1].matmul.k: want an integer, got "8"`}},
		{"matmul m null", []string{`"m": 8, "n": 32`, `"m": null, "n": 32`}, []string{"g.json:22:29: ops[1].matmul.m: want an integer, got null"}},
		{"matmul operand overflows", []string{`"m": 8, "n": 32, "k": 8`, `"m": 1125899906842624, "n": 1125899906842624, "k": 8`},
			[]string{"g.json:22:16: ops[1].matmul: batch·m·n = 1.268e+30 elements exceed tempc's limit of 2^50 per tensor"}},
		{"matmul unknown field", []string{`"k": 8}`, `"k": 8, "l": 1}`}, []string{`g.json:22:54: ops[1].matmul.l: unknown field`}},
		{"attention sizes", []string{`"fn": "gelu",`, `"fn": "gelu", "attention": {"batch": 0, "seq_q": 4, "seq_kv": 4, "heads": 2, "kv_heads": 1, "head_dim": 1e16},`},
			[]string{"g.json:23:81: ops[2].attention.batch: must be positive, got 0", "ops[2].attention.head_dim: 10000000000000000 exceeds the limit"}},
		{"attention overflows", []string{`"fn": "gelu",`, `"fn": "gelu", "attention": {"batch": 1048576, "seq_q": 1e9, "seq_kv": 4, "heads": 2, "kv_heads": 1, "head_dim": 1},`},
			[]string{"g.json:23:80: ops[2].attention: batch·seq_q·(heads+2·kv_heads)·head_dim = 4.194e+15 elements exceed"}},
		{"input id fraction", []string{`"inputs": [3, 4]`, `"inputs": [3, 4.5]`}, []string{"g.json:21:77: ops[1].inputs[1]: want an integer, got 4.5"}},
		{"input id negative", []string{`"inputs": [3, 4]`, `"inputs": [-3, 4]`}, []string{"g.json:21:74: ops[1].inputs[0]: tensor -3 does not exist (10 tensors)"}},
		{"input id beyond int64", []string{`"inputs": [3, 4]`, `"inputs": [3, 99999999999999999999]`}, []string{"g.json:21:77: ops[1].inputs[1]: 99999999999999999999 is outside the 64-bit integer range"}},
		{"outputs missing", []string{`, "outputs": [5]`, ``}, []string{"g.json:21:5: ops[1].outputs: required field is missing"}},
		{"op layer null is absent", []string{`"phase": "fwd", "inputs": [3, 4]`, `"phase": "fwd", "layer": null, "inputs": [3, 4]`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ReadGraphJSON("g.json", tinyWith(t, tc.edits...))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted batch=%d seq=%d layers=%d", g.Batch, g.Seq, g.Layers)
			}
			wantErrors(t, err, 0, tc.want...)
		})
	}
}

// TestGraphJSONCounts: more tensors or ops than tempc accepts, or tensors
// adding up to more bytes, are rejected at the list.
func TestGraphJSONCounts(t *testing.T) {
	many := "[" + strings.Repeat("0,", maxGraphItems) + "0]"
	_, err := ReadGraphJSON("g.json", tinyWith(t, `"ops": [`, `"ops": `+many+`, "x": [`))
	wantErrors(t, err, 0, "g.json:19:3: ops: 1048577 entries exceed tempc's limit of 1048576")

	// Twenty fp32 tensors of 2^50 elements: each within the per-tensor
	// limit, 2^56·1.25 bytes together.
	huge := strings.Repeat(`{"id": 10, "name": "h", "shape": [1073741824, 1048576], "dtype": "fp32", "role": "weight"},`, 20)
	data := tinyWith(t, `{"id": 9, "name": "loss", "shape": [], "dtype": "fp32", "role": "activation"}`,
		`{"id": 9, "name": "loss", "shape": [], "dtype": "fp32", "role": "activation"},`+strings.TrimSuffix(huge, ","))
	_, err = ReadGraphJSON("g.json", data)
	wantErrors(t, err, 0, "g.json:7:3: tensors: 9.007e+16 bytes of tensors exceed tempc's limit of 2^56")
}

// TestSchemaLimitsMatchReader keeps the bounds graph.schema.json states in
// step with the reader's.
func TestSchemaLimitsMatchReader(t *testing.T) {
	data, err := os.ReadFile("graph.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf(`"batch": {"type": "integer", "minimum": 1, "maximum": %d`, maxTokens),
		fmt.Sprintf(`"seq": {"type": "integer", "minimum": 1, "maximum": %d`, maxTokens),
		fmt.Sprintf(`"layers": {"type": "integer", "minimum": 0, "maximum": %d`, maxLayers),
		fmt.Sprintf(`"maxItems": %d, "items": {"$ref": "#/$defs/tensor"}`, maxGraphItems),
		fmt.Sprintf(`"maxItems": %d, "items": {"$ref": "#/$defs/op"}`, maxGraphItems),
		fmt.Sprintf(`"id": {"type": "integer", "minimum": 0, "maximum": %d}`, maxGraphItems-1),
		fmt.Sprintf(`"layer": {"type": "integer", "minimum": 0, "maximum": %d`, maxLayers-1),
		fmt.Sprintf(`"size": {"type": "integer", "minimum": 1, "maximum": %d}`, int64(maxElements)),
	} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("schema lacks %s", want)
		}
	}
}
