package frontend

import (
	"errors"
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
		{"mixtral-8x7b.json", []string{"mixtral-8x7b.json:9:3", "model_type", "mixture of experts"}},
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
