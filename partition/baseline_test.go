package partition

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tempc/tempc/internal/golden"
)

// TestCanonicalBaselines: each canonical baseline runs one scheme per
// group, megatron-core's GEMMs also their overlapped form (golden: testdata/golden/baselines.txt, regenerated with
// UPDATE_GOLDEN=1), every layout edge agrees without resharding (the
// column→row pairs follow from the producers' layouts), and its layouts
// are the knobs its users turn.
func TestCanonicalBaselines(t *testing.T) {
	var b strings.Builder
	for _, model := range []string{"gpt3-6.7b", "llama3-70b"} {
		for _, base := range Baselines {
			sp := space(t, model, Config{Baseline: base})
			fmt.Fprintf(&b, "%s %s (attention unfused: %v)\n", model, base, sp.Config.UnfusedAttention)
			for _, g := range sp.Groups {
				want := 1
				if _, ok := overlapped[base][g.Schemes[0]]; ok && g.Kind == GEMM && (base != FSDP2 || g.Work.Block) {
					want = 2
				}
				if len(g.Schemes) != want {
					t.Fatalf("%s %s: %s has %v", model, base, g.Key, g.Schemes)
				}
				fmt.Fprintf(&b, "  %-16s %v\n", g.Key, g.Schemes)
				for _, sc := range g.Schemes[1:] {
					if sc.In() != g.Schemes[0].In() || sc.Out() != g.Schemes[0].Out() || overlapped[base][g.Schemes[0]] != sc {
						t.Errorf("%s %s: %s offers %v, not its scheme's overlapped form", model, base, g.Key, g.Schemes)
					}
				}
			}
			for _, e := range sp.Edges {
				from, to := sp.Groups[e.From].Schemes[0], sp.Groups[e.To].Schemes[0]
				want := to.In()
				if e.Out {
					want = to.Out()
				}
				if from.Out() != want {
					t.Errorf("%s %s: %s (%s) → %s (%s) reshards", model, base, sp.Groups[e.From].Key, from, sp.Groups[e.To].Key, to)
				}
			}
			rcs, zs := map[Recompute]bool{}, map[bool]bool{}
			for _, l := range sp.Layouts {
				rcs[l.Recompute], zs[l.ZeRO] = true, true
				if l.ZeRO != ((base == Megatron3 || base == MegatronCore) && l.DP > 1) {
					t.Errorf("%s %s: layout %s", model, base, l.Name())
				}
				if (base == FSDPOnly || base == FSDP2) && l.MicroBatch%l.P() != 0 {
					t.Errorf("%s fsdp: layout %s does not give each die whole sequences", model, l.Name())
				}
			}
			want := map[Recompute]bool{NoRecompute: true, Full: base != Megatron3, Selective: base == Megatron3 || base == MegatronCore}
			if sp.Config.UnfusedAttention != (base == Megatron1 || base == Megatron3) {
				t.Errorf("%s %s: attention unfused %v", model, base, sp.Config.UnfusedAttention)
			}
			for r := range NumRecompute {
				if rcs[r] != want[r] {
					t.Errorf("%s %s: recomputation %s offered %v", model, base, r, rcs[r])
				}
			}
		}
	}
	golden.Check(t, filepath.Join("testdata", "golden", "baselines.txt"), b.String())

	sp := space(t, "gpt3-6.7b", Config{})
	for _, bad := range []Config{
		{Baseline: "megatron2"},
		{Baseline: Megatron1, Family: Megatron3},
		{Baseline: Megatron3, TPCommOverlap: true},
		{Baseline: MegatronCore, Deny: []Scheme{RingX}},
		{Baseline: FSDPOnly, Deny: []Scheme{FSDP}},
	} {
		if _, err := Build(sp.Graph, sp.Spec, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestUnfusedAttentionWork: the Megatron baselines' attention writes and
// reads its score matrices — 2·b·a·s² bytes per layer, four times through
// HBM forward and seven backward — and recomputes its forward pass under
// selective recomputation; flash attention does neither.
func TestUnfusedAttentionWork(t *testing.T) {
	fused := space(t, "gpt3-6.7b", Config{Baseline: Megatron3, FlashAttention: true})
	unfused := space(t, "gpt3-6.7b", Config{Baseline: Megatron3})
	i := slices.IndexFunc(unfused.Groups, func(g Group) bool { return g.Kind == Attention })
	f, u := fused.Groups[i].Work, unfused.Groups[i].Work
	scores := 2.0 * 128 * 32 * 2048 * 2048 * 32 // bf16 · batch · heads · s² · layers
	if f.Scores != 0 || u.Scores != scores {
		t.Fatalf("scores: fused %g, unfused %g, want 0 and %g", f.Scores, u.Scores, scores)
	}
	if u.FwdHBM-f.FwdHBM != 4*scores || u.BwdHBM-f.BwdHBM != 7*scores || u.FwdFLOPs != f.FwdFLOPs {
		t.Errorf("unfused adds %g forward and %g backward bytes, %g FLOPs; want %g, %g, 0",
			u.FwdHBM-f.FwdHBM, u.BwdHBM-f.BwdHBM, u.FwdFLOPs-f.FwdFLOPs, 4*scores, 7*scores)
	}
	if !u.Recomputed(Selective) || f.Recomputed(Selective) || u.Recomputed(NoRecompute) {
		t.Error("selective recomputation does not recompute exactly the unfused attention")
	}
}

// TestMegatronTensorParallelDividesHeads: the Megatron baselines run only
// tensor-parallel sizes that divide the heads and K/V heads, as
// Megatron-LM asserts (on temp48 they ran TP 3, 6, 12 on 32-head models);
// the auto space keeps every size.
func TestMegatronTensorParallelDividesHeads(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		only bool // every group size divides 32
	}{
		{Config{Baseline: Megatron1}, true},
		{Config{Baseline: Megatron3}, true},
		{Config{}, false},
	} {
		sp := space(t, "llama2-7b", tc.cfg) // 32 heads, 32 K/V heads
		odd := 0
		for _, l := range sp.Layouts {
			if 32%l.P() != 0 {
				odd++
			}
		}
		if tc.only && odd > 0 || !tc.only && odd == 0 {
			t.Errorf("%+v: %d of %d layouts have a group size that does not divide 32", tc.cfg, odd, len(sp.Layouts))
		}
	}
}
