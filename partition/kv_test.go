package partition

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tempc/tempc/wafer"
)

func TestKVShare(t *testing.T) {
	for _, c := range []struct {
		name             string
		heads, kv, hd, p int64
		want             [][]int
	}{
		{"MHA, one head per die", 8, 8, 64, 8, nil},
		{"MHA, heads not divisible by dies", 80, 80, 128, 12, nil},
		// 64 query heads on 6 dies (11, 11, 10, 11, 11, 10) read KV heads
		// {0,1} {1,2} {2,3} {4,5} {5,6} {6,7}; the dies hold KV heads {0,1}
		// {2} {3} {4,5} {6} {7}.
		{"GQA, KV heads not divisible by dies", 64, 8, 128, 6, [][]int{{1}, {2}, nil, {4}, {5}, nil}},
		{"GQA, whole KV heads per die", 64, 8, 128, 4, nil},
		{"GQA, three dies per KV head", 64, 8, 128, 24, nil}, // filled below
		{"GQA, P = KV·2", 32, 4, 16, 8, [][]int{{1}, {0}, {3}, {2}, {5}, {4}, {7}, {6}}},
		{"MQA", 8, 1, 16, 4, [][]int{{1, 2, 3}, {0, 2, 3}, {0, 1, 3}, {0, 1, 2}}},
	} {
		got := KVShare(c.heads, c.kv, c.hd, c.p)
		want := c.want
		if c.p == 24 { // llama3-70b on 24 dies: runs of three dies share a KV head
			for j := 0; j < 24; j++ {
				base := j / 3 * 3
				var d []int
				for i := base; i < base+3; i++ {
					if i != j {
						d = append(d, i)
					}
				}
				want = append(want, d)
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
	}
}

func TestKVNeeded(t *testing.T) {
	for _, c := range []struct{ heads, kv, p, want int64 }{
		{64, 8, 24, 1}, {64, 8, 4, 2}, {64, 8, 6, 2}, {8, 1, 4, 1}, {40, 40, 8, 5},
	} {
		if got := KVNeeded(c.heads, c.kv, c.p); got != c.want {
			t.Errorf("KVNeeded(%d, %d, %d) = %d, want %d", c.heads, c.kv, c.p, got, c.want)
		}
	}
}

func TestKVTreesAlongChain(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	chain := s.Snake(wafer.Rect{Rows: 2, Cols: 2}) // (0,0) (0,1) (1,1) (1,0)
	trees := KVTrees(chain, KVShare(8, 1, 16, 4))
	if len(trees) != 4 {
		t.Fatalf("%d trees, want 4", len(trees))
	}
	// Die 0's slice goes along the chain once: 3 links, not 1+2+3.
	if trees[0].Links() != 3 || trees[0].Depth() != 3 {
		t.Errorf("die 0: %d links, depth %d; want 3 and 3", trees[0].Links(), trees[0].Depth())
	}
	// Die 1's slice goes both ways: one link left, two right.
	if trees[1].Links() != 3 || trees[1].Depth() != 2 {
		t.Errorf("die 1: %d links, depth %d; want 3 and 2", trees[1].Links(), trees[1].Depth())
	}
	for _, tr := range trees {
		for _, e := range tr.Edges {
			if len(e) != 2 || s.Hops(e[0], e[1]) != 1 {
				t.Errorf("edge %v is not one chain hop", e)
			}
		}
	}
}
