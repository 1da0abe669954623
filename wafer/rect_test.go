package wafer

import (
	"fmt"
	"testing"
)

// TestSnakeAndCycle checks every rectangle of the temp48 mesh anchored at
// the origin: the snake and the cycle visit each die once, consecutive dies
// are neighbours, and the cycle closes; cycles exist exactly when the
// parity rule says so.
func TestSnakeAndCycle(t *testing.T) {
	s := mustPreset(t, "temp48")
	for rows := 1; rows <= 6; rows++ {
		for cols := 1; cols <= 8; cols++ {
			r := Rect{R: 0, C: 0, Rows: rows, Cols: cols}
			checkPath(t, s, r, s.Snake(r), false)
			cyc, ok := s.Cycle(r)
			want := rows*cols == 2 || rows > 1 && cols > 1 && rows*cols%2 == 0
			if ok != want {
				t.Fatalf("%v: cycle %v, want %v", r, ok, want)
			}
			if ok && rows*cols > 2 {
				checkPath(t, s, r, cyc, true)
			}
		}
	}
	r := Rect{R: 2, C: 3, Rows: 2, Cols: 4}
	cyc, _ := s.Cycle(r)
	checkPath(t, s, r, cyc, true)
	if !s.Contains(r) || s.Contains(Rect{R: 5, C: 0, Rows: 2, Cols: 1}) {
		t.Error("Contains")
	}
}

func checkPath(t *testing.T, s *Spec, r Rect, path []DieID, closed bool) {
	t.Helper()
	if len(path) != r.Size() {
		t.Fatalf("%v: %d dies, want %d", r, len(path), r.Size())
	}
	seen := map[DieID]bool{}
	for i, d := range path {
		c := s.Coord(d)
		if seen[d] || c.R < r.R || c.R >= r.R+r.Rows || c.C < r.C || c.C >= r.C+r.Cols {
			t.Fatalf("%v: die %v repeated or outside", r, c)
		}
		seen[d] = true
		if i > 0 && s.Hops(path[i-1], d) != 1 {
			t.Fatalf("%v: %v→%v not neighbours in %v", r, s.Coord(path[i-1]), c, path)
		}
	}
	if closed && s.Hops(path[len(path)-1], path[0]) != 1 {
		t.Fatalf("%v: cycle does not close", r)
	}
}

func TestSnakes(t *testing.T) {
	s := mustPreset(t, "temp48")
	for _, r := range []Rect{{Rows: 2, Cols: 4}, {Rows: 3, Cols: 3}, {Rows: 1, Cols: 5}, {Rows: 1, Cols: 1}} {
		vs := s.Snakes(r)
		if len(vs) == 0 || fmt.Sprint(vs[0]) != fmt.Sprint(s.Snake(r)) {
			t.Fatalf("%v: first variant is not Snake", r)
		}
		for _, v := range vs {
			checkPath(t, s, r, v, false)
		}
	}
	if n := len(s.Snakes(Rect{Rows: 2, Cols: 4})); n != 8 {
		t.Errorf("2×4 has %d snakes, want 8", n)
	}
	if n := len(s.Snakes(Rect{Rows: 1, Cols: 5})); n != 2 {
		t.Errorf("1×5 has %d snakes, want 2 (one each way)", n)
	}
}

// BenchmarkSnakes256 enumerates the snakes of every 1×1 tile of a
// 256×256 wafer (the largest mesh a wafer file may give) and of its
// 16×16 tiles, as the layout search does for each group shape.
func BenchmarkSnakes256(b *testing.B) {
	s := mustPreset(b, "mesh4x4")
	s.Rows, s.Cols = 256, 256
	for b.Loop() {
		for i := 0; i < 256; i++ {
			for j := 0; j < 256; j++ {
				s.Snakes(Rect{R: i, C: j, Rows: 1, Cols: 1})
			}
		}
		for i := 0; i < 256; i += 16 {
			for j := 0; j < 256; j += 16 {
				s.Snakes(Rect{R: i, C: j, Rows: 16, Cols: 16})
			}
		}
	}
}

// TestRectDies: RectDies yields the dies of Snake, row-major, and stops
// when told.
func TestRectDies(t *testing.T) {
	s := mustPreset(t, "temp48")
	r := Rect{R: 1, C: 2, Rows: 2, Cols: 3}
	var got []DieID
	for d := range s.RectDies(r) {
		got = append(got, d)
	}
	want := s.Snake(r)
	want[3], want[5] = want[5], want[3] // the snake's second row runs right to left
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("RectDies(%v) = %v, want %v", r, got, want)
	}
	n := 0
	for range s.RectDies(r) {
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("RectDies went on after a break: %d dies", n)
	}
}
