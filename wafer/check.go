package wafer

import (
	"errors"
	"fmt"
)

// problem is one invalid value of a Spec: the wafer file field it
// concerns and what is wrong with it.
type problem struct {
	// field is the file field at fault ("rows", "die.peak_tflops",
	// "dead_dies"), or "" for the whole wafer.
	field string
	// elem is the index of the element of a dead_dies or dead_links list
	// at fault, or −1.
	elem int
	// msg says what is wrong; it names the field or the die or link.
	msg string
}

// Validate checks the mesh size, the physical fields against their
// plausible ranges (see limit: NaN, infinities and values beyond them are
// rejected), the DMA engines and the faults (on the mesh, between
// neighbours, each listed once), and prepares the fault tables. It returns
// every problem found, naming the field, die or link at fault.
func (s *Spec) Validate() error {
	var errs []error
	for _, p := range s.problems(s.hardwareProblems()) {
		errs = append(errs, fmt.Errorf("wafer %s: %s", s.Name, p.msg))
	}
	return errors.Join(errs...)
}

// problems returns hw, the problems of the physical fields, followed by
// those of the mesh, the DMA engines and the faults. The faults are not
// checked when the mesh is invalid.
func (s *Spec) problems(hw []problem) []problem {
	ps := hw
	if p, ok := s.meshProblem(); !ok {
		return append(ps, p)
	}
	if n := s.Die.DMAEngines; n < 1 || n > maxDMAEngines {
		ps = append(ps, problem{"die.dma_engines", -1,
			fmt.Sprintf("die.dma_engines must be between 1 and %d, got %d", maxDMAEngines, n)})
	}
	ps = append(ps, s.markFaults()...)
	if len(ps) == 0 && s.NumHealthy() == 0 {
		ps = append(ps, problem{"dead_dies", -1, fmt.Sprintf("no healthy die: all %d dies are dead", s.NumDies())})
	}
	return ps
}

// meshProblem checks that the mesh has between 1 and maxDies dies. Rows
// and cols are bounded on their own first, so that their product cannot
// overflow.
func (s *Spec) meshProblem() (problem, bool) {
	// The field at fault: cols when only they are out of range.
	field := "rows"
	if s.Rows > 0 && s.Rows <= maxDies && (s.Cols <= 0 || s.Cols > maxDies) {
		field = "cols"
	}
	switch {
	case s.Rows <= 0 || s.Cols <= 0:
		return problem{field, -1, fmt.Sprintf("mesh %d×%d must have positive rows and cols", s.Rows, s.Cols)}, false
	case s.Rows > maxDies || s.Cols > maxDies || s.Rows*s.Cols > maxDies:
		return problem{field, -1, fmt.Sprintf("mesh %d×%d exceeds %d dies", s.Rows, s.Cols, maxDies)}, false
	}
	return problem{}, true
}

// markFaults fills the fault tables from DeadDies and DeadLinks, reporting
// dies off the mesh, links between dies that are not neighbours, and
// faults listed twice (a link in either orientation).
func (s *Spec) markFaults() []problem {
	var ps []problem
	bad := func(field string, i int, format string, args ...any) {
		ps = append(ps, problem{field, i, fmt.Sprintf(format, args...)})
	}
	s.dead = make([]bool, s.NumDies())
	s.deadLink = make([]bool, s.NumLinks())
	for i, c := range s.DeadDies {
		switch {
		case !s.In(c):
			bad("dead_dies", i, "dead die %v is outside the %d×%d mesh", c, s.Rows, s.Cols)
		case s.dead[s.ID(c)]:
			bad("dead_dies", i, "dead die %v is listed twice (first as dead_dies[%d])", c, s.firstDeadDie(c))
		default:
			s.dead[s.ID(c)] = true
		}
	}
	for i, l := range s.DeadLinks {
		if !s.In(l.A) || !s.In(l.B) {
			bad("dead_links", i, "dead link %v–%v is outside the %d×%d mesh", l.A, l.B, s.Rows, s.Cols)
			continue
		}
		ab, ok := s.LinkBetween(s.ID(l.A), s.ID(l.B))
		if !ok {
			bad("dead_links", i, "dead link %v–%v joins dies that are not neighbours", l.A, l.B)
			continue
		}
		if s.deadLink[ab] {
			bad("dead_links", i, "dead link %v–%v is listed twice (first as dead_links[%d])", l.A, l.B, s.firstDeadLink(l))
			continue
		}
		ba, _ := s.LinkBetween(s.ID(l.B), s.ID(l.A))
		s.deadLink[ab], s.deadLink[ba] = true, true
	}
	return ps
}

// firstDeadDie is the index of c's first entry in DeadDies.
func (s *Spec) firstDeadDie(c Coord) int {
	for i, d := range s.DeadDies {
		if d == c {
			return i
		}
	}
	return -1
}

// firstDeadLink is the index of l's first entry in DeadLinks, in either
// orientation.
func (s *Spec) firstDeadLink(l DeadLink) int {
	for i, d := range s.DeadLinks {
		if d == l || d == (DeadLink{l.B, l.A}) {
			return i
		}
	}
	return -1
}
