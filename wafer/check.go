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
// neighbours), and prepares the fault tables. It returns every problem
// found, naming the field, die or link at fault. A fault listed twice is
// harmless here, where code adds faults to a wafer that has some; ReadJSON
// rejects it in a file, where it is a slip.
func (s *Spec) Validate() error {
	var errs []error
	for _, p := range s.problems(s.hardwareProblems(), false) {
		errs = append(errs, fmt.Errorf("wafer %s: %s", s.Name, p.msg))
	}
	return errors.Join(errs...)
}

// problems returns hw, the problems of the physical fields, followed by
// those of the mesh, the DMA engines and the faults, including faults
// listed twice when dups is set. The faults are not checked when the mesh
// is invalid.
func (s *Spec) problems(hw []problem, dups bool) []problem {
	ps := hw
	if p, ok := s.meshProblem(); !ok {
		return append(ps, p)
	}
	if n := s.Die.DMAEngines; n < 1 || n > maxDMAEngines {
		ps = append(ps, problem{"die.dma_engines", -1,
			fmt.Sprintf("die.dma_engines must be between 1 and %d, got %d", maxDMAEngines, n)})
	}
	if n := s.Kernel.ArrayTile; n < 1 || n > maxArrayTile {
		ps = append(ps, problem{"kernel.array_tile", -1,
			fmt.Sprintf("kernel.array_tile must be between 1 and %d elements, got %d", maxArrayTile, n)})
	}
	faults, twice := s.markFaults()
	ps = append(ps, faults.list()...)
	if dups {
		ps = append(ps, twice.list()...)
	}
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
// dies off the mesh and links between dies that are not neighbours, and
// apart the faults listed twice (a link in either orientation).
func (s *Spec) markFaults() (bad, again *faultProblems) {
	bad, again = &faultProblems{}, &faultProblems{}
	s.dead = make([]bool, s.NumDies())
	s.deadLink = make([]bool, s.NumLinks())
	// first and firstLink hold the index of a die's or link's first entry.
	first := make([]int, s.NumDies())
	for i, c := range s.DeadDies {
		switch {
		case !s.In(c):
			bad.add("dead_dies", i, "dead die %v is outside the %d×%d mesh", c, s.Rows, s.Cols)
		case s.dead[s.ID(c)]:
			again.add("dead_dies", i, "dead die %v is listed twice (first as dead_dies[%d])", c, first[s.ID(c)])
		default:
			s.dead[s.ID(c)] = true
			first[s.ID(c)] = i
		}
	}
	firstLink := make([]int, s.NumLinks())
	for i, l := range s.DeadLinks {
		if !s.In(l.A) || !s.In(l.B) {
			bad.add("dead_links", i, "dead link %v–%v is outside the %d×%d mesh", l.A, l.B, s.Rows, s.Cols)
			continue
		}
		ab, ok := s.LinkBetween(s.ID(l.A), s.ID(l.B))
		if !ok {
			bad.add("dead_links", i, "dead link %v–%v joins dies that are not neighbours", l.A, l.B)
			continue
		}
		if s.deadLink[ab] {
			again.add("dead_links", i, "dead link %v–%v is listed twice (first as dead_links[%d])", l.A, l.B, firstLink[ab])
			continue
		}
		ba, _ := s.LinkBetween(s.ID(l.B), s.ID(l.A))
		s.deadLink[ab], s.deadLink[ba] = true, true
		firstLink[ab], firstLink[ba] = i, i
	}
	return bad, again
}

// maxFaultProblems bounds the problems of the faults reported, so that a
// file listing a million bad faults gets a short answer quickly.
const maxFaultProblems = 100

// faultProblems collects the first maxFaultProblems problems of one kind
// of the faults and counts the others.
type faultProblems struct {
	ps   []problem
	more int
}

func (f *faultProblems) add(field string, i int, format string, args ...any) {
	if len(f.ps) == maxFaultProblems {
		f.more++
		return
	}
	f.ps = append(f.ps, problem{field, i, fmt.Sprintf(format, args...)})
}

// list returns the problems, the last saying how many more there are.
func (f *faultProblems) list() []problem {
	if f.more == 0 {
		return f.ps
	}
	last := f.ps[len(f.ps)-1]
	return append(f.ps, problem{last.field, last.elem, fmt.Sprintf("and %d more problems of the faults", f.more)})
}
