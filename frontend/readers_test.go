package frontend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tempc/tempc/frontend/onnxpb"
)

// TestModelFileDevice: a device given as the model (directly, behind a
// link, or named *.onnx) is refused before a byte is read, whatever
// Options.Pipes says; /dev/zero used to be read to the 1 GiB limit.
func TestModelFileDevice(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "model.onnx")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", "/dev/null", link} {
		for _, pipes := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s pipes %t", path, pipes), func(t *testing.T) {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				_, err := Load(path, Options{Seq: 16, Pipes: pipes})
				runtime.ReadMemStats(&after)
				if err == nil || !strings.HasPrefix(err.Error(), "frontend: "+path+": is a device") {
					t.Errorf("error %v, want %q", err, "frontend: "+path+": is a device")
				}
				// Refused without reading: far less than the 1 GiB it
				// read before.
				if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
					t.Errorf("allocated %d bytes refusing a device", n)
				}
				if _, err := LoadArchContext(context.Background(), path, 16, pipes); err == nil || !strings.Contains(err.Error(), "is a device") {
					t.Errorf("LoadArchContext: %v", err)
				}
			})
		}
	}
}

// TestModelFileFIFO: a FIFO is read only when Options.Pipes says the path
// was typed by the user; otherwise it is refused without being opened (it
// used to block forever when nothing wrote to it). A writer stands ready
// in both cases, so that a reader that opens the FIFO gets a valid config
// and the test fails rather than hangs.
func TestModelFileFIFO(t *testing.T) {
	for _, pipes := range []bool{false, true} {
		t.Run(fmt.Sprintf("pipes %t", pipes), func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "config.json")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until a reader opens
				if err != nil {
					return
				}
				f.WriteString(llamaJSON())
				f.Close()
			}()
			g, err := Load(fifo, Options{Batch: 2, Seq: 16, Pipes: pipes})
			if !pipes {
				if err == nil || !strings.Contains(err.Error(), "config.json: is a pipe, want a regular file") {
					t.Errorf("error %v, want a refused pipe", err)
				}
				// Release the writer: open the read end, then drain it.
				if r, err := os.OpenFile(fifo, os.O_RDONLY, 0); err == nil {
					wg.Wait()
					r.Close()
				}
				return
			}
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if g.Layers != 2 {
				t.Errorf("read %d layers, want the config's 2", g.Layers)
			}
		})
	}
}

// countdown is a context whose Err turns Canceled on its n-th call, so
// that a test can stop a load at each of its checks in turn.
type countdown struct {
	context.Context
	n, calls int
}

func (c *countdown) Err() error {
	if c.calls++; c.calls >= c.n {
		return context.Canceled
	}
	return nil
}

// TestLoadContextStops: a context done before or during loading (at any
// of the checks of reading, recognition, building and differentiation)
// ends LoadContext with an error wrapping the context's, never with a
// graph; and deep models are checked at least once a block, so that a
// time limit binds them.
func TestLoadContextStops(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "deep.onnx")
	if err := os.WriteFile(deep, marshalONNX(t, gpt2FusedONNXLayers(64)), 0o644); err != nil {
		t.Fatal(err)
	}
	llama := filepath.Join(dir, "config.json")
	if err := os.WriteFile(llama, []byte(llamaJSON()), 0o644); err != nil {
		t.Fatal(err)
	}
	graph := filepath.Join(dir, "graph.json")
	fwd, err := ForwardStage(&Arch{Name: "g", Family: "llama", Layers: 8, Hidden: 64, Heads: 4, KVHeads: 4, HeadDim: 16, FFN: 128,
		Vocab: 96, MaxPositions: 16, Norm: "rmsnorm", Activation: "silu", GatedFFN: true}, Shape{Batch: 2, Seq: 16}, 0, 8)
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := WriteGraphJSON(&buf, fwd); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(graph, []byte(buf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, model string
		minChecks   int // a check a block at least: the blocks
	}{
		{"onnx", deep, 64},
		{"config", llama, 2},
		{"preset", "gpt2", 12},
		{"graph", graph, 3}, // reading, differentiating, verifying
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			full := &countdown{Context: context.Background(), n: 1 << 30}
			opt := Options{Batch: 2, Seq: 16}
			if tc.name == "graph" {
				opt = Options{} // fixed by the file
			}
			if _, err := LoadContext(full, tc.model, opt); err != nil {
				t.Fatal(err)
			}
			if full.calls < tc.minChecks {
				t.Errorf("a whole load checked its context %d times, want at least %d (once a block)", full.calls, tc.minChecks)
			}
			for n := 1; n <= full.calls; n++ {
				g, err := LoadContext(&countdown{Context: context.Background(), n: n}, tc.model, opt)
				if g != nil || !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "frontend: loading ") {
					t.Fatalf("stopped at check %d of %d: graph %v, error %v", n, full.calls, g != nil, err)
				}
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LoadArchContext(ctx, deep, 0, false); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadArchContext after cancel: %v", err)
	}
	if _, err := BuildStageContext(ctx, &Arch{}, Options{}, 0, 1); err == nil {
		t.Errorf("BuildStageContext of an invalid Arch after cancel: no error")
	}
}

