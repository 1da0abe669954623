package frontend

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// llamaJSON is a valid llama config with one key a line; key k of
// hfLines is at line k+2.
func llamaJSON(set ...string) string { return string(hfConfig(set...)) }

// garbage is n bytes from a fixed seed.
func garbage(n int) string {
	b := make([]byte, n)
	rand.New(rand.NewSource(1)).Read(b)
	return string(b)
}

// onnxHeader is the start of an ONNX ModelProto: ir_version 7 (field 1),
// producer_name "pytorch" (field 2), producer_version "2.1.0" (field 3),
// then the graph (field 7).
const onnxHeader = "\x08\x07\x12\x07pytorch\x1a\x052.1.0:\x8a\x01\n\x1e\n\x05input"

// safetensorsHeader is a safetensors file: an 8-byte little-endian header
// length, then the JSON header.
const safetensorsHeader = "\x40\x00\x00\x00\x00\x00\x00\x00{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}"

// TestLoadMalformed feeds Load malformed configs, graph files and other
// files: each must end in an error that names the file position and the
// field at fault (never a panic, a hang or an accepted graph).
func TestLoadMalformed(t *testing.T) {
	tiny, err := os.ReadFile(filepath.Join("testdata", "graph", "tiny-forward.json"))
	if err != nil {
		t.Fatal(err)
	}
	graph := func(old, new string) string { return strings.Replace(string(tiny), old, new, 1) }
	tests := []struct {
		name string
		file string // under a temporary folder; "" means the folder itself
		data string
		opt  Options
		want []string
	}{
		// Files that are not JSON objects at all.
		{"empty file", "c.json", "", Options{}, []string{"c.json: empty file, want a JSON object"}},
		{"whitespace only", "c.json", " \n\t\n", Options{}, []string{"c.json: empty file"}},
		{"binary garbage", "c.json", garbage(300), Options{}, []string{"c.json:1:1: malformed JSON", "the file is binary, not JSON"}},
		{"onnx protobuf cut short", "model.onnx", onnxHeader, Options{}, []string{"model.onnx: malformed ONNX model (truncated, or not an ONNX file)"}},
		{"onnx protobuf without .onnx", "model.pb", onnxHeader, Options{}, []string{"model.pb:1:1: malformed JSON: invalid character '\\b'", "an ONNX model named *.onnx"}},
		{"safetensors", "model.safetensors", safetensorsHeader, Options{}, []string{"model.safetensors:1:1: malformed JSON", "the file is binary"}},
		{"json array", "c.json", `[{"model_type": "llama"}]`, Options{}, []string{"c.json:1:1: want a JSON object, got ["}},
		{"json string", "c.json", `"llama"`, Options{}, []string{`c.json:1:1: want a JSON object, got "llama"`}},
		{"json null", "c.json", `null`, Options{}, []string{"c.json:1:1: want a JSON object, got null"}},
		{"truncated object", "c.json", "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 40", Options{}, []string{"c.json:3:20: malformed JSON: unexpected end of input (truncated file?)"}},
		{"truncated key", "c.json", "{\n  \"model_ty", Options{}, []string{"c.json:2:12: malformed JSON: unexpected end of input"}},
		{"comment", "c.json", "{\n  // Llama\n  \"model_type\": \"llama\"}", Options{}, []string{"c.json:2:3: malformed JSON: invalid character '/'"}},
		{"NaN", "c.json", llamaJSON("hidden_size", "NaN"), Options{}, []string{"c.json:3:18: malformed JSON: invalid character 'N'"}},
		{"trailing comma", "c.json", "{\"model_type\": \"llama\",}", Options{}, []string{"c.json:1:24: malformed JSON: invalid character '}'"}},
		{"two objects", "c.json", llamaJSON() + "{}", Options{}, []string{"c.json:11:1: unexpected data after the JSON object"}},
		{"deep nesting", "c.json", `{"rope_scaling": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}", Options{}, []string{"c.json:1:", "malformed JSON", "depth"}},
		{"duplicate key", "c.json", llamaJSON("vocab_size", "100,\n  \"hidden_size\": 128"), Options{}, []string{"c.json:9:3: hidden_size: duplicate key (first at line 3)"}},
		// Hugging Face configs with fields of the wrong type or size.
		{"model_type missing", "c.json", llamaJSON("model_type", "-"), Options{}, []string{"c.json:1:1: model_type: required field is missing"}},
		{"model_type null", "c.json", llamaJSON("model_type", "null"), Options{}, []string{"c.json:2:3: model_type: want a string, got null"}},
		{"model_type number", "c.json", llamaJSON("model_type", "7"), Options{}, []string{"c.json:2:3: model_type: want a string, got 7"}},
		{"hidden null", "c.json", llamaJSON("hidden_size", "null"), Options{}, []string{"c.json:3:3: hidden_size: want an integer, got null"}},
		{"hidden quoted", "c.json", llamaJSON("hidden_size", `"4096"`), Options{}, []string{`c.json:3:3: hidden_size: want an integer, got "4096"`}},
		{"hidden fraction", "c.json", llamaJSON("hidden_size", "64.5"), Options{}, []string{"c.json:3:3: hidden_size: want an integer, got 64.5"}},
		{"hidden 1e400", "c.json", llamaJSON("hidden_size", "1e400"), Options{}, []string{"c.json:3:3: hidden_size: 1e400 is outside the 64-bit integer range"}},
		{"hidden long number", "c.json", llamaJSON("hidden_size", "1"+strings.Repeat("0", 100000)), Options{}, []string{"c.json:3:3: hidden_size: 1000000000000000000000000000000000000000… is outside"}},
		{"hidden negative", "c.json", llamaJSON("hidden_size", "-64"), Options{}, []string{"c.json:3:3: hidden_size: must be a positive integer, got -64"}},
		{"hidden zero", "c.json", llamaJSON("hidden_size", "0"), Options{}, []string{"c.json:3:3: hidden_size: must be a positive integer, got 0"}},
		{"layers 1e12", "c.json", llamaJSON("num_hidden_layers", "1e12"), Options{}, []string{"c.json:4:3: num_hidden_layers: 1000000000000 exceeds tempc's limit of 4096"}},
		{"heads not dividing hidden", "c.json", llamaJSON("num_attention_heads", "6", "num_key_value_heads", "6"), Options{}, []string{"c.json:5:3: num_attention_heads: 6 heads do not divide hidden size 64"}},
		{"kv heads zero", "c.json", llamaJSON("num_key_value_heads", "0"), Options{}, []string{"c.json:6:3: num_key_value_heads: must be a positive integer, got 0"}},
		{"kv heads not dividing", "c.json", llamaJSON("num_key_value_heads", "3"), Options{}, []string{"c.json:6:3: num_key_value_heads: 3 key/value heads do not divide 8"}},
		{"ffn array", "c.json", llamaJSON("intermediate_size", "[128]"), Options{}, []string{"c.json:7:3: intermediate_size: want an integer, got [128]"}},
		{"vocab zero", "c.json", llamaJSON("vocab_size", "0"), Options{}, []string{"c.json:8:3: vocab_size: must be a positive integer, got 0"}},
		{"positions object", "c.json", llamaJSON("max_position_embeddings", "{}"), Options{}, []string{"c.json:9:3: max_position_embeddings: want an integer, got {}"}},
		{"bool as string", "c.json", llamaJSON("tie_word_embeddings", `"yes"`), Options{}, []string{`c.json:10:3: tie_word_embeddings: want true or false, got "yes"`}},
		{"activation number", "c.json", llamaJSON("hidden_act", "5"), Options{}, []string{"c.json:10:3: hidden_act: want a string, got 5"}},
		{"rope_scaling string", "c.json", llamaJSON("rope_scaling", `"linear"`), Options{}, []string{`c.json:10:19: rope_scaling: want a JSON object, got "linear"`}},
		{"rope_scaling duplicate", "c.json", llamaJSON("rope_scaling", "{\"type\": \"linear\",\n \"type\": \"yarn\"}"), Options{}, []string{"c.json:11:2: rope_scaling.type: duplicate key"}},
		{"rope_scaling without type", "c.json", llamaJSON("rope_scaling", `{"factor": 8.0}`), Options{}, []string{"c.json:10:3: rope_scaling: has no rope_type"}},
		{"rope_type number", "c.json", llamaJSON("rope_scaling", `{"rope_type": 3}`), Options{}, []string{"c.json:10:20: rope_scaling.rope_type: want a string, got 3"}},
		{"mixtral", "c.json", llamaJSON("model_type", `"mixtral"`, "num_local_experts", "8", "num_experts_per_tok", "2"), Options{}, []string{
			`c.json:2:3: model_type: "mixtral" is a mixture-of-experts model`, "c.json:10:3: num_local_experts", "c.json:11:3: num_experts_per_tok"}},
		{"opt negative projection", "c.json", `{"model_type": "opt", "hidden_size": 64, "ffn_dim": 256, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10, "max_position_embeddings": 16, "word_embed_proj_dim": -1}`,
			Options{}, []string{"c.json:1:157: word_embed_proj_dim: must be positive, got -1"}},
		{"gpt2 n_head zero", "c.json", `{"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 0, "vocab_size": 10, "n_positions": 16}`, Options{}, []string{"c.json:1:52: n_head: must be a positive integer, got 0"}},
		{"byte-order mark", "c.json", "\xef\xbb\xbf" + llamaJSON("hidden_size", "0"), Options{}, []string{"c.json:3:3: hidden_size: must be a positive"}},
		// Folders and paths.
		{"folder without config.json", "", "", Options{}, []string{": folder has no config.json"}},
		{"config.json is a folder", "m/config.json/", "", Options{}, []string{"m/config.json: folder has no config.json"}},
		// Options that cannot hold.
		{"negative batch", "c.json", llamaJSON(), Options{Batch: -3}, []string{"frontend: batch -3 must be positive"}},
		{"default sequence too long", "c.json", llamaJSON("max_position_embeddings", "16777216"), Options{}, []string{"frontend: batch 128 × sequence length 16777216 exceeds tempc's limit of 1073741824 tokens per step (the sequence length defaults to the context length of c)"}},
		// tempc graph files.
		{"graph batch negative", "g.json", graph(`"batch": 2`, `"batch": -2`), Options{}, []string{"g.json:4:3: batch: must be positive, got -2"}},
		{"graph layers 1e9", "g.json", graph(`"layers": 0`, `"layers": 1e9`), Options{}, []string{"g.json:6:3: layers: 1000000000 exceeds the limit of 4096"}},
		{"graph version 2", "g.json", graph(`"schema_version": 1`, `"schema_version": 2`), Options{}, []string{"g.json:2:3: schema_version: unsupported version 2"}},
		{"graph version null", "g.json", graph(`"schema_version": 1`, `"schema_version": null`), Options{}, []string{"g.json:2:3: schema_version: want an integer, got null"}},
		{"graph tensors null", "g.json", graph(`"tensors": [`, `"tensors": null, "x": [`), Options{}, []string{"g.json:7:3: tensors: want an array, got null", "g.json:7:20: x: unknown field"}},
		{"graph tensor not an object", "g.json", graph(`{"id": 0, "name": "tokens", "shape": [2, 4], "dtype": "int32", "role": "input"}`, `5`), Options{}, []string{"g.json:8:5: tensors[0]: want a JSON object, got 5"}},
		{"graph shape overflow", "g.json", graph(`"shape": [16, 8]`, `"shape": [4294967296, 4294967296]`), Options{}, []string{"g.json:10:32: tensors[2].shape: 1.845e+19 elements exceed"}},
		{"graph inputs missing", "g.json", graph(`"inputs": [3, 4], `, ``), Options{}, []string{"g.json:21:5: ops[1].inputs: required field is missing"}},
		{"graph truncated", "g.json", string(tiny[:300]), Options{}, []string{"g.json:10:28: malformed JSON: unexpected end of input (truncated file?)"}},
		{"graph loss of wrong kind", "g.json", graph(`"kind": "loss"`, `"kind": "softmax"`), Options{}, []string{`g.json:26:5: ops[4]: op 4 "loss" (fwd softmax): has 2 inputs`}},
		{"graph shapes disagree", "g.json", graph(`"inputs": [3, 4], "outputs": [5]`, `"inputs": [6, 4], "outputs": [5]`), Options{}, []string{`g.json:21:5: ops[1]: op 1 "up" (fwd matmul): tensor 6 "a" [2 4 32] has 256 elements, want batch·M·K = 64`}},
		{"graph not differentiable", "g.json", graph(`"n": 32, "k": 8}`, `"n": 32, "k": 8, "trans_a": true}`), Options{}, []string{`g.json: cannot differentiate op 1 "up" (fwd matmul)`}},
		{"graph with batch option", "g.json", string(tiny), Options{Batch: 4}, []string{"g.json: batch and sequence are fixed by a graph file"}},
		{"graph tokens beyond limit", "g.json", graph(`"seq": 4`, `"seq": 1073741824`), Options{}, []string{"g.json:5:3: seq: batch 2 × seq 1073741824 exceeds tempc's limit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			if tc.file != "" && !strings.HasSuffix(tc.file, "/") {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.data), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			g, err := Load(path, tc.opt)
			if err == nil {
				t.Fatalf("accepted %s (%d ops)", g.Name, len(g.Ops))
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "frontend: ") || strings.Contains(msg, "bug") {
				t.Errorf("error is not a frontend user error: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}
