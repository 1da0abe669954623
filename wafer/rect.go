package wafer

import (
	"fmt"
	"iter"
	"slices"
)

// Rect is a rectangle of dies: Rows×Cols dies from corner (R, C).
type Rect struct {
	R, C       int
	Rows, Cols int
}

func (r Rect) String() string { return fmt.Sprintf("%d×%d@(%d,%d)", r.Rows, r.Cols, r.R, r.C) }

// Size is the number of dies in r.
func (r Rect) Size() int { return r.Rows * r.Cols }

// Contains reports whether spec's mesh holds r.
func (s *Spec) Contains(r Rect) bool {
	return r.Rows > 0 && r.Cols > 0 && s.In(Coord{r.R, r.C}) && s.In(Coord{r.R + r.Rows - 1, r.C + r.Cols - 1})
}

// Snake returns the dies of r in boustrophedon order: row by row,
// alternating direction, so consecutive dies are neighbours (a Hamiltonian
// path of the rectangle). A single column is walked top to bottom.
func (s *Spec) Snake(r Rect) []DieID {
	out := make([]DieID, 0, r.Size())
	for i := 0; i < r.Rows; i++ {
		for j := 0; j < r.Cols; j++ {
			c := j
			if i%2 == 1 {
				c = r.Cols - 1 - j
			}
			out = append(out, s.ID(Coord{r.R + i, r.C + c}))
		}
	}
	return out
}

// RectDies yields the dies of r row by row, left to right, without building
// a slice: for scans that stop at the first die they look for (is any die
// of a candidate tile taken?), which on a 256×256 wafer would otherwise
// allocate a tile's worth of IDs at each of its 65,536 positions.
func (s *Spec) RectDies(r Rect) iter.Seq[DieID] {
	return func(yield func(DieID) bool) {
		for i := r.R; i < r.R+r.Rows; i++ {
			for j := r.C; j < r.C+r.Cols; j++ {
				if !yield(DieID(i*s.Cols + j)) {
					return
				}
			}
		}
	}
}

// HasCycle reports whether r has a Hamiltonian cycle. A grid of m×n dies
// has one exactly when m·n is even and both sides exceed 1; a pair of dies
// counts too (there and back over one link).
func (r Rect) HasCycle() bool {
	if r.Size() == 2 {
		return true
	}
	return r.Rows > 1 && r.Cols > 1 && r.Size()%2 == 0
}

// Cycle returns a Hamiltonian cycle of r (consecutive dies and the last and
// first are neighbours), or false when r has none. With an even number of
// rows it runs along row 0, snakes back through columns 1.. of the other
// rows, and returns up column 0; an even number of columns is handled by
// symmetry.
func (s *Spec) Cycle(r Rect) ([]DieID, bool) {
	if !r.HasCycle() {
		return nil, false
	}
	if r.Size() == 2 {
		return s.Snake(r), true
	}
	at := func(i, j int) DieID { return s.ID(Coord{r.R + i, r.C + j}) }
	if r.Rows%2 == 1 { // then Cols is even: transpose the construction
		out := make([]DieID, 0, r.Size())
		for i := 0; i < r.Rows; i++ {
			out = append(out, at(i, 0))
		}
		for j := 1; j < r.Cols; j++ {
			for k := 0; k < r.Rows-1; k++ {
				i := r.Rows - 1 - k
				if j%2 == 0 {
					i = k + 1
				}
				out = append(out, at(i, j))
			}
		}
		for j := r.Cols - 1; j >= 1; j-- {
			out = append(out, at(0, j))
		}
		return out, true
	}
	out := make([]DieID, 0, r.Size())
	for j := 0; j < r.Cols; j++ {
		out = append(out, at(0, j))
	}
	for i := 1; i < r.Rows; i++ {
		for k := 0; k < r.Cols-1; k++ {
			j := r.Cols - 1 - k
			if i%2 == 0 {
				j = k + 1
			}
			out = append(out, at(i, j))
		}
	}
	for i := r.Rows - 1; i >= 1; i-- {
		out = append(out, at(i, 0))
	}
	return out, true
}

// Snakes returns the distinct snake orders of r: starting from each corner,
// row by row or column by column, alternating direction — every
// Hamiltonian path of the rectangle of that boustrophedon form. The first
// is Snake(r).
//
// A variant is a duplicate of an earlier one only in a rectangle with a
// side of 1 (where row and column order coincide, and flipping the other
// side changes nothing): duplicates are found by comparing paths, not by
// formatting them, so that a 256×256 wafer's tiles are enumerated in
// linear time (BenchmarkSnakes256).
func (s *Spec) Snakes(r Rect) [][]DieID {
	out := make([][]DieID, 0, 8)
	for _, colMajor := range []bool{false, true} {
		for _, flipR := range []bool{false, true} {
			for _, flipC := range []bool{false, true} {
				path := s.snake(r, colMajor, flipR, flipC)
				if !slices.ContainsFunc(out, func(p []DieID) bool { return slices.Equal(p, path) }) {
					out = append(out, path)
				}
			}
		}
	}
	return out
}

// snake is one boustrophedon order of r: by columns when colMajor, from
// the bottom row when flipR, from the right column when flipC.
func (s *Spec) snake(r Rect, colMajor, flipR, flipC bool) []DieID {
	path := make([]DieID, 0, r.Size())
	outer, inner := r.Rows, r.Cols
	if colMajor {
		outer, inner = r.Cols, r.Rows
	}
	for i := 0; i < outer; i++ {
		for j := 0; j < inner; j++ {
			jj := j
			if i%2 == 1 {
				jj = inner - 1 - j
			}
			row, col := i, jj
			if colMajor {
				row, col = jj, i
			}
			if flipR {
				row = r.Rows - 1 - row
			}
			if flipC {
				col = r.Cols - 1 - col
			}
			path = append(path, DieID((r.R+row)*s.Cols+r.C+col))
		}
	}
	return path
}
