package wafer

import "fmt"

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
func (s *Spec) Snakes(r Rect) [][]DieID {
	var out [][]DieID
	seen := map[string]bool{}
	for _, colMajor := range []bool{false, true} {
		for _, flipR := range []bool{false, true} {
			for _, flipC := range []bool{false, true} {
				var path []DieID
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
						path = append(path, s.ID(Coord{r.R + row, r.C + col}))
					}
				}
				key := fmt.Sprint(path)
				if !seen[key] {
					seen[key] = true
					out = append(out, path)
				}
			}
		}
	}
	return out
}
