package partition

import (
	"testing"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/wafer"
)

// TestNoPaddedMicroBatches: for batches that the wafer's group counts do
// not divide, every layout still computes exactly the batch: DP groups of
// the same whole share, each a whole number of micro-batches, on disjoint
// live dies. Before, gpt2 at batch 36 on mesh4x4 ran dp2-2x4-mb8, 24
// sequences per group for a share of 18 (+35% FLOPs).
func TestNoPaddedMicroBatches(t *testing.T) {
	for _, tc := range []struct {
		wafer string
		batch int64
		cfg   Config
	}{
		{"mesh4x4", 36, Config{}},
		{"mesh4x4", 100, Config{}},
		{"mesh4x4", 7, Config{}},
		{"temp48", 128, Config{}},
		{"temp48", 100, Config{Family: FSDPOnly, Baseline: FSDPOnly}},
		{"temp48", 96, Config{MicroBatchCount: 4}},
	} {
		g, err := frontend.Load("gpt2", frontend.Options{Batch: tc.batch, Seq: 256})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := wafer.Preset(tc.wafer)
		sp, err := Build(g, s, tc.cfg)
		if err != nil {
			t.Fatalf("%s batch %d: %v", tc.wafer, tc.batch, err)
		}
		for i := range sp.Layouts {
			l := &sp.Layouts[i]
			if got := l.MicroBatches(tc.batch) * int64(l.DP) * int64(l.MicroBatch); got != tc.batch {
				t.Errorf("%s batch %d: layout %s computes %d sequences", tc.wafer, tc.batch, l.Name(), got)
			}
			if n := len(l.Tiles) + len(l.Extra); n != l.DP {
				t.Errorf("%s batch %d: layout %s has %d groups for DP %d", tc.wafer, tc.batch, l.Name(), n, l.DP)
			}
			seen := map[wafer.DieID]bool{}
			for _, r := range l.Tiles {
				for _, d := range s.Snake(r) {
					if seen[d] || !s.Alive(d) {
						t.Errorf("%s: layout %s uses die %d twice or dead", tc.wafer, l.Name(), d)
					}
					seen[d] = true
				}
			}
		}
	}
}

// TestMicroBatchesPanicsOnPadding: a layout that would pad is a bug of
// whoever built it, not a plan.
func TestMicroBatchesPanicsOnPadding(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MicroBatches of dp2-mb8 at batch 36 did not panic")
		}
	}()
	l := Layout{Shape: wafer.Rect{Rows: 2, Cols: 4}, DP: 2, MicroBatch: 8}
	l.MicroBatches(36)
}

// TestDefaultGroupCapOnLargeWafers: by default no group exceeds
// DefaultMaxGroupDies dies, so a 256×256 wafer's whole-wafer group (whose
// all-to-all pricing exhausted memory before any time limit was read) is
// not in the space unless asked for.
func TestDefaultGroupCapOnLargeWafers(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	s.Name, s.Rows, s.Cols = "mesh64x64", 64, 64
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := frontend.Load("gpt2", frontend.Options{Batch: 64, Seq: 256})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		max, want int // Config.MaxGroupDies, the largest group expected
	}{{0, DefaultMaxGroupDies}, {1024, 1024}} {
		sp, err := Build(g, s, Config{MicroBatches: []int{1}, MaxGroupDies: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		most := 0
		for _, l := range sp.Layouts {
			most = max(most, l.P())
		}
		if most != tc.want {
			t.Errorf("MaxGroupDies %d: largest group %d dies, want %d", tc.max, most, tc.want)
		}
	}
}
