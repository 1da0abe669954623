package wafer

import (
	"fmt"
	"slices"
)

//go:generate go run github.com/tempc/tempc/internal/enumgen -type Routing

// Routing selects how a route between two dies is chosen. The line
// comments of its constants are their names.
type Routing int8

// Dimension-order routings.
const (
	// XY moves along the row (X, columns) first, then along the column.
	XY Routing = iota // xy
	// YX moves along the column first, then along the row.
	YX // yx
)

// Route is the sequence of dies a message visits, source first and
// destination last; a route from a die to itself is that one die.
type Route []DieID

// Route returns the dimension-order route from a to b and checks it: it
// fails, naming the die or link at fault, when the route would cross a dead
// die or link.
func (s *Spec) Route(a, b DieID, r Routing) (Route, error) {
	if !s.Alive(a) || !s.Alive(b) {
		return nil, fmt.Errorf("wafer %s: no route %v→%v: an end die is dead or off the mesh", s.Name, s.coordOrID(a), s.coordOrID(b))
	}
	route := s.dimensionOrder(a, b, r)
	if err := s.CheckRoute(route); err != nil {
		return nil, err
	}
	return route, nil
}

// dimensionOrder builds the XY or YX path without checking faults.
func (s *Spec) dimensionOrder(a, b DieID, r Routing) Route {
	ca, cb := s.Coord(a), s.Coord(b)
	route := Route{a}
	cur := ca
	stepCol := func() {
		for cur.C != cb.C {
			cur.C += sign(cb.C - cur.C)
			route = append(route, s.ID(cur))
		}
	}
	stepRow := func() {
		for cur.R != cb.R {
			cur.R += sign(cb.R - cur.R)
			route = append(route, s.ID(cur))
		}
	}
	if r == YX {
		stepRow()
		stepCol()
	} else {
		stepCol()
		stepRow()
	}
	return route
}

func sign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func (s *Spec) coordOrID(d DieID) string {
	if d >= 0 && int(d) < s.NumDies() {
		return s.Coord(d).String()
	}
	return fmt.Sprintf("die %d", d)
}

// CheckRoute validates an explicit route: at least one die, every die on
// the mesh and healthy, every hop between neighbours over a live link.
func (s *Spec) CheckRoute(route Route) error {
	if len(route) == 0 {
		return fmt.Errorf("wafer %s: empty route", s.Name)
	}
	for i, d := range route {
		if !s.Alive(d) {
			return fmt.Errorf("wafer %s: route passes dead or missing die %s (hop %d)", s.Name, s.coordOrID(d), i)
		}
		if i == 0 {
			continue
		}
		l, ok := s.LinkBetween(route[i-1], d)
		if !ok {
			return fmt.Errorf("wafer %s: route hop %d %v→%v is not between neighbours", s.Name, i,
				s.Coord(route[i-1]), s.Coord(d))
		}
		if !s.LinkAlive(l) {
			return fmt.Errorf("wafer %s: route hop %d uses dead link %s", s.Name, i, s.LinkName(l))
		}
	}
	return nil
}

// Links returns the directed links a route uses, in order.
func (s *Spec) Links(route Route) []LinkID {
	if len(route) < 2 {
		return nil
	}
	out := make([]LinkID, len(route)-1)
	for i := 1; i < len(route); i++ {
		l, ok := s.LinkBetween(route[i-1], route[i])
		if !ok {
			panic(fmt.Sprintf("wafer: Links of an unchecked route: %v→%v", s.Coord(route[i-1]), s.Coord(route[i])))
		}
		out[i-1] = l
	}
	return out
}

// Detour is a fault-aware route from a to b: the XY route when it is
// healthy, else the YX route, else a shortest path over live dies and
// links found by breadth-first search (neighbours tried in N, E, S, W
// order, so the result is deterministic). It fails only when the dead dies
// and links cut b off from a.
func (s *Spec) Detour(a, b DieID) (Route, error) {
	if r, err := s.Route(a, b, XY); err == nil {
		return r, nil
	}
	if r, err := s.Route(a, b, YX); err == nil {
		return r, nil
	}
	if !s.Alive(a) || !s.Alive(b) {
		return nil, fmt.Errorf("wafer %s: no route %v→%v: an end die is dead or off the mesh", s.Name, s.coordOrID(a), s.coordOrID(b))
	}
	r, ok := s.Shortest(a, b, nil)
	if !ok {
		return nil, fmt.Errorf("wafer %s: faults cut %v off from %v", s.Name, s.Coord(b), s.Coord(a))
	}
	return r, nil
}

// Shortest is a shortest route from a to b over live dies and links,
// leaving out the links avoid reports (nil: none), by breadth-first search
// with neighbours tried in N, E, S, W order (so the result is
// deterministic); false when there is none.
func (s *Spec) Shortest(a, b DieID, avoid func(LinkID) bool) (Route, bool) {
	if !s.Alive(a) || !s.Alive(b) {
		return nil, false
	}
	prev := make([]DieID, s.NumDies())
	for i := range prev {
		prev[i] = -1
	}
	prev[a] = a
	queue := []DieID{a}
	for len(queue) > 0 && prev[b] < 0 {
		d := queue[0]
		queue = queue[1:]
		for dir := North; dir <= West; dir++ {
			l, ok := s.LinkFrom(d, dir)
			if !ok || !s.LinkAlive(l) || avoid != nil && avoid(l) {
				continue
			}
			if _, n := s.LinkEnds(l); prev[n] < 0 {
				prev[n] = d
				queue = append(queue, n)
			}
		}
	}
	if prev[b] < 0 {
		return nil, false
	}
	var rev Route
	for d := b; d != a; d = prev[d] {
		rev = append(rev, d)
	}
	rev = append(rev, a)
	slices.Reverse(rev)
	return rev, true
}

// Components numbers the parts of the wafer that live links join: each
// healthy die gets its part's number (0, 1, … in the order of their lowest
// die IDs), each dead die −1.
func (s *Spec) Components() []int {
	comp := make([]int, s.NumDies())
	for i := range comp {
		comp[i] = -1
	}
	n := 0
	for start := DieID(0); int(start) < s.NumDies(); start++ {
		if !s.Alive(start) || comp[start] >= 0 {
			continue
		}
		queue := []DieID{start}
		comp[start] = n
		for len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			for dir := North; dir <= West; dir++ {
				if l, ok := s.LinkFrom(d, dir); ok && s.LinkAlive(l) {
					if _, m := s.LinkEnds(l); comp[m] < 0 {
						comp[m] = n
						queue = append(queue, m)
					}
				}
			}
		}
		n++
	}
	return comp
}

// Connected marks the dies of the largest set of healthy dies joined by
// live links (the one holding the lowest die ID on a tie): the dies that
// can all reach each other. Dies outside it cannot take part in a plan
// that spans the wafer.
func (s *Spec) Connected() []bool {
	comp := s.Components()
	var size []int
	for _, c := range comp {
		if c >= 0 {
			for len(size) <= c {
				size = append(size, 0)
			}
			size[c]++
		}
	}
	best := -1
	for c, n := range size {
		if best < 0 || n > size[best] {
			best = c
		}
	}
	in := make([]bool, s.NumDies())
	for d, c := range comp {
		in[d] = c == best && best >= 0
	}
	return in
}
