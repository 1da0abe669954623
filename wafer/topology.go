package wafer

import "fmt"

// DieID addresses a die: r·Cols + c.
type DieID int32

// LinkID addresses a directed link: 4·(source die) + Dir.
type LinkID int32

//go:generate go run github.com/tempc/tempc/internal/enumgen -type Dir=direction

// Dir is the direction a link carries data, seen from its source die. The
// line comments of its constants are their names.
type Dir int8

// Link directions. North is row − 1.
const (
	North Dir = iota // N
	East             // E
	South            // S
	West             // W
)

var dirDelta = [...]Coord{North: {-1, 0}, East: {0, 1}, South: {1, 0}, West: {0, -1}}

// In reports whether c lies on the mesh.
func (s *Spec) In(c Coord) bool { return c.R >= 0 && c.R < s.Rows && c.C >= 0 && c.C < s.Cols }

// ID returns the DieID of c, which must lie on the mesh.
func (s *Spec) ID(c Coord) DieID { return DieID(c.R*s.Cols + c.C) }

// Coord returns the position of die d.
func (s *Spec) Coord(d DieID) Coord { return Coord{int(d) / s.Cols, int(d) % s.Cols} }

// Alive reports whether die d is on the mesh and not defective.
func (s *Spec) Alive(d DieID) bool {
	return d >= 0 && int(d) < s.NumDies() && (s.dead == nil || !s.dead[d])
}

// LinkFrom returns the link leaving die d in direction dir, if the mesh has
// one there (dead or not).
func (s *Spec) LinkFrom(d DieID, dir Dir) (LinkID, bool) {
	c := s.Coord(d)
	n := Coord{c.R + dirDelta[dir].R, c.C + dirDelta[dir].C}
	if !s.In(n) {
		return 0, false
	}
	return LinkID(4*int(d) + int(dir)), true
}

// LinkBetween returns the link from die a to its neighbour b.
func (s *Spec) LinkBetween(a, b DieID) (LinkID, bool) {
	ca, cb := s.Coord(a), s.Coord(b)
	for dir, dl := range dirDelta {
		if ca.R+dl.R == cb.R && ca.C+dl.C == cb.C {
			return LinkID(4*int(a) + dir), true
		}
	}
	return 0, false
}

// NumLinks is the size of tables indexed by LinkID (4 per die; links off
// the mesh edge never occur).
func (s *Spec) NumLinks() int { return 4 * s.NumDies() }

// LinkEnds returns the source and destination dies of l.
func (s *Spec) LinkEnds(l LinkID) (from, to DieID) {
	from = DieID(l / 4)
	c := s.Coord(from)
	dl := dirDelta[l%4]
	return from, s.ID(Coord{c.R + dl.R, c.C + dl.C})
}

// LinkAlive reports whether l is usable: it exists, both its dies are
// healthy and it is not defective.
func (s *Spec) LinkAlive(l LinkID) bool {
	if l < 0 || int(l) >= s.NumLinks() {
		return false
	}
	from := DieID(l / 4)
	if _, ok := s.LinkFrom(from, Dir(l%4)); !ok {
		return false
	}
	_, to := s.LinkEnds(l)
	return s.Alive(from) && s.Alive(to) && (s.deadLink == nil || !s.deadLink[l])
}

// LinkName renders a link as "(r,c)→(r,c)" for messages and reports.
func (s *Spec) LinkName(l LinkID) string {
	a, b := s.LinkEnds(l)
	return fmt.Sprintf("%v→%v", s.Coord(a), s.Coord(b))
}

// Hops is the Manhattan distance between two dies.
func (s *Spec) Hops(a, b DieID) int {
	ca, cb := s.Coord(a), s.Coord(b)
	return abs(ca.R-cb.R) + abs(ca.C-cb.C)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
