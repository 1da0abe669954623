package heuristics

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

func spaceOf(t *testing.T, model, waferName string) (*costmodel.Model, *partition.Space) {
	t.Helper()
	g, err := frontend.Load(model, frontend.Options{Batch: 128, Seq: 2048})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := wafer.Preset(waferName)
	sp, err := partition.Build(g, s, partition.Config{MicroBatches: []int{4}, Recompute: []partition.Recompute{partition.NoRecompute}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := costmodel.New(s, costmodel.Params{})
	return m, sp
}

// TestMappersOnDP: for every layout with data parallelism, every mapper's
// mapping is valid, and TEMP is never priced worse than GMap (its start)
// and no worse than SMap.
func TestMappersOnDP(t *testing.T) {
	m, sp := spaceOf(t, "gpt3-6.7b", "temp48")
	for li, l := range sp.Layouts {
		if l.DP < 2 {
			continue
		}
		var secs [3]float64
		for i, mp := range []Mapper{SMap{}, GMap{}, TEMP{Seed: 1}} {
			mpg, rep, err := mp.Map(m, sp, li)
			if err != nil {
				t.Fatalf("%s on %s: %v", mp.Name(), l.Name(), err)
			}
			if err := mpg.Check(sp.Spec, &sp.Layouts[li]); err != nil {
				t.Fatalf("%s on %s: invalid mapping: %v", mp.Name(), l.Name(), err)
			}
			secs[i] = rep.After
			if rep.After > rep.Before*(1+1e-12) {
				t.Errorf("%s on %s got worse: %g → %g", mp.Name(), l.Name(), rep.Before, rep.After)
			}
		}
		if secs[2] > secs[1]*(1+1e-12) {
			t.Errorf("%s: temp %g worse than gmap %g", l.Name(), secs[2], secs[1])
		}
	}
}

func TestMinimalRoutes(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	a, b := s.ID(wafer.Coord{R: 0, C: 0}), s.ID(wafer.Coord{R: 2, C: 3})
	rs := minimalRoutes(s, a, b)
	// XY, YX, X-Y-X through columns 1 and 2, Y-X-Y through row 1.
	if len(rs) != 5 {
		t.Fatalf("%d routes: %v", len(rs), rs)
	}
	for _, r := range rs {
		if len(r)-1 != s.Hops(a, b) || s.CheckRoute(r) != nil {
			t.Errorf("route %v is not minimal", r)
		}
	}
}

// TestAnnealMovesAreValid: every mapping the annealing visits is valid —
// a broken move would be scored as an error and silently skipped — so a
// run from a reordered start accepts moves.
func TestAnnealMovesAreValid(t *testing.T) {
	m, sp := spaceOf(t, "gpt3-6.7b", "temp48")
	for li, l := range sp.Layouts {
		if l.DP < 4 {
			continue
		}
		start, _, err := GMap{}.Map(m, sp, li)
		if err != nil {
			t.Fatal(err)
		}
		st := newState(sp, li, start)
		if mp := st.mapping(); mp.Check(sp.Spec, &sp.Layouts[li]) != nil {
			err := mp.Check(sp.Spec, &sp.Layouts[li])
			t.Fatalf("%s: the start state does not rebuild its mapping: %v", l.Name(), err)
		}
		for g := range st.variants {
			for v := range st.variants[g] {
				n := st.clone()
				n.orient[g] = v
				if mp := n.mapping(); mp.Check(sp.Spec, &sp.Layouts[li]) != nil {
					err := mp.Check(sp.Spec, &sp.Layouts[li])
					t.Fatalf("%s: orientation %d of group %d is invalid: %v", l.Name(), v, g, err)
				}
			}
		}
		_, rep, err := TEMP{Seed: 3}.Map(m, sp, li)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Anneal == 0 {
			t.Errorf("%s: annealing accepted no move", l.Name())
		}
	}
}

// TestRerouteRelievesCrossingGroups: when one group's ring closes over a
// route through another group's row, TCME moves it off the shared links:
// the group round's busiest link halves, its time falls, the DP
// all-reduce is no slower, and the mapping stays valid.
func TestRerouteRelievesCrossingGroups(t *testing.T) {
	m, sp := spaceOf(t, "llama2-7b", "mesh4x4")
	s := sp.Spec
	li := -1
	for i, l := range sp.Layouts {
		if l.DP == 4 && l.Shape.Rows == 1 && l.Shape.Cols == 4 {
			li = i
		}
	}
	if li < 0 {
		t.Fatal("no layout of four 1×4 rows")
	}
	mp := partition.Canonical(s, &sp.Layouts[li])
	copy(mp.Rings, mp.Chains)
	at := func(r, c int) wafer.DieID { return s.ID(wafer.Coord{R: r, C: c}) }
	mp.Routes = map[[2]wafer.DieID]wafer.Route{
		{at(0, 3), at(0, 0)}: {at(0, 3), at(1, 3), at(1, 2), at(1, 1), at(1, 0), at(0, 0)},
	}
	s0, err := score(m, sp, li, mp)
	if err != nil {
		t.Fatal(err)
	}
	got, s1, moved, _ := TEMP{}.reroute(m, sp, li, mp, s0)
	if err := got.Check(s, &sp.Layouts[li]); err != nil {
		t.Fatal(err)
	}
	if moved == 0 || s1.groupMaxLink != s0.groupMaxLink/2 || s1.group >= s0.group || s1.seconds > s0.seconds {
		t.Errorf("moved %d flows: group round %g → %g s, busiest link %g → %g B, DP %g → %g s",
			moved, s0.group, s1.group, s0.groupMaxLink, s1.groupMaxLink, s0.seconds, s1.seconds)
	}
}

// TestJudgePicksAmongStages: with a Judge, temp returns the stage its
// judge prices lowest — gmap's mapping when the judge prefers it — and on
// a tie the most refined, which is what temp returns without a judge.
func TestJudgePicksAmongStages(t *testing.T) {
	m, sp := spaceOf(t, "gpt3-6.7b", "temp48")
	li := -1
	for i, l := range sp.Layouts {
		if l.DP >= 4 {
			li = i
			break
		}
	}
	gm, _, err := GMap{}.Map(m, sp, li)
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := TEMP{Seed: 1}.Map(m, sp, li)
	if err != nil {
		t.Fatal(err)
	}
	prefer := func(want partition.Mapping) func(partition.Mapping) (float64, error) {
		return func(mp partition.Mapping) (float64, error) {
			if cmp.Equal(mp, want) {
				return 0, nil
			}
			return 1, nil
		}
	}
	if got, _, _ := (TEMP{Seed: 1, Judge: prefer(gm)}).Map(m, sp, li); !cmp.Equal(got, gm) {
		t.Error("judge preferring gmap's mapping: temp returned another")
	}
	tie := func(partition.Mapping) (float64, error) { return 1, nil }
	if got, _, _ := (TEMP{Seed: 1, Judge: tie}).Map(m, sp, li); !cmp.Equal(got, plain) {
		t.Error("judge indifferent: temp did not return its most refined mapping")
	}
}

// TestNoTCMEKeepsXYRoutes: without re-routing (--tcme=false) the temp
// mapper still anneals but every flow keeps its XY route, on layouts where
// the full mapper does re-route some.
func TestNoTCMEKeepsXYRoutes(t *testing.T) {
	m, sp := spaceOf(t, "gpt3-6.7b", "temp48")
	rerouted := 0
	for li, l := range sp.Layouts {
		if l.DP < 2 || l.ZeRO {
			continue
		}
		mpg, rep, err := TEMP{Seed: 1, NoReroute: true}.Map(m, sp, li)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Reroute != 0 || len(mpg.Routes) != 0 {
			t.Errorf("%s: without TCME %d flows re-routed, %d routes set", l.Name(), rep.Reroute, len(mpg.Routes))
		}
		if _, full, err := (TEMP{Seed: 1}).Map(m, sp, li); err == nil && full.Reroute > 0 {
			rerouted++
		}
	}
	if rerouted == 0 {
		t.Error("the full mapper re-routed nothing: the test shows nothing")
	}
	if (TEMP{NoReroute: true}).Name() != "temp-no-tcme" {
		t.Error("the mapper without TCME is not named so")
	}
}