// emptyEntries is a ModelProto whose graph lists n empty entries of
// GraphProto field num (1: nodes): 2 bytes each in the file, over 100
// bytes each decoded.
func emptyEntries(num protowire.Number, n int) []byte {
	var g []byte
	for i := 0; i < n; i++ {
		g = protowire.AppendTag(g, num, protowire.BytesType)
		g = protowire.AppendBytes(g, nil)
	}
	data := protowire.AppendTag(nil, 7, protowire.BytesType) // ModelProto.graph
	return protowire.AppendBytes(data, g)
}

// TestONNXDecodeBounds: files whose decoded messages would take many
// times their size (empty nodes, empty attributes, empty strings) are
// refused before decoding, naming the count or the memory and the limit;
// a 100 MB file of empty nodes used to need 6.4 GB.
func TestONNXDecodeBounds(t *testing.T) {
	// One node of m empty attributes (field 5), each decoding to an
	// AttributeProto: 2 bytes each, about 200 decoded.
	attrs := func(m int) []byte {
		var n []byte
		for i := 0; i < m; i++ {
			n = protowire.AppendTag(n, 5, protowire.BytesType)
			n = protowire.AppendBytes(n, nil)
		}
		g := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), n)
		return protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), g)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"nodes beyond the limit", emptyEntries(1, maxONNXNodes+1),
			"m.onnx: the graph lists 2097153 nodes, beyond tempc's limit of 2097152 (4096 blocks of 512)"},
		{"initializers beyond the limit", emptyEntries(5, maxONNXNodes+1),
			"m.onnx: the graph lists 2097153 initializers, beyond tempc's limit"},
		// 12 Mi empty attributes (and a node and a graph), each a 176-byte
		// AttributeProto and a 16-byte slot of its slice, are 2.4 GB
		// decoded, from a 25 MB file.
		{"attributes beyond the memory bound", attrs(12 << 20),
			"m.onnx: decoding the model would take about 2.42 GB of memory (12582914 messages, 0 strings), beyond tempc's limit of 2.15 GB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ReadONNX("m.onnx", tc.data)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.HasPrefix(err.Error(), "frontend: "+tc.want) {
				t.Errorf("error %v, want %q", err, "frontend: "+tc.want)
			}
			// Refused from the wire format: nothing near the decoded size
			// was allocated.
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("allocated %d bytes refusing a %d-byte file", n, len(tc.data))
			}
		})
	}
	// Below the limits the same shapes are decoded and refused as graphs.
	if _, err := ReadONNX("m.onnx", emptyEntries(1, 1000)); err == nil || !strings.Contains(err.Error(), "unsupported operator") {
		t.Errorf("1000 empty nodes: %v", err)
	}
}

// TestONNXDeepExportWithinBounds: exports of the deepest models tempc
// accepts (maxLayers blocks), fused by ONNX Runtime or decomposed by
// torch.onnx, stay within the decode bounds, and the fused one reads.
func TestONNXDeepExportWithinBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 4096-block models")
	}
	md := (&onnxpb.ModelProto{}).ProtoReflect().Descriptor()
	fused := marshalONNX(t, gpt2FusedONNXLayers(maxLayers))
	if msg := checkONNXSize(fused, md); msg != "" {
		t.Errorf("fused export of %d blocks: %s", maxLayers, msg)
	}
	a, err := ReadONNX("deep.onnx", fused)
	if err != nil {
		t.Fatal(err)
	}
	if a.Layers != maxLayers {
		t.Errorf("read %d layers, want %d", a.Layers, maxLayers)
	}
	if msg := checkONNXSize(marshalONNX(t, gpt2ONNXLayers(maxLayers)), md); msg != "" {
		t.Errorf("decomposed export of %d blocks: %s", maxLayers, msg)
	}
}

