package costmodel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// TestPriceClosedForms checks pricing against hand-derived figures for one
// layout of gpt3-6.7b on temp48: memory terms per die, and a Megatron
// column-parallel GEMM's time from its kernels' FLOPs and HBM bytes, each
// derived here, plus the all-reduce of dX priced on its own.
func TestPriceClosedForms(t *testing.T) {
	g, err := frontend.Load("gpt3-6.7b", frontend.Options{Batch: 128, Seq: 2048})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := wafer.Preset("temp48")
	sp, err := partition.Build(g, s, partition.Config{MicroBatches: []int{2}, Recompute: []partition.Recompute{partition.Selective}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := New(s, Params{})
	tab, err := m.Price(sp)
	if err != nil {
		t.Fatal(err)
	}
	li := -1
	for i, l := range sp.Layouts {
		if l.Shape.Rows == 2 && l.Shape.Cols == 4 && !l.ZeRO {
			li = i
		}
	}
	if li < 0 {
		t.Fatal("no 2×4 layout")
	}
	l := sp.Layouts[li]
	params := float64(g.Summary().Parameters)
	fixed := tab.Fixed[li].Mem
	// Every weight is sharded over the 8 dies except the norms' (replicated).
	if fixed.Weights < 2*params/8 || fixed.Weights > 2*params/8*1.001 || fixed.OptStates != 6*fixed.Weights {
		t.Errorf("weights %.4g, optimizer states %.4g for %.4g parameters on 8 dies", fixed.Weights, fixed.OptStates, params)
	}
	var qkv int
	for i, grp := range sp.Groups {
		if grp.Key == "block/attn.qkv" {
			qkv = i
		}
	}
	var opt *Option
	for i := range tab.Options[qkv] {
		if tab.Options[qkv][i].Scheme == partition.MegatronCol {
			opt = &tab.Options[qkv][i]
		}
	}
	// One layer, one micro-batch of 2×2048 tokens: Y[4096×12288] = X·W.
	T, K, N := 4096.0, 4096.0, 12288.0
	ring, _ := s.Cycle(l.Tiles[0])
	ar, _ := m.AllReduce([][]wafer.DieID{ring}, 2*T*K) // dX in the backward pass
	micro := float64(l.MicroBatches(128))
	// The GEMM is 2TKN FLOPs forward (+TN for the fused bias) and 4TKN
	// backward, split over 8 dies, at 80% of peak (every dimension a
	// multiple of 128); the bias gradient reduces dY (2TN bytes read, 2N
	// written) in the output layout, also split over 8. Each die's kernels
	// read every operand once: the die's W columns (12.6 MB) stay in SRAM
	// beside a strip of accumulators forward and for dX = dY·Wᵀ, and its
	// dY columns (12.6 MB) for dW = Xᵀ·dY; each writes its output once
	// (backward the whole partial dX). The all-reduce of dX sends,
	// receives and adds 5·7/8 of its 2TK bytes through HBM, or takes its
	// link time.
	Np := N / 8
	peak, hbm := s.Die.PeakFLOPS*0.8, s.Die.HBMBandwidth
	fwdBytes := 2*T*K + 2*K*Np + 2*T*Np
	bwdBytes := (2*T*Np + 2*Np*K + 2*T*K) + (2*K*T + 2*T*Np + 2*K*Np)
	fwd := max((2*T*K*N+T*N)/8/peak, fwdBytes/hbm)
	bwd := max(4*T*K*N/8/peak, bwdBytes/hbm) + max(ar.Seconds, 5*7.0/8*2*T*K/hbm)
	want := (fwd + bwd + m.Compute(T*N/8, (2*T*N+2*N)/8)) * 32 * micro
	if got := opt.Price[li].Seconds; rel(got, want) > 1e-4 { // the recomputed pointwise ops are left out
		t.Errorf("megatron-col qkv: %.6g s per step, closed form %.6g s", got, want)
	}
	// Megatron-col saves its whole (replicated) input for dW: 2·T·K bytes per layer.
	if acts := opt.Price[li].Mem.Acts; acts != 2*T*K*32 {
		t.Errorf("megatron-col saves %.4g bytes, want 2·T·K·layers = %.4g", acts, 2*T*K*32)
	}
}

func rel(a, b float64) float64 {
	if a > b {
		return (a - b) / b
	}
	return (b - a) / b
}

// smallSpace is gpt3-6.7b's strategy space on s with one micro-batch
// setting, as in TestPriceClosedForms.
func smallSpace(t *testing.T, s *wafer.Spec) *partition.Space {
	t.Helper()
	g, err := frontend.Load("gpt3-6.7b", frontend.Options{Batch: 128, Seq: 2048})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := partition.Build(g, s, partition.Config{MicroBatches: []int{2}, Recompute: []partition.Recompute{partition.Selective}})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestPriceTinyBandwidthFails: a whole space priced on a link bandwidth
// that underflows fails with the layout and the fluid model's error,
// instead of hanging.
func TestPriceTinyBandwidthFails(t *testing.T) {
	s, _ := wafer.Preset("temp48")
	s.Link.Bandwidth = 1e-300
	sp := smallSpace(t, s)
	m, _ := New(s, Params{})
	err := withinSeconds(t, 60*time.Second, func() error { _, err := m.Price(sp); return err })
	if err == nil || !strings.Contains(err.Error(), "costmodel: layout ") || !strings.Contains(err.Error(), "rate is 0") {
		t.Errorf("err = %v, want a layout's fluid model error", err)
	}
}

// TestPriceContextCancelled: pricing with a context that is already done
// stops before the first layout and says so.
func TestPriceContextCancelled(t *testing.T) {
	s, _ := wafer.Preset("temp48")
	sp := smallSpace(t, s)
	m, _ := New(s, Params{})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	n := len(sp.Layouts)
	// priceLayout looks at the context once per layout and once per group.
	perLayout := 1 + len(sp.Groups)
	tests := []struct {
		name   string
		ctx    context.Context
		mapped bool
		target error
		after  int // layouts priced
	}{
		{"cancelled", cancelled, false, context.Canceled, 0},
		{"deadline", expired, false, context.DeadlineExceeded, 0},
		{"mapped deadline", expired, true, context.DeadlineExceeded, 0},
		{"deadline within the first layout", &expiring{Context: context.Background(), left: 2}, false, context.DeadlineExceeded, 0},
		{"deadline after one layout", &expiring{Context: context.Background(), left: perLayout}, false, context.DeadlineExceeded, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tab *Table
			var err error
			if tc.mapped {
				maps := make([]partition.Mapping, n)
				for li := range sp.Layouts {
					maps[li] = partition.Canonical(s, &sp.Layouts[li])
				}
				tab, err = m.PriceMappedContext(tc.ctx, sp, maps)
			} else {
				tab, err = m.PriceContext(tc.ctx, sp)
			}
			want := fmt.Sprintf("costmodel: pricing stopped after %d of %d layouts: %v", tc.after, n, tc.target)
			if tab != nil || err == nil || err.Error() != want || !errors.Is(err, tc.target) {
				t.Errorf("err = %v, want %q wrapping %v", err, want, tc.target)
			}
		})
	}
}

// expiring is a context whose deadline passes once Err has been asked
// left times.
type expiring struct {
	context.Context
	left int
}

func (c *expiring) Err() error {
	if c.left > 0 {
		c.left--
		return nil
	}
	return context.DeadlineExceeded
}

// TestPriceStaticEnergy: every price charges the wafer's static power over
// its seconds (temp48: 48·90 + 164·16 W), its energy is the parts' total,
// and the dynamic parts do not depend on static power (pricing with ten
// times the static power changes only the static part).
func TestPriceStaticEnergy(t *testing.T) {
	s, _ := wafer.Preset("temp48")
	m, _ := New(s, Params{})
	tab, err := m.Price(smallSpace(t, s))
	if err != nil {
		t.Fatal(err)
	}
	hot := *s
	hot.Die.StaticWatts, hot.Link.StaticWatts = 10*s.Die.StaticWatts, 10*s.Link.StaticWatts
	mh, _ := New(&hot, Params{})
	tabHot, err := mh.Price(smallSpace(t, &hot))
	if err != nil {
		t.Fatal(err)
	}
	const watts = 48*90 + 164*16
	check := func(what string, p, q Price) {
		t.Helper()
		if rel(p.Parts.Static, watts*p.Seconds) > 1e-12 || rel(p.Energy, p.Parts.Total()) > 1e-12 {
			t.Errorf("%s: static %g J over %g s, energy %g J of parts %+v", what, p.Parts.Static, p.Seconds, p.Energy, p.Parts)
		}
		dyn := p.Parts
		dyn.Static, q.Parts.Static = 0, 0
		if dyn != q.Parts || rel(q.Energy-p.Energy, 9*p.Parts.Static) > 1e-9 {
			t.Errorf("%s: dynamic parts %+v and %+v differ, or energy %g → %g", what, dyn, q.Parts, p.Energy, q.Energy)
		}
	}
	for li := range tab.Space.Layouts {
		check("fixed", tab.Fixed[li], tabHot.Fixed[li])
		for gi := range tab.Options {
			for oi, o := range tab.Options[gi] {
				if o.Valid[li] {
					check(tab.Space.Groups[gi].Key, o.Price[li], tabHot.Options[gi][oi].Price[li])
				}
			}
		}
	}
}

// TestSharedPatternCacheAcrossLayouts: around faults, groups whose routes
// cross are priced together, and the price is cached by mapping, shared
// by the layouts that differ only in micro-batch, recomputation or ZeRO.
// Every such layout's prices equal those of pricing it alone (Reprice,
// with a fresh cache).
func TestSharedPatternCacheAcrossLayouts(t *testing.T) {
	g, err := frontend.Load("gpt2", frontend.Options{Batch: 32, Seq: 1024})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := wafer.Preset("temp48")
	s.DeadDies = []wafer.Coord{{R: 1, C: 2}, {R: 3, C: 5}, {R: 4, C: 0}, {R: 0, C: 7}, {R: 5, C: 4}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	sp, err := partition.Build(g, s, partition.Config{MicroBatches: []int{1, 2}, Recompute: []partition.Recompute{partition.NoRecompute, partition.Full}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := New(s, Params{})
	tab, err := m.Price(sp)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for li, l := range sp.Layouts {
		if len(l.Extra) == 0 || checked == 4 {
			continue
		}
		alone, err := m.Reprice(tab, li, tab.Mappings[li])
		if err != nil {
			t.Fatal(err)
		}
		for gi := range tab.Options {
			for oi, o := range tab.Options[gi] {
				if o.Valid[li] && o.Price[li] != alone.Options[gi][oi].Price[li] {
					t.Errorf("%s %s %s: %+v cached, %+v alone", l.Name(), sp.Groups[gi].Key, o.Scheme, o.Price[li], alone.Options[gi][oi].Price[li])
				}
			}
		}
		for ei := range tab.Edges {
			if tab.Edges[ei].Cost[li] != alone.Edges[ei].Cost[li] {
				t.Errorf("%s edge %d: resharding cached differs from alone", l.Name(), ei)
			}
		}
		checked++
	}
	if checked < 4 {
		t.Errorf("only %d irregular layouts checked", checked)
	}
}

// TestCleanGroupsRouteInsideTheirBox holds the all-to-all shortcut to the
// routes themselves: on healthy and faulty wafers, every group cleanGroups
// calls clean has every pair routed by dimension order inside its
// bounding box, and when disjoint holds no two groups' all-to-all routes
// share a link (crosses, which routes every pair, agrees).
func TestCleanGroupsRouteInsideTheirBox(t *testing.T) {
	faulty, _ := wafer.Preset("temp48")
	faulty.DeadDies = []wafer.Coord{{R: 1, C: 2}, {R: 4, C: 0}}
	faulty.DeadLinks = []wafer.DeadLink{{A: wafer.Coord{R: 3, C: 5}, B: wafer.Coord{R: 3, C: 6}}}
	if err := faulty.Validate(); err != nil {
		t.Fatal(err)
	}
	healthy, _ := wafer.Preset("temp48")
	cleanSeen, dirtySeen, disjointSeen := 0, 0, 0
	for _, s := range []*wafer.Spec{healthy, faulty} {
		sp := smallSpace(t, s)
		m, _ := New(s, Params{})
		for li := range sp.Layouts {
			mp := partition.Canonical(s, &sp.Layouts[li])
			lc := &layoutCtx{m: m, mp: mp}
			lc.clean = lc.cleanGroups(mp.Chains)
			for g, grp := range mp.Chains {
				if !lc.clean[g] {
					dirtySeen++
					continue
				}
				cleanSeen++
				box := bounds(s, grp)
				for _, pr := range partition.Pairs(grp, false) {
					r, err := m.Route(pr[0], pr[1])
					if err != nil {
						t.Fatalf("%s group %d: %v", sp.Layouts[li].Name(), g, err)
					}
					for _, d := range r {
						if c := s.Coord(d); c.R < box.R || c.R >= box.R+box.Rows || c.C < box.C || c.C >= box.C+box.Cols {
							t.Errorf("%s group %d: route %v leaves the box %v", sp.Layouts[li].Name(), g, r, box)
						}
					}
				}
			}
			if lc.disjoint() {
				disjointSeen++
				if lc.crosses(mp.Chains, false) {
					t.Errorf("%s: disjoint, yet two groups' all-to-all routes share a link", sp.Layouts[li].Name())
				}
			}
		}
	}
	if cleanSeen == 0 || dirtySeen == 0 || disjointSeen == 0 {
		t.Errorf("clean %d, not clean %d, disjoint %d groups: the cases are not all covered", cleanSeen, dirtySeen, disjointSeen)
	}
}
