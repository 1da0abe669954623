package frontend

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"tempc/ir"
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

// TestSchemaEnumsMatchIR keeps the schema's enums in step with the IR.
func TestSchemaEnumsMatchIR(t *testing.T) {
	data, err := os.ReadFile("graph.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, names := range [][]string{ir.KindNames(), ir.RoleNames(), ir.DTypeNames(), ir.PhaseNames()} {
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
			`bad-refs.json:8:5: tensors[0].dtype: unknown dtype "bf17"`,
			`bad-refs.json:11:5: ops[0].kind: unknown kind "conv"`,
			"bad-refs.json:11:5: ops[0].inputs[1]: tensor 7 does not exist",
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
		{"wrong type", `{"schema_version": 1, "name": "x", "batch": "one", "seq": 1, "layers": 0, "tensors": [], "ops": []}`, "batch: want int64"},
	}
	for _, tc := range inline {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadGraphJSON("g.json", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
