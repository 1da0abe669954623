package ilp

import (
	"fmt"
	"sort"
	"strings"

	"tempc/costmodel"
)

// Solution is a solved global level: the solver's record and the chosen
// assignment priced by the cost model.
type Solution struct {
	Result     *Result
	Assignment Assignment
	Breakdown  Breakdown
	// LPBound is the LP relaxation's optimum, when asked for.
	LPBound float64
}

// Solve formulates t, solves it under o, and prices the answer. A time-out
// with an incumbent returns it (Result.Status TimeLimit, with its gap); an
// infeasible space returns an *OutOfMemoryError explaining it.
func Solve(t *costmodel.Table, cfg Config, s Solver, o Options) (*Solution, error) {
	m := Formulate(t, cfg)
	res, err := s.Solve(&m.Problem, o)
	if err != nil {
		return nil, err
	}
	switch {
	case res.Status == Infeasible:
		return nil, Explain(t, s, o)
	case !res.HasSolution:
		return nil, fmt.Errorf("ilp: %s: solver stopped (%s) after %.1f s without a feasible plan", m.Problem.Name, res.Detail, res.Seconds)
	}
	a := m.decode(res.X)
	b, err := Evaluate(t, a)
	if err != nil {
		return nil, fmt.Errorf("ilp: the solver's answer does not decode: %w", err)
	}
	return &Solution{Result: res, Assignment: a, Breakdown: b}, nil
}

// LPRelaxation solves the model with integrality dropped: a lower bound on
// the optimum.
func LPRelaxation(t *costmodel.Table, cfg Config, s Solver, o Options) (*Result, error) {
	m := Formulate(t, cfg)
	for j := range m.Problem.Cols {
		m.Problem.Cols[j].Integer = false
	}
	return s.Solve(&m.Problem, o)
}

// OutOfMemoryError says that no assignment fits, in the user's terms: the
// least memory per die that would fit, and what it is made of.
type OutOfMemoryError struct {
	Model, Wafer string
	// Need is the least per-die memory of any assignment; Have the
	// capacity.
	Need, Have float64
	// Layout and Mem are the assignment that needs least, by term.
	Layout string
	Mem    costmodel.Mem
}

func (e *OutOfMemoryError) Error() string {
	terms := []struct {
		name string
		v    float64
	}{{"weights", e.Mem.Weights}, {"gradients", e.Mem.Grads}, {"optimizer states", e.Mem.OptStates},
		{"activations", e.Mem.Acts}, {"transient buffers", e.Mem.Transient}}
	sort.SliceStable(terms, func(i, j int) bool { return terms[i].v > terms[j].v })
	var parts []string
	for _, t := range terms[:3] {
		parts = append(parts, fmt.Sprintf("%s %.1f GB", t.name, t.v/1e9))
	}
	return fmt.Sprintf("ilp: %s needs %.1f GB per die on %s, has %.1f GB (best layout %s: %s dominate; %s)",
		e.Model, e.Need/1e9, e.Wafer, e.Have/1e9, e.Layout, terms[0].name, strings.Join(parts, ", "))
}

// Explain solves the elastic model — memory rows may exceed capacity by a
// slack, which is minimised — and returns the resulting *OutOfMemoryError
// (or a plain error if even that fails).
func Explain(t *costmodel.Table, s Solver, o Options) error {
	m := Formulate(t, Config{Elastic: true})
	res, err := s.Solve(&m.Problem, o)
	if err != nil {
		return err
	}
	if !res.HasSolution {
		return fmt.Errorf("ilp: %s: no plan exists and the memory relaxation found none either (%s)", m.Problem.Name, res.Detail)
	}
	a := m.decode(res.X)
	b, err := Evaluate(t, a)
	if err != nil {
		return err
	}
	return &OutOfMemoryError{Model: t.Space.Graph.Name, Wafer: t.Space.Spec.Name, Need: b.Mem.Total(),
		Have: t.Capacity, Layout: t.Space.Layouts[a.Layout].Name(), Mem: b.Mem}
}
