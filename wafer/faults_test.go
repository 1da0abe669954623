package wafer

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRandomFaults(t *testing.T) {
	base, _ := Preset("temp48") // 6×8: 48 dies, 6·7 + 5·8 = 82 undirected links
	const links = 82
	tests := []struct {
		die, link       float64
		wantDies, wantL int
		wantErr         bool
	}{
		{0, 0, 0, 0, false},
		{0.25, 0, 12, 0, false},
		{0, 0.1, 0, 8, false}, // round(8.2)
		{0.125, 0.2, 6, 16, false},
		{1, 0, 0, 0, true}, // no live die
		{-0.1, 0, 0, 0, true},
		{0, 1.5, 0, 0, true},
		{math.NaN(), 0, 0, 0, true},
	}
	for _, tc := range tests {
		f, err := RandomFaults(base, tc.die, tc.link, 7)
		if tc.wantErr {
			if err == nil {
				t.Errorf("rates %g, %g: no error", tc.die, tc.link)
			}
			continue
		}
		if err != nil {
			t.Fatalf("rates %g, %g: %v", tc.die, tc.link, err)
		}
		dead := 0
		for d := range DieID(f.NumDies()) {
			if !f.Alive(d) {
				dead++
			}
		}
		if dead != tc.wantDies || len(f.DeadLinks) != tc.wantL {
			t.Errorf("rates %g, %g: %d dead dies, %d dead links; want %d, %d", tc.die, tc.link, dead, len(f.DeadLinks), tc.wantDies, tc.wantL)
		}
		seen := map[DeadLink]bool{}
		for _, l := range f.DeadLinks {
			if seen[l] {
				t.Errorf("link %v drawn twice", l)
			}
			seen[l] = true
		}
		if len(base.DeadDies) != 0 || len(base.DeadLinks) != 0 {
			t.Fatal("RandomFaults changed its input")
		}
		again, _ := RandomFaults(base, tc.die, tc.link, 7)
		if diff := cmp.Diff([2]any{f.DeadDies, f.DeadLinks}, [2]any{again.DeadDies, again.DeadLinks}); diff != "" {
			t.Errorf("rates %g, %g: the same seed gave another map:\n%s", tc.die, tc.link, diff)
		}
	}
	if links != 6*7+5*8 {
		t.Fatal("link count")
	}
}
