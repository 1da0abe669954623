package ilp

import (
	"fmt"

	"github.com/tempc/tempc/costmodel"
)

// Assignment is a choice of layout and of one option per op group.
type Assignment struct {
	Layout int
	// Options holds, per group, the index of its option in Table.Options.
	Options []int
}

// Breakdown is an assignment priced by the cost model, independently of
// any solver: the figures a plan reports.
type Breakdown struct {
	// Seconds and Energy of one step; Parts splits Energy.
	Seconds, Energy float64
	Parts           costmodel.Joules
	// Compute and Comm split Seconds (fixed DP and optimizer time included).
	Compute, Comm float64
	// Reshard is the resharding time between groups.
	Reshard float64
	// Fixed is the layout's DP synchronisation and optimizer; DPExposed
	// the DP all-reduce's time beyond the last micro-batch's backward
	// pass (costmodel.Sync), in Seconds and Comm.
	Fixed     costmodel.Price
	DPExposed float64
	// Groups is the price of each group's option.
	Groups []costmodel.Price
	// Mem is the peak memory per die by term; Fits says it is within
	// capacity.
	Mem  costmodel.Mem
	Fits bool
}

// Evaluate prices an assignment by summing the table's prices: the
// reference the solver's objective is checked against.
func Evaluate(t *costmodel.Table, a Assignment) (Breakdown, error) {
	sp := t.Space
	if a.Layout < 0 || a.Layout >= len(sp.Layouts) || len(a.Options) != len(sp.Groups) {
		return Breakdown{}, fmt.Errorf("ilp: assignment %+v does not match the table", a)
	}
	li := a.Layout
	fixed := t.Fixed[li]
	b := Breakdown{Fixed: fixed, Seconds: fixed.Seconds, Energy: fixed.Energy, Parts: fixed.Parts, Compute: fixed.Compute,
		Comm: fixed.Comm, Mem: fixed.Mem}
	for gi, oi := range a.Options {
		if oi < 0 || oi >= len(t.Options[gi]) || !t.Options[gi][oi].Valid[li] {
			return Breakdown{}, fmt.Errorf("ilp: group %s has no valid option %d in layout %s", sp.Groups[gi].Key, oi, sp.Layouts[li].Name())
		}
		p := t.Options[gi][oi].Price[li]
		b.Groups = append(b.Groups, p)
		b.Seconds += p.Seconds
		b.Energy += p.Energy
		b.Parts = b.Parts.Add(p.Parts)
		b.Compute += p.Compute
		b.Comm += p.Comm
		b.Mem = b.Mem.Add(p.Mem)
	}
	for _, e := range t.Edges {
		from := t.Options[e.Edge.From][a.Options[e.Edge.From]].Scheme
		to := t.Options[e.Edge.To][a.Options[e.Edge.To]].Scheme
		side := to.In()
		if e.Edge.Out {
			side = to.Out()
		}
		p := e.Cost[li][from.Out()][side]
		b.Seconds += p.Seconds
		b.Energy += p.Energy
		b.Parts = b.Parts.Add(p.Parts)
		b.Comm += p.Comm
		b.Reshard += p.Seconds
	}
	window, windowHBM := 0.0, 0.0
	for _, p := range b.Groups {
		window += p.Backward
		windowHBM += p.BackwardHBM
	}
	if e := syncOf(t, li).Exposed(window, windowHBM); e > 0 {
		b.DPExposed = e
		b.Seconds += e
		b.Comm += e
		static := e * sp.Spec.StaticWatts()
		b.Energy += static
		b.Parts.Static += static
	}
	b.Fits = b.Mem.Total() <= t.Capacity
	return b, nil
}

// Value is the breakdown's value under an objective.
func (b Breakdown) Value(o Objective) float64 {
	if o == Energy {
		return b.Energy
	}
	return b.Seconds
}

// decode reads the assignment from a solution vector.
func (m *Model) decode(x []float64) Assignment {
	a := Assignment{Layout: -1, Options: make([]int, len(m.Table.Space.Groups))}
	for j, v := range m.Vars {
		if x[j] < 0.5 {
			continue
		}
		switch v.Kind {
		case VarLayout:
			a.Layout = v.Layout
		case VarOption:
			a.Options[v.Group] = v.Index
		}
	}
	return a
}

// BruteForce enumerates every layout and every combination of valid
// options and returns the best assignment that fits in memory, or false
// when none does. It is exponential: for tests and `tempc gap` on tiny
// spaces (see Combinations).
func BruteForce(t *costmodel.Table, o Objective) (Assignment, Breakdown, bool) {
	var best Assignment
	var bestB Breakdown
	found := false
	enumerate(t, func(a Assignment) {
		b, err := Evaluate(t, a)
		if err == nil && b.Fits && (!found || b.Value(o) < bestB.Value(o)) {
			best = Assignment{Layout: a.Layout, Options: append([]int(nil), a.Options...)}
			bestB, found = b, true
		}
	})
	return best, bestB, found
}

// enumerate calls f with every assignment of t: every layout and every
// combination of options valid in it. f must not keep a.Options.
func enumerate(t *costmodel.Table, f func(a Assignment)) {
	for li := range t.Space.Layouts {
		a := Assignment{Layout: li, Options: make([]int, len(t.Space.Groups))}
		var rec func(g int)
		rec = func(g int) {
			if g == len(a.Options) {
				f(a)
				return
			}
			for oi, opt := range t.Options[g] {
				if opt.Valid[li] {
					a.Options[g] = oi
					rec(g + 1)
				}
			}
		}
		rec(0)
	}
}

// Combinations counts the assignments BruteForce would evaluate.
func Combinations(t *costmodel.Table) float64 {
	var total float64
	for li := range t.Space.Layouts {
		n := 1.0
		for gi := range t.Space.Groups {
			k := 0
			for _, o := range t.Options[gi] {
				if o.Valid[li] {
					k++
				}
			}
			n *= float64(k)
		}
		total += n
	}
	return total
}
