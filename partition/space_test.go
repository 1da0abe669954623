package partition

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/ir"
	"github.com/tempc/tempc/wafer"
)

func space(t *testing.T, model string, cfg Config) *Space {
	t.Helper()
	g, err := frontend.Load(model, frontend.Options{Batch: 128, Seq: 2048})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := wafer.Preset("temp48")
	sp, err := Build(g, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestGroupsAndEdges(t *testing.T) {
	sp := space(t, "llama2-70b", Config{})
	want := []string{"embed/embedding", "block/attn.qkv", "block/attn.core", "block/attn.out", "block/mlp.gate",
		"block/mlp.up", "block/mlp.down", "head/lm_head"}
	if len(sp.Groups) != len(want) {
		t.Fatalf("%d groups: %+v", len(sp.Groups), sp.Groups)
	}
	var params int64
	for i, g := range sp.Groups {
		if g.Key != want[i] {
			t.Errorf("group %d is %s, want %s", i, g.Key, want[i])
		}
		if g.Kind != Embedding && g.Key != "head/lm_head" && g.Mult != 80 {
			t.Errorf("%s stands for %d layers, want 80", g.Key, g.Mult)
		}
		params += g.Params
	}
	// Every weight but the norms' is owned by a group: 68,976,648,192 minus
	// 80·2·8192 + 8192 norm weights.
	if want := int64(68_976_648_192 - 161*8192); params != want {
		t.Errorf("groups own %d parameters, want %d", params, want)
	}
	// Every group op and every other op of the step is accounted for once.
	seen := make([]int, len(sp.Graph.Ops))
	for _, g := range sp.Groups {
		for _, id := range g.Ops {
			seen[id]++
		}
	}
	for _, a := range sp.Pointwise {
		seen[a.Op]++
	}
	for id, n := range seen {
		op := sp.Graph.Op(ir.OpID(id))
		if want := 1; op.Kind == ir.OptimizerUpdate {
			want = 0
			if n != want {
				t.Errorf("%v counted %d times", op, n)
			}
		} else if n != want {
			t.Errorf("%v counted %d times, want %d", op, n, want)
		}
	}
	// SwiGLU's gate and up outputs meet in one pointwise op: an out-edge.
	found := false
	for _, e := range sp.Edges {
		if sp.Groups[e.From].Key == "block/mlp.gate" && sp.Groups[e.To].Key == "block/mlp.up" && e.Out && e.Mult == 80 {
			found = true
		}
	}
	if !found {
		t.Errorf("no gate→up merge edge: %+v", sp.Edges)
	}
}

func TestFamiliesAndLayouts(t *testing.T) {
	sp := space(t, "gpt3-6.7b", Config{Family: Megatron1})
	for _, g := range sp.Groups {
		for _, s := range g.Schemes {
			if s != MegatronCol && s != MegatronRow && s != Heads && s != Vocab {
				t.Errorf("%s has %s in the megatron1 family", g.Key, s)
			}
		}
	}
	for _, l := range sp.Layouts {
		// Groups tile temp48's 6×8 dies, as many of them as divide the
		// batch of 128: the largest power of two up to 48/P.
		want := 1
		for want*2 <= 48/l.P() {
			want *= 2
		}
		if 8%l.Shape.Cols != 0 || 6%l.Shape.Rows != 0 || l.DP != want || 128%(l.DP*l.MicroBatch) != 0 {
			t.Errorf("layout %s does not tile temp48 with %d groups", l.Name(), want)
		}
		if l.ZeRO && l.DP == 1 {
			t.Errorf("ZeRO without DP: %s", l.Name())
		}
	}
	un := space(t, "gpt3-6.7b", Config{Unaliased: true, MicroBatches: []int{1}})
	if len(un.Groups) != 2+5*32 { // embed, lm_head, and qkv, core, out, up, down per layer
		t.Errorf("unaliased: %d groups, want 162", len(un.Groups))
	}
	if _, err := Build(sp.Graph, sp.Spec, Config{Family: "zero"}); err == nil {
		t.Error("unknown family accepted")
	}
	// --tp-comm-overlap adds ring-x exactly where sp-col is allowed and
	// ring-y where sp-row is, and only to megatron3.
	m3 := space(t, "gpt3-6.7b", Config{Family: Megatron3, MicroBatches: []int{1}})
	ov := space(t, "gpt3-6.7b", Config{Family: Megatron3, MicroBatches: []int{1}, TPCommOverlap: true})
	for i, g := range ov.Groups {
		want := append([]Scheme(nil), m3.Groups[i].Schemes...)
		for _, s := range m3.Groups[i].Schemes {
			switch s {
			case SPCol:
				want = sortedSchemes(append(want, RingX))
			case SPRow:
				want = sortedSchemes(append(want, RingY))
			}
		}
		if fmt.Sprint(g.Schemes) != fmt.Sprint(want) {
			t.Errorf("%s with overlap: %v, want %v", g.Key, g.Schemes, want)
		}
	}
	for _, f := range []Family{"", Auto, Megatron1, FSDPOnly} {
		if _, err := Build(sp.Graph, sp.Spec, Config{Family: f, TPCommOverlap: true}); err == nil {
			t.Errorf("tensor-parallel overlap accepted for family %q", f)
		}
	}
}

// TestIrregularGroupsAroundFaults: on fault maps of temp48, every
// layout's groups — tiles and irregular chains — are valid (disjoint,
// healthy, P dies joined by live links), and the leftover healthy dies do
// form irregular groups on some map.
func TestIrregularGroupsAroundFaults(t *testing.T) {
	g, err := frontend.Load("gpt2", frontend.Options{Batch: 16, Seq: 512})
	if err != nil {
		t.Fatal(err)
	}
	extras := 0
	for _, dead := range [][]wafer.Coord{{{R: 0, C: 0}}, {{R: 2, C: 3}}, {{R: 1, C: 1}, {R: 4, C: 6}}, {{R: 0, C: 3}, {R: 3, C: 0}, {R: 5, C: 5}}} {
		s, _ := wafer.Preset("temp48")
		s.DeadDies = dead
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		sp, err := Build(g, s, Config{MicroBatches: []int{1}, Recompute: []Recompute{NoRecompute}, ZeRO: []bool{false}})
		if err != nil {
			t.Fatal(err)
		}
		for li, l := range sp.Layouts {
			mp := Canonical(s, &sp.Layouts[li])
			if err := mp.Check(s, &sp.Layouts[li]); err != nil {
				t.Fatalf("dead %v, %s: %v", dead, l.Name(), err)
			}
			extras += len(l.Extra)
		}
	}
	if extras == 0 {
		t.Error("no fault map left dies for an irregular group")
	}
}

// TestSchemeLists: --schemes keeps or removes exactly the schemes it
// names, and a list that leaves a group nothing is an error naming it.
func TestSchemeLists(t *testing.T) {
	all := space(t, "gpt3-6.7b", Config{MicroBatches: []int{1}})
	cases := []struct {
		list string
		keep func(Scheme) bool
		err  string
	}{
		{list: "-relay-w,-relay-x", keep: func(s Scheme) bool { return s != RelayW && s != RelayX }},
		{list: "ring-w, ring-x,heads,vocab", keep: func(s Scheme) bool { return s == RingW || s == RingX || s == Heads || s == Vocab }},
		{list: "ring-w,heads", err: "group embed/embedding has no scheme left"},
		{list: "ring-w,-heads", err: "mixes allowed and denied"},
		{list: "ring-z", err: `unknown scheme "ring-z"`},
		{list: " , ", err: "names no scheme"},
	}
	for _, c := range cases {
		allow, deny, err := ParseSchemes(c.list)
		if err == nil {
			_, err = Build(all.Graph, all.Spec, Config{MicroBatches: []int{1}, Allow: allow, Deny: deny})
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.list, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.list, err)
		}
		sp := space(t, "gpt3-6.7b", Config{MicroBatches: []int{1}, Allow: allow, Deny: deny})
		for i, g := range sp.Groups {
			var want []Scheme
			for _, s := range all.Groups[i].Schemes {
				if c.keep(s) {
					want = append(want, s)
				}
			}
			if fmt.Sprint(g.Schemes) != fmt.Sprint(want) {
				t.Errorf("%q: %s has %v, want %v", c.list, g.Key, g.Schemes, want)
			}
		}
	}
}

// TestSubChains: a 12-die chain in sub-chains of 4 — consecutive pieces,
// and the peers holding the same block every 4th die; degrees divide the
// group, are smaller than it, and need one DP group.
func TestSubChains(t *testing.T) {
	chain := [][]wafer.DieID{{0, 1, 2, 3, 7, 6, 5, 4, 8, 9, 10, 11}}
	if got, want := fmt.Sprint(SubChains(chain, 4)), "[[0 1 2 3] [7 6 5 4] [8 9 10 11]]"; got != want {
		t.Errorf("SubChains: %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(SubChainPeers(chain, 4)), "[[0 7 8] [1 6 9] [2 5 10] [3 4 11]]"; got != want {
		t.Errorf("SubChainPeers: %s, want %s", got, want)
	}
	for _, tc := range []struct {
		dp, rows, cols int
		want           string
	}{{1, 6, 8, "[4 6 8 12 16 24]"}, {1, 3, 4, "[4 6]"}, {1, 2, 2, "[]"}, {2, 3, 8, "[]"}, {1, 4, 8, "[4 8 16]"}} {
		l := Layout{DP: tc.dp, Shape: wafer.Rect{Rows: tc.rows, Cols: tc.cols}}
		if got := fmt.Sprint(SubChainDegrees(&l)); got != tc.want {
			t.Errorf("dp%d-%dx%d: degrees %s, want %s", tc.dp, tc.rows, tc.cols, got, tc.want)
		}
	}
}
