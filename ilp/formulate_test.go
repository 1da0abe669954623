package ilp_test

// The tests that formulate without solving: they run without cgo.

import (
	"math"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	. "github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/internal/golden"
	"github.com/tempc/tempc/ir"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// tinyTable prices a 2-layer GPT-2-style model on a 1×2 wafer with a small
// layout space: small enough to enumerate and to read as text.
func tinyTable(t *testing.T, cfg partition.Config) *costmodel.Table {
	t.Helper()
	a := frontend.Arch{Name: "tiny", Family: "gpt2", Layers: 2, Hidden: 64, Heads: 4, KVHeads: 4, HeadDim: 16,
		FFN: 256, Vocab: 128, MaxPositions: 64, Norm: "layernorm", Activation: "gelu", LearnedPositions: true,
		TiedEmbeddings: true, AttnBias: true, MLPBias: true, NormBias: true}
	g, err := frontend.Build(&a, frontend.Options{Batch: 4, Seq: 64})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := wafer.Preset("mesh4x4")
	s.Name, s.Rows, s.Cols = "pair", 1, 2
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.MicroBatches == nil {
		cfg.MicroBatches = []int{1, 2}
	}
	if cfg.Recompute == nil {
		cfg.Recompute = []partition.Recompute{partition.NoRecompute, partition.Full}
	}
	return priceOn(t, g, s, cfg)
}

// priceOn builds and prices the strategy space of g on s.
func priceOn(t *testing.T, g *ir.Graph, s *wafer.Spec, cfg partition.Config) *costmodel.Table {
	t.Helper()
	sp, err := partition.Build(g, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := costmodel.New(s, costmodel.Params{})
	tab, err := m.Price(sp)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// minMemory is the least per-die memory of any assignment of t, by
// enumeration (capacity ignored), and whether any assignment exists.
func minMemory(t *costmodel.Table) (float64, bool) {
	c := *t
	c.Capacity = 1e300
	least, found := 0.0, false
	Enumerate(&c, func(a Assignment) {
		if b, err := Evaluate(&c, a); err == nil && (!found || b.Mem.Total() < least) {
			least, found = b.Mem.Total(), true
		}
	})
	return least, found
}

// TestFormulateGolden pins the canonical text of a small model; regenerate
// with UPDATE_GOLDEN=1 go test ./ilp -run TestFormulateGolden.
func TestFormulateGolden(t *testing.T) {
	// A capacity 1.2× the least any assignment needs, so that memory rows
	// bind in some layouts (rows that cannot bind are left out).
	tab := tinyTable(t, partition.Config{})
	least, _ := minMemory(tab)
	tab.Capacity = 1.2 * least
	got := Formulate(tab, Config{}).Problem.Text()
	if again := Formulate(tab, Config{}).Problem.Text(); again != got {
		t.Fatal("Formulate is not deterministic")
	}
	golden.Check(t, filepath.Join("testdata", "tiny.lp"), got)
}

// TestOptionsValidate: gaps outside [0, 1) (NaN, Inf, 1.5) and negative
// counts are rejected; threads beyond the CPU count are capped.
func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{RelGap: math.NaN()}, {RelGap: math.Inf(1)}, {RelGap: 1.5}, {RelGap: 1}, {Threads: -1}, {TimeLimit: -time.Second}} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if got := (Options{Threads: 100000}).WithDefaults().Threads; got != runtime.NumCPU() {
		t.Errorf("threads 100000 became %d, want the CPU count %d", got, runtime.NumCPU())
	}
}
