package partition

import (
	"fmt"
	"testing"

	"github.com/tempc/tempc/wafer"
)

// TestPipelineOrder: every device runs every (chunk, micro-batch) once
// forward and once backward, forward first; the short orders are spelled
// out (Narayanan et al. 2021, Figures 4 and 5, for the pattern).
func TestPipelineOrder(t *testing.T) {
	tests := []struct {
		s       Schedule
		p, m, v int
		want    []string // device 0's order and the last device's, when given
	}{
		{GPipe, 2, 3, 1, []string{"[F0.0 F1.0 F2.0 B2.0 B1.0 B0.0]", "[F0.0 F1.0 F2.0 B2.0 B1.0 B0.0]"}},
		{OneFOneB, 3, 4, 1, []string{"[F0.0 F1.0 F2.0 B0.0 F3.0 B1.0 B2.0 B3.0]", "[F0.0 B0.0 F1.0 B1.0 F2.0 B2.0 F3.0 B3.0]"}},
		{OneFOneB, 4, 2, 1, []string{"[F0.0 F1.0 B0.0 B1.0]", "[F0.0 B0.0 F1.0 B1.0]"}},
		{Interleaved, 2, 2, 2, []string{"[F0.0 F1.0 F0.1 F1.1 B0.1 B1.1 B0.0 B1.0]", "[F0.0 F1.0 F0.1 B0.1 F1.1 B1.1 B0.0 B1.0]"}},
		{Interleaved, 4, 8, 2, nil},
		{Interleaved, 3, 9, 4, nil},
	}
	for _, tc := range tests {
		order, err := PipelineOrder(tc.s, tc.p, tc.m, tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if tc.want != nil {
			if got := fmt.Sprint(order[0]); got != tc.want[0] {
				t.Errorf("%v p%d m%d v%d: device 0 runs %s, want %s", tc.s, tc.p, tc.m, tc.v, got, tc.want[0])
			}
			if got := fmt.Sprint(order[tc.p-1]); got != tc.want[1] {
				t.Errorf("%v p%d m%d v%d: last device runs %s, want %s", tc.s, tc.p, tc.m, tc.v, got, tc.want[1])
			}
		}
		for d, o := range order {
			seen := map[Pass]bool{}
			for _, w := range o {
				if seen[w] {
					t.Errorf("%v: device %d runs %v twice", tc.s, d, w)
				}
				if w.Backward && !seen[Pass{Chunk: w.Chunk, Micro: w.Micro}] {
					t.Errorf("%v: device %d runs %v before its forward pass", tc.s, d, w)
				}
				seen[w] = true
			}
			if len(seen) != 2*tc.m*tc.v {
				t.Errorf("%v: device %d runs %d passes, want %d", tc.s, d, len(seen), 2*tc.m*tc.v)
			}
		}
	}
	for _, bad := range []struct {
		s       Schedule
		p, m, v int
	}{{OneFOneB, 0, 4, 1}, {GPipe, 2, 0, 1}, {OneFOneB, 2, 4, 2}, {Interleaved, 2, 4, 1}, {Interleaved, 4, 6, 2}, {Schedule(9), 2, 2, 1}} {
		if _, err := PipelineOrder(bad.s, bad.p, bad.m, bad.v); err == nil {
			t.Errorf("%v p%d m%d v%d accepted", bad.s, bad.p, bad.m, bad.v)
		}
	}
}

// TestMicroBatchCount: with a micro-batch count, every layout runs that
// many micro-batches per DP group, of batch/(DP·count) sequences.
func TestMicroBatchCount(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	for _, n := range []int{1, 2, 4, 8} {
		ls := layouts(s, 16, Config{MicroBatchCount: n}.withDefaults(s.NumHealthy()))
		if len(ls) == 0 {
			t.Fatalf("count %d: no layout", n)
		}
		for _, l := range ls {
			if got := l.MicroBatches(16); got != int64(n) || int64(l.DP*l.MicroBatch*n) != 16 {
				t.Errorf("count %d: %s runs %d micro-batches of %d", n, l.Name(), got, l.MicroBatch)
			}
		}
	}
	// FSDP's dies take whole sequences: 48 dies of temp48 in one group
	// take 96 sequences in 2 micro-batches, not in 4.
	t48, _ := wafer.Preset("temp48")
	for _, tc := range []struct{ count, want int }{{2, 1}, {4, 0}} {
		cfg := Config{Baseline: FSDPOnly, MicroBatchCount: tc.count}.withDefaults(t48.NumHealthy())
		n := 0
		for _, l := range layouts(t48, 96, cfg) {
			if l.DP == 1 && l.Shape.Size() == 48 {
				n++
				if l.MicroBatches(96) != int64(tc.count) || l.MicroBatch%48 != 0 {
					t.Errorf("fsdp, count %d: %s", tc.count, l.Name())
				}
			}
		}
		if (n > 0) != (tc.want > 0) {
			t.Errorf("fsdp, count %d: %d whole-wafer layouts", tc.count, n)
		}
	}
	if err := (Config{MicroBatchCount: -1}).Validate(); err == nil {
		t.Error("a negative count was accepted")
	}
}
