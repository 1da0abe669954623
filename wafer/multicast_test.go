package wafer

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergeExample(t *testing.T) {
	s, _ := Preset("mesh4x4")
	at := func(r, c int) DieID { return s.ID(Coord{R: r, C: c}) }
	var routes []Route
	for _, d := range []DieID{at(0, 3), at(2, 3), at(2, 1)} {
		r, err := s.Route(at(0, 0), d, XY)
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, r)
	}
	tr, err := Merge(routes)
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{at(0, 0), at(0, 1)},           // to the branch die
		{at(0, 1), at(0, 2), at(0, 3)}, // along the row
		{at(0, 3), at(1, 3), at(2, 3)}, // on from a destination
		{at(0, 1), at(1, 1), at(2, 1)}, // the other branch
	}
	if d := cmp.Diff(want, tr.Edges); d != "" {
		t.Errorf("edges (-want +got):\n%s", d)
	}
	if tr.Links() != 7 || tr.Depth() != 3 {
		t.Errorf("links %d (want 7, unicast 11), depth %d (want 3)", tr.Links(), tr.Depth())
	}
	if _, err := Merge([]Route{{at(0, 0), at(0, 1)}, {at(1, 0), at(1, 1)}}); err == nil {
		t.Error("routes from two sources merged")
	}
}

// TestMergeProperties: for random destination sets under XY and YX
// routing, the tree reaches every destination, crosses each link of the
// routes' union exactly once (so never more links than the unicasts), and
// lists a parent's edge before its children's.
func TestMergeProperties(t *testing.T) {
	s, _ := Preset("temp48")
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		src := DieID(rng.IntN(s.NumDies()))
		var routes []Route
		union := map[LinkID]bool{}
		unicast := 0
		for _, d := range rng.Perm(s.NumDies())[:1+rng.IntN(12)] {
			if DieID(d) == src {
				continue
			}
			r, _ := s.Route(src, DieID(d), Routing(trial%2))
			routes = append(routes, r)
			unicast += len(r) - 1
			for _, l := range s.Links(r) {
				union[l] = true
			}
		}
		if len(routes) == 0 {
			continue
		}
		tr, err := Merge(routes)
		if err != nil {
			t.Fatal(err)
		}
		has := map[DieID]bool{src: true}
		used := map[LinkID]int{}
		for _, e := range tr.Edges {
			if !has[e[0]] {
				t.Fatalf("trial %d: edge %v leaves a die without the payload", trial, e)
			}
			has[e[len(e)-1]] = true
			for _, l := range s.Links(e) {
				used[l]++
			}
		}
		for _, r := range routes {
			if !has[r[len(r)-1]] {
				t.Fatalf("trial %d: destination %d not reached", trial, r[len(r)-1])
			}
		}
		for l, n := range used {
			if n != 1 || !union[l] {
				t.Fatalf("trial %d: link %s used %d times (in the union: %v)", trial, s.LinkName(l), n, union[l])
			}
		}
		if len(used) != len(union) || tr.Links() > unicast {
			t.Fatalf("trial %d: tree %d links, union %d, unicast %d", trial, tr.Links(), len(union), unicast)
		}
	}
}