// TestJSONBounds: JSON files of tiny items, many keys or blank lines,
// which the positioned reader would hold at up to 160 times their size,
// are refused by position before parsing; a graph file of many faulty
// entries is reported by its first problems, not all of them (a 68 MB
// file of them took 41 GB and 281 s).
func TestJSONBounds(t *testing.T) {
	zeros := func(n int) string { return strings.Repeat("0,", n) + "0" }
	graphHead := `{"schema_version": 1, "name": "x", "batch": 1, "seq": 1, "layers": 0, "ops": [], "tensors": [`
	var many strings.Builder
	many.WriteString(`{"model_type": "llama"`)
	for i := 0; i <= maxJSONEntries; i++ {
		fmt.Fprintf(&many, `,"k%d":0`, i)
	}
	many.WriteString("}")
	var arrays strings.Builder
	arrays.WriteString(`{"model_type": "llama", "x": [`)
	for i := 0; i < maxJSONValues/(1<<20); i++ {
		arrays.WriteString("[" + zeros(1<<20) + "],")
	}
	arrays.WriteString("0]}")
	tests := []struct {
		name, data, want string
	}{
		{"array of zeros", graphHead + zeros(maxJSONEntries) + "]}", "g.json:1:93: more than 2097152 elements of an array exceed tempc's limit"},
		{"many keys", many.String(), "g.json:1:1: more than 2097152 members of an object exceed tempc's limit"},
		{"blank lines", "{" + strings.Repeat("\n", maxJSONLines+1) + "}", "g.json:16777217:1: more than 16777216 lines exceed tempc's limit for a JSON file"},
		{"many values", arrays.String(), "more than 33554432 values exceed tempc's limit for a JSON file"},
		{"long string", `{"model_type": "` + strings.Repeat("a", maxJSONString+1) + `"}`, "g.json:1:16: a string of more than 1048576 bytes exceeds tempc's limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.data)
			for _, read := range []func() error{
				func() error { _, err := ReadGraphJSON("g.json", data); return err },
				func() error { _, err := ReadHFConfig("g.json", data); return err },
			} {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				err := read()
				runtime.ReadMemStats(&after)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %.300v, want %q", err, tc.want)
				}
				if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
					t.Errorf("allocated %d bytes refusing a %d-byte file", n, len(data))
				}
			}
		})
	}
	t.Run("long model type echoed cut", func(t *testing.T) {
		_, err := ReadHFConfig("c.json", []byte(llamaJSON("model_type", `"`+strings.Repeat("a", 100000)+`"`)))
		want := `c.json:2:3: model_type: unknown model_type "` + strings.Repeat("a", 64) + `"… (100000 bytes) (supported: gpt2, llama, opt)`
		if err == nil || !strings.Contains(err.Error(), want) || len(err.Error()) > 1000 {
			t.Errorf("error %.300v, want %q", err, want)
		}
	})
	t.Run("faulty entries", func(t *testing.T) {
		bad := strings.Repeat(`{"shape": [0, 0, 0]},`, 1000) + "{}"
		_, err := ReadGraphJSON("g.json", []byte(graphHead+bad+"]}"))
		var list ErrorList
		if !errors.As(err, &list) || len(list) > maxGraphErrors+5 || !strings.Contains(err.Error(), "g.json:1:1: stopped reading after these") {
			t.Errorf("%d problems reported: %.300v", len(list), err)
		}
	})
	t.Run("deepest graph within bounds", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds a 4096-block graph")
		}
		a, _ := Preset("gpt2")
		a.Layers, a.Hidden, a.FFN, a.Vocab, a.MaxPositions = maxLayers, 64, 256, 128, 64
		g, err := Build(&a, Options{Batch: 1, Seq: 8})
		if err != nil {
			t.Fatal(err)
		}
		var buf strings.Builder
		if err := WriteGraphJSON(&buf, g); err != nil {
			t.Fatal(err)
		}
		if perr := checkJSONShape("g.json", []byte(buf.String())); perr != nil {
			t.Errorf("graph of %d blocks (%d bytes): %v", maxLayers, buf.Len(), perr)
		}
	})
}

// TestDecodeModelIsUnmarshal: decoding a model a few thousand graph
// fields at a time gives what proto.Unmarshal gives, on whole models
// (one of more than checkEvery nodes), cut ones and ones whose graph
// field is split in two.
func TestDecodeModelIsUnmarshal(t *testing.T) {
	var inputs [][]byte
	for _, name := range sortedNames(onnxModels) {
		data := marshalONNX(t, onnxModels[name]())
		for n := 0; n <= len(data); n += 1 + len(data)/37 {
			inputs = append(inputs, data[:n])
		}
		inputs = append(inputs, data)
	}
	inputs = append(inputs, marshalONNX(t, gpt2FusedONNXLayers(600)), emptyEntries(1, 3*checkEvery+5))
	// Two graph fields, which protobuf merges: the second's nodes follow
	// the first's.
	inputs = append(inputs, append(emptyEntries(1, 3), marshalONNX(t, gpt2FusedONNX())...))
	opt := proto.UnmarshalOptions{DiscardUnknown: true}
	for i, data := range inputs {
		var want, got onnxpb.ModelProto
		werr := opt.Unmarshal(data, &want)
		gerr := decodeModel(context.Background(), "m.onnx", data, &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("input %d (%d bytes): Unmarshal error %v, decodeModel error %v", i, len(data), werr, gerr)
		}
		if werr == nil && !proto.Equal(&want, &got) {
			t.Fatalf("input %d (%d bytes): decoded differently", i, len(data))
		}
	}
}
