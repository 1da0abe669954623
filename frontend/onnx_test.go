package frontend

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/tempc/tempc/frontend/onnxpb"
	"github.com/tempc/tempc/internal/golden"
)

func marshalONNX(t testing.TB, m *onnxpb.ModelProto) []byte {
	t.Helper()
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// onnxText is the text form of an ONNX file, for readable diffs.
func onnxText(data []byte) []string {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return []string{err.Error()}
	}
	return strings.Split(prototext.MarshalOptions{Multiline: true}.Format(&m), "\n")
}

// TestONNXTestdata checks the models under testdata/onnx against their
// generators (onnx_models_test.go, onnx_llama_test.go). Regenerate them
// after an intended change with
//
//	UPDATE_GOLDEN=1 go test ./frontend -run TestONNXTestdata
//
// (or `make golden`) and review the diff like code.
func TestONNXTestdata(t *testing.T) {
	for _, name := range sortedNames(onnxModels) {
		t.Run(name, func(t *testing.T) {
			got := marshalONNX(t, onnxModels[name]())
			path := filepath.Join("testdata", "onnx", name)
			if os.Getenv("UPDATE_GOLDEN") != "" {
				golden.Check(t, path, string(got))
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (regenerate with UPDATE_GOLDEN=1)", err)
			}
			if !bytes.Equal(want, got) {
				t.Errorf("%s differs from its generator (-want +got); if intended, regenerate with UPDATE_GOLDEN=1:\n%s",
					path, cmp.Diff(onnxText(want), onnxText(got)))
			}
		})
	}
}

func readTestdata(t *testing.T, name string) (string, []byte) {
	t.Helper()
	path := filepath.Join("testdata", "onnx", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

// TestONNXMatchesConfig reads each ONNX model and the Hugging Face config
// of the same model: the architectures, and the training graphs' parameter
// counts and FLOPs, must be equal (and the parameters equal the closed
// form).
func TestONNXMatchesConfig(t *testing.T) {
	tests := []struct {
		file, config string
		noContext    bool // rotary embeddings from position ids: no table gives the context
	}{
		{"gpt2.onnx", "gpt2.json", false},
		{"gpt2-ort.onnx", "gpt2.json", false},
		{"llama.onnx", "llama.json", true},
		{"llama-ort.onnx", "llama.json", false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path, data := readTestdata(t, tc.file)
			got, err := ReadONNX(path, data)
			if err != nil {
				t.Fatal(err)
			}
			cfgPath, cfg := readTestdata(t, tc.config)
			want, err := ReadHFConfig(cfgPath, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.noContext {
				if got.MaxPositions != 0 {
					t.Errorf("context length %d, want 0 (not in the graph)", got.MaxPositions)
				}
				got.MaxPositions = want.MaxPositions
			}
			if got.Name != strings.TrimSuffix(tc.file, ".onnx") {
				t.Errorf("name %q, want the file's", got.Name)
			}
			got.Name = want.Name
			if d := cmp.Diff(*want, *got); d != "" {
				t.Errorf("ONNX architecture differs from %s (-want +got):\n%s", tc.config, d)
			}
			fromONNX, err := Load(path, small)
			if err != nil {
				t.Fatal(err)
			}
			fromHF, err := Load(cfgPath, small)
			if err != nil {
				t.Fatal(err)
			}
			so, sh := fromONNX.Summary(), fromHF.Summary()
			if so.Parameters != sh.Parameters || so.Parameters != closedFormParams(want) {
				t.Errorf("parameters: ONNX %d, config %d, closed form %d", so.Parameters, sh.Parameters, closedFormParams(want))
			}
			if so.FLOPs != sh.FLOPs || so.Ops != sh.Ops {
				t.Errorf("ONNX graph: %g FLOPs in %d ops; config: %g in %d", so.FLOPs, so.Ops, sh.FLOPs, sh.Ops)
			}
		})
	}
}

// TestONNXLoadContext: a rotary model whose graph does not fix the context
// length loads only with a sequence length, which then is the context.
func TestONNXLoadContext(t *testing.T) {
	path := filepath.Join("testdata", "onnx", "llama.onnx")
	_, err := Load(path, Options{Batch: 2})
	if want := "llama.onnx: the graph does not fix the context length"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
	g, err := Load(path, Options{Batch: 2, Seq: 32})
	if err != nil {
		t.Fatal(err)
	}
	if g.Seq != 32 {
		t.Errorf("sequence %d, want 32", g.Seq)
	}
	// The extension decides, in any case.
	upper := filepath.Join(t.TempDir(), "LLAMA.ONNX")
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(upper, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(upper, Options{Seq: 32}); err != nil {
		t.Errorf("Load(%s): %v", upper, err)
	}
}

func ExampleReadONNX() {
	path := filepath.Join("testdata", "onnx", "llama-ort.onnx")
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := ReadONNX(path, data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %s, %d layers, hidden %d, %d heads of %d sharing %d key/value heads\n",
		a.Name, a.Family, a.Layers, a.Hidden, a.Heads, a.HeadDim, a.KVHeads)
	fmt.Printf("FFN %d (%s, gated %t), vocab %d, context %d, norm %s\n",
		a.FFN, a.Activation, a.GatedFFN, a.Vocab, a.MaxPositions, a.Norm)
	// Output:
	// llama-ort: llama, 2 layers, hidden 64, 4 heads of 16 sharing 2 key/value heads
	// FFN 176 (silu, gated true), vocab 96, context 128, norm rmsnorm
}
