package frontend

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readHF(t *testing.T, name string) (*Arch, error) {
	t.Helper()
	path := filepath.Join("testdata", "hf", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ReadHFConfig(path, data)
}

// TestHFConfigsMatchPresets reads real Hugging Face configs and checks they
// describe the same architecture as the built-in presets.
func TestHFConfigsMatchPresets(t *testing.T) {
	tests := []struct{ file, preset string }{
		{"gpt2.json", "gpt2"},
		{"llama2-7b.json", "llama2-7b"},
		{"llama3-8b.json", "llama3-8b"},
		{"opt-6.7b.json", "opt-6.7b"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := readHF(t, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Preset(tc.preset)
			got.Name = want.Name
			if d := cmp.Diff(want, *got); d != "" {
				t.Errorf("config differs from preset (-want +got):\n%s", d)
			}
		})
	}
}

func TestHFNames(t *testing.T) {
	a, err := readHF(t, "llama2-7b.json")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "Llama-2-7b-hf" {
		t.Errorf("name %q, want the base of _name_or_path", a.Name)
	}
	a, err = readHF(t, "gpt2.json")
	if err != nil || a.Name != "gpt2" {
		t.Errorf("name %q (%v), want the file name", a.Name, err)
	}
}

func TestHFRopeScalingAccepted(t *testing.T) {
	a, err := readHF(t, "llama3.1-8b-rope.json")
	if err != nil {
		t.Fatal(err)
	}
	if a.MaxPositions != 131072 || a.KVHeads != 8 {
		t.Errorf("read %+v", a)
	}
}

// TestHFRejects checks each malformed or unsupported config gives an error
// naming the file position and the field at fault.
func TestHFRejects(t *testing.T) {
	tests := []struct {
		file string
		want []string // each must appear in the error
	}{
		{"truncated.json", []string{"truncated.json:6:1", "unexpected end of input"}},
		{"truncated-string.json", []string{"truncated-string.json:4:8", "unexpected end of input"}},
		{"negative.json", []string{"negative.json:5:3", "n_layer", "must be a positive integer, got -12"}},
		{"heads-not-dividing.json", []string{"heads-not-dividing.json:6:3", "num_attention_heads", "30 heads do not divide hidden size 4096"}},
		{"unknown-type.json", []string{"unknown-type.json:2:3", "model_type", `unknown model_type "falcon"`}},
		{"llama-moe.json", []string{"llama-moe.json:8:3: num_local_experts", "llama-moe.json:9:3: num_experts_per_tok", "mixture-of-experts"}},
		{"sliding-window.json", []string{"sliding-window.json:9:3", "sliding_window", "not supported"}},
		{"wrong-type.json", []string{"wrong-type.json:3:3: n_embd: want an integer", "wrong-type.json:7:3: vocab_size: want an integer"}},
		{"rope-longrope.json", []string{"rope-longrope.json:8:3", "rope_scaling", `"longrope" is not supported`}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			a, err := readHF(t, tc.file)
			if err == nil {
				t.Fatalf("accepted: %+v", a)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %v is not an ErrorList", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestHFInline(t *testing.T) {
	tests := []struct {
		name, json string
		want       string
	}{
		{"not an object", `[1, 2]`, "want a JSON object"},
		{"duplicate key", "{\"model_type\": \"gpt2\",\n \"model_type\": \"llama\"}", "x.json:2:2: model_type: duplicate key"},
		{"trailing data", `{"model_type": "gpt2"} {}`, "unexpected data after"},
		{"missing model_type", `{"n_embd": 4}`, "model_type: required field is missing"},
		{"missing field", `{"model_type": "opt", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 16}`,
			"ffn_dim: required field is missing"},
		{"gqa not dividing", `{"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 8, "num_key_value_heads": 3, "intermediate_size": 128, "vocab_size": 10, "max_position_embeddings": 16}`,
			"num_key_value_heads: 3 key/value heads do not divide 8"},
		{"unknown activation", `{"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 10, "n_positions": 16, "activation_function": "mish"}`,
			`activation "mish" is not supported`},
		{"cross attention", `{"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 10, "n_positions": 16, "add_cross_attention": true}`,
			"cross-attention is not supported"},
		{"post-norm opt", `{"model_type": "opt", "hidden_size": 64, "ffn_dim": 256, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 16, "do_layer_norm_before": false}`,
			"do_layer_norm_before: post-norm"},
		{"absurd size", `{"model_type": "gpt2", "n_embd": 64, "n_layer": 1000000000, "n_head": 4, "vocab_size": 10, "n_positions": 16}`,
			"n_layer: 1000000000 exceeds tempc's limit"},
		{"float size", `{"model_type": "gpt2", "n_embd": 64.5, "n_layer": 2, "n_head": 4, "vocab_size": 10, "n_positions": 16}`,
			"n_embd: want an integer, got 64.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadHFConfig("x.json", []byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestHFCollectsAllErrors: two bad fields give two errors, in file order.
func TestHFCollectsAllErrors(t *testing.T) {
	src := "{\n \"model_type\": \"gpt2\",\n \"n_embd\": -1,\n \"n_layer\": 0,\n \"n_head\": 4,\n \"vocab_size\": 10,\n \"n_positions\": 16\n}"
	_, err := ReadHFConfig("c.json", []byte(src))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("got %v, want two errors", err)
	}
	if list[0].Pos.Line != 3 || list[1].Pos.Line != 4 {
		t.Errorf("errors at lines %d and %d, want 3 and 4", list[0].Pos.Line, list[1].Pos.Line)
	}
}

func TestLoadConfigFolderAndFile(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "hf", "llama3-8b.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := Load(dir, Options{Batch: 1, Seq: 32})
	if err != nil {
		t.Fatal(err)
	}
	if g.Summary().Parameters != 8_030_261_248 || g.Name != filepath.Base(dir) {
		t.Errorf("loaded %s with %d parameters", g.Name, g.Summary().Parameters)
	}
	if _, err := Load("no-such-model", Options{}); err == nil || !strings.Contains(err.Error(), "not a preset") {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := Load("gpt2", Options{Seq: 4096}); err == nil || !strings.Contains(err.Error(), "learned position table") {
		t.Errorf("gpt2 at 4096 tokens: %v", err)
	}
	if _, err := Load("gpt2", Options{Batch: -1}); err == nil {
		t.Error("negative batch accepted")
	}
}

// hfLines is a small valid llama config as key, value pairs; hfConfig
// writes one pair a line, so key i sits at line i+2, column 3.
var hfLines = [][2]string{
	{"model_type", `"llama"`},         // line 2
	{"hidden_size", "64"},             // line 3
	{"num_hidden_layers", "2"},        // line 4
	{"num_attention_heads", "8"},      // line 5
	{"num_key_value_heads", "4"},      // line 6
	{"intermediate_size", "128"},      // line 7
	{"vocab_size", "100"},             // line 8
	{"max_position_embeddings", "32"}, // line 9
}

// hfConfig is hfLines with the values of set (key, value, ...) replaced,
// or appended in order when the key is new; the value "-" drops the key.
func hfConfig(set ...string) []byte {
	lines := append([][2]string(nil), hfLines...)
	for i := 0; i < len(set); i += 2 {
		found := false
		for j := range lines {
			if lines[j][0] == set[i] {
				lines[j][1], found = set[i+1], true
			}
		}
		if !found {
			lines = append(lines, [2]string{set[i], set[i+1]})
		}
	}
	var b strings.Builder
	b.WriteString("{")
	sep := "\n"
	for _, kv := range lines {
		if kv[1] == "-" {
			kv[0], kv[1] = "_dropped", "null" // keeps the line numbers
		}
		fmt.Fprintf(&b, "%s  %q: %s", sep, kv[0], kv[1])
		sep = ",\n"
	}
	b.WriteString("\n}\n")
	return []byte(b.String())
}

func TestHFConfigHelperIsValid(t *testing.T) {
	if _, err := ReadHFConfig("c.json", hfConfig()); err != nil {
		t.Fatal(err)
	}
}

// TestHFMoEFieldsNamed: a mixture-of-experts config names each expert field
// with its position, whatever its model_type, and still reports the
// config's other problems.
func TestHFMoEFieldsNamed(t *testing.T) {
	mixtral, err := os.ReadFile(filepath.Join("testdata", "hf", "mixtral-8x7b.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		n    int
		want []string
	}{
		{"mixtral file", mixtral, 3, []string{
			`c.json:9:3: model_type: "mixtral" is a mixture-of-experts model`,
			"c.json:11:3: num_experts_per_tok: mixture-of-experts",
			"c.json:14:3: num_local_experts: mixture-of-experts"}},
		{"mixtral with other problems", hfConfig("model_type", `"mixtral"`, "hidden_size", "0", "vocab_size", "-1",
			"num_local_experts", "8", "num_experts_per_tok", "2"), 5, []string{
			"c.json:2:3: model_type: \"mixtral\"",
			"c.json:3:3: hidden_size: must be a positive integer, got 0",
			"c.json:8:3: vocab_size: must be a positive integer, got -1",
			"c.json:10:3: num_local_experts", "c.json:11:3: num_experts_per_tok"}},
		{"unknown moe type", hfConfig("model_type", `"qwen2_moe"`, "num_experts", "60", "moe_intermediate_size", "1408"), 3, []string{
			`c.json:2:3: model_type: unknown model_type "qwen2_moe"`,
			"c.json:10:3: num_experts: mixture-of-experts", "c.json:11:3: moe_intermediate_size: mixture-of-experts"}},
		{"llama with experts", hfConfig("num_local_experts", "4", "n_routed_experts", "64"), 2, []string{
			"c.json:10:3: num_local_experts", "c.json:11:3: n_routed_experts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadHFConfig("c.json", tc.data)
			if err == nil {
				t.Fatalf("accepted %+v", a)
			}
			wantErrors(t, err, tc.n, tc.want...)
		})
	}
}

// TestHFAbsurdSizes: each absurd or inconsistent size is named with its
// position, and reported alongside the config's other problems.
func TestHFAbsurdSizes(t *testing.T) {
	tests := []struct {
		name string
		set  []string
		n    int
		want []string
	}{
		{"hidden zero", []string{"hidden_size", "0"}, 1, []string{"c.json:3:3: hidden_size: must be a positive integer, got 0"}},
		{"hidden negative", []string{"hidden_size", "-4096"}, 1, []string{"c.json:3:3: hidden_size: must be a positive integer, got -4096"}},
		{"hidden null", []string{"hidden_size", "null"}, 1, []string{"c.json:3:3: hidden_size: want an integer, got null"}},
		{"hidden missing", []string{"hidden_size", "-"}, 1, []string{"c.json:1:1: hidden_size: required field is missing"}},
		{"hidden string", []string{"hidden_size", `"64"`}, 1, []string{`c.json:3:3: hidden_size: want an integer, got "64"`}},
		{"hidden beyond int64", []string{"hidden_size", "1e400"}, 1, []string{"c.json:3:3: hidden_size: 1e400 is outside the 64-bit integer range"}},
		{"layers 1e12", []string{"num_hidden_layers", "1e12"}, 1, []string{"c.json:4:3: num_hidden_layers: 1000000000000 exceeds tempc's limit of 4096"}},
		{"vocab zero", []string{"vocab_size", "0"}, 1, []string{"c.json:8:3: vocab_size: must be a positive integer, got 0"}},
		{"heads not dividing hidden", []string{"num_attention_heads", "6", "num_key_value_heads", "3"}, 1, []string{"c.json:5:3: num_attention_heads: 6 heads do not divide hidden size 64"}},
		{"kv heads not dividing heads", []string{"num_key_value_heads", "3"}, 1, []string{"c.json:6:3: num_key_value_heads: 3 key/value heads do not divide 8 attention heads"}},
		{"kv heads above heads", []string{"num_key_value_heads", "16"}, 1, []string{"c.json:6:3: num_key_value_heads: 16 key/value heads do not divide 8"}},
		{"head_dim zero", []string{"head_dim", "0"}, 1, []string{"c.json:10:3: head_dim: must be a positive integer, got 0"}},
		{"sizes and activation", []string{"hidden_size", "0", "hidden_act", `"mish"`, "num_key_value_heads", "3"}, 3, []string{
			"c.json:3:3: hidden_size: must be a positive",
			"c.json:6:3: num_key_value_heads: 3 key/value heads do not divide 8",
			`c.json:10:3: hidden_act: activation "mish" is not supported`}},
		{"every size bad", []string{"hidden_size", "0", "num_hidden_layers", "-1", "num_attention_heads", "1e30",
			"num_key_value_heads", "2.5", "intermediate_size", "null", "vocab_size", "0", "max_position_embeddings", "true"}, 7, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadHFConfig("c.json", hfConfig(tc.set...))
			if err == nil {
				t.Fatalf("accepted %+v", a)
			}
			wantErrors(t, err, tc.n, tc.want...)
		})
	}
}

// TestHFGPT2HeadsReportedOnce: n_head stands for the query and key/value
// heads of GPT-2, and a bad value is reported once.
func TestHFGPT2HeadsReportedOnce(t *testing.T) {
	_, err := ReadHFConfig("x.json", []byte(`{"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 0, "vocab_size": 10, "n_positions": 16}`))
	wantErrors(t, err, 1, "x.json:1:52: n_head: must be a positive integer, got 0")
	_, err = ReadHFConfig("x.json", []byte(`{"model_type": "gpt2", "n_embd": 1e9, "n_layer": 2, "n_head": 4, "vocab_size": 10, "n_positions": 16}`))
	wantErrors(t, err, 1, "x.json:1:24: n_embd: 1000000000 exceeds tempc's limit")
}
