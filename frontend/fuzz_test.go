package frontend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addSeeds adds every JSON file of dir as a fuzz seed.
func addSeeds(f *testing.F, dir string) { addSeedFiles(f, dir, "*.json") }

// addSeedFiles adds every file of dir matching pattern as a fuzz seed.
func addSeedFiles(f *testing.F, dir, pattern string) {
	paths, err := filepath.Glob(filepath.Join("testdata", dir, pattern))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in testdata/%s: %v", dir, err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzReadHFConfig: any input gives an Arch that validates, or an error;
// never a panic. Accepted small architectures must also build.
func FuzzReadHFConfig(f *testing.F) {
	addSeeds(f, "hf")
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadHFConfig("fuzz.json", data)
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("accepted an invalid architecture: %v", err)
		}
		if a.Layers <= 2 && a.Hidden <= 256 && a.Vocab <= 4096 && a.FFN <= 1024 {
			if _, err := Build(a, Options{Batch: 1, Seq: min(a.MaxPositions, 8)}); err != nil {
				t.Fatalf("accepted config does not build: %v", err)
			}
		}
	})
}

// FuzzReadGraphJSON: any input gives a verified graph within tempc's
// limits, or an error.
func FuzzReadGraphJSON(f *testing.F) {
	addSeeds(f, "graph")
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ReadGraphJSON("fuzz.json", data)
		if err != nil {
			return
		}
		if err := g.Verify(); err != nil {
			t.Fatalf("accepted a graph that does not verify: %v", err)
		}
		if g.Batch <= 0 || g.Seq <= 0 || g.Batch*g.Seq > maxTokens || g.Layers < 0 || g.Layers > maxLayers {
			t.Fatalf("accepted batch %d, seq %d, layers %d", g.Batch, g.Seq, g.Layers)
		}
		if err := checkSize(g); err != nil {
			t.Fatalf("accepted a graph beyond the limits: %v", err)
		}
		_ = g.Text()
	})
}

// FuzzReadONNX: any input gives an architecture that validates (once Load
// fills a missing context length), or an error; never a panic. Accepted
// small architectures must also build.
func FuzzReadONNX(f *testing.F) {
	addSeedFiles(f, "onnx", "*.onnx")
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadONNX("fuzz.onnx", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "frontend: fuzz.onnx") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if a.MaxPositions == 0 {
			a.MaxPositions = 8 // as Load does from the sequence length
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("accepted an invalid architecture: %v", err)
		}
		if a.Layers <= 2 && a.Hidden <= 256 && a.Vocab <= 4096 && a.FFN <= 1024 && a.MaxPositions <= 1<<16 {
			if _, err := Build(a, Options{Batch: 1, Seq: min(a.MaxPositions, 8)}); err != nil {
				t.Fatalf("accepted model does not build: %v", err)
			}
		}
	})
}
