package wafer

import (
	"math"
	"testing"
)

// TestSlabs: every cut of a wafer, as a cluster of slabs joined again, is
// the wafer itself (or, across rows, its transpose) link for link: the
// same dies, the same figures on every link, seams included, and the same
// idle power; faulty wafers and cuts that do not divide are refused.
func TestSlabs(t *testing.T) {
	for _, name := range []string{"temp48", "temp32", "mesh4x4"} {
		s, _ := Preset(name)
		cuts := s.Cuts()
		want := map[string]int{"temp48": 6, "temp32": 5, "mesh4x4": 2}[name] // 8: 2,4,8; 6: 2,3,6 / 4: 2,4
		if len(cuts) != want {
			t.Errorf("%s: %d cuts %v, want %d", name, len(cuts), cuts, want)
		}
		for _, c := range cuts {
			sl, err := s.Slabs(c)
			if err != nil {
				t.Fatalf("%s %v: %v", name, c, err)
			}
			j, err := sl.Joined()
			if err != nil {
				t.Fatalf("%s %v: %v", name, c, err)
			}
			rows, cols := s.Rows, s.Cols
			if c.AcrossRows {
				rows, cols = cols, rows
			}
			if j.Rows != rows || j.Cols != cols || j.NumHealthy() != s.NumDies() {
				t.Errorf("%s %v: joined %d×%d with %d dies", name, c, j.Rows, j.Cols, j.NumHealthy())
			}
			for l := range LinkID(j.NumLinks()) {
				if f := j.LinkFigures(l); j.LinkAlive(l) && *f != s.Link {
					t.Errorf("%s %v: link %d has %+v, want %+v", name, c, l, *f, s.Link)
				}
			}
			if a, b := j.StaticWatts(), s.StaticWatts(); math.Abs(a-b) > 1e-9*b {
				t.Errorf("%s %v: %g W idle, the wafer %g W", name, c, a, b)
			}
		}
	}
	s, _ := Preset("temp48")
	for _, bad := range []Cut{{Stages: 3}, {Stages: 4, AcrossRows: true}, {Stages: 1}, {Stages: 0}} {
		if _, err := s.Slabs(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	f := *s
	f.DeadDies = []Coord{{1, 1}}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Slabs(Cut{Stages: 2}); err == nil || len(f.Cuts()) != 0 {
		t.Errorf("a faulty wafer is cut: %v, %v", err, f.Cuts())
	}
}
