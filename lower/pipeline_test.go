package lower

import (
	"fmt"
	"testing"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// TestHandOver: a boundary moves every byte once, from the die that holds
// it to the die that needs it — each receiving die gets exactly its share
// (its replica's part, split evenly over the replica's dies) — and a
// receiver that reads the activation replicated then all-gathers its
// replica's part, so that every die ends with all of it. Checked by
// replaying the shares as byte intervals, for replica counts and group
// sizes that do and do not divide each other.
func TestHandOver(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	c := *s
	c.Cluster = wafer.DefaultCluster(s, 2)
	joined, err := c.Joined()
	if err != nil {
		t.Fatal(err)
	}
	groups := func(w, replicas, size int) [][]wafer.DieID {
		out := make([][]wafer.DieID, replicas)
		for j := range replicas {
			for q := range size {
				out[j] = append(out[j], joined.OnWafer(w, wafer.DieID(j*size+q)))
			}
		}
		return out
	}
	for _, tc := range []struct {
		from, to   [2]int // replicas, dies per replica
		bytes      int64
		replicated bool
	}{
		{[2]int{2, 8}, [2]int{2, 8}, 1 << 20, false},
		{[2]int{1, 16}, [2]int{4, 4}, 1<<20 + 3, false},
		{[2]int{3, 5}, [2]int{2, 7}, 999_983, false},
		{[2]int{2, 8}, [2]int{4, 4}, 1 << 20, true},
		{[2]int{1, 1}, [2]int{1, 16}, 12345, true},
	} {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			from, to := groups(0, tc.from[0], tc.from[1]), groups(1, tc.to[0], tc.to[1])
			prog, err := handOver(joined, from, to, tc.replicated, tc.bytes, "x")
			if err != nil {
				t.Fatal(err)
			}
			if err := prog.Check(joined); err != nil {
				t.Fatal(err)
			}
			got := map[wafer.DieID]int64{}
			sent := int64(0)
			out := map[wafer.DieID]bool{}
			for i := range prog.Tasks {
				x := &prog.Tasks[i]
				if x.Out {
					out[plan.Home(x)] = true
				}
				if joined.WaferOf(x.Die) == 0 {
					sent += x.Bytes
					got[x.Dst] += x.Bytes
					if len(x.Deps) != 0 {
						t.Errorf("task %d: a send waits for %v within the boundary", i, x.Deps)
					}
				}
			}
			if sent != tc.bytes {
				t.Errorf("%d bytes crossed, want %d", sent, tc.bytes)
			}
			n := int64(tc.to[0] * tc.to[1])
			for i, d := range flat(to) {
				lo, hi := tc.bytes*int64(i)/n, tc.bytes*int64(i+1)/n
				if got[d] != hi-lo {
					t.Errorf("die %d received %d bytes, want its share %d", d, got[d], hi-lo)
				}
				if !out[d] {
					t.Errorf("die %d has no result in the boundary", d)
				}
			}
			if tc.replicated && tc.to[1] > 1 {
				gathered := 0
				for i := range prog.Tasks {
					if joined.WaferOf(prog.Tasks[i].Die) == 1 {
						gathered++
					}
				}
				// A ring all-gather of P dies takes P−1 steps of P transfers.
				if want := tc.to[0] * (tc.to[1] - 1) * tc.to[1]; gathered != want {
					t.Errorf("%d all-gather transfers on the receiving wafer, want %d", gathered, want)
				}
			}
		})
	}
}
