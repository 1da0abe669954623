package ilp

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/internal/fileio"
)

// Solution is a solved global level: the solver's record and the chosen
// assignment priced by the cost model.
type Solution struct {
	Result     *Result
	Assignment Assignment
	Breakdown  Breakdown
	// LPBound is the LP relaxation's optimum, when asked for.
	LPBound float64
	// Memory is the second solve's record under Config.LeastMemory (its
	// objective the peak memory per die in GB), nil otherwise; Result is
	// the first's, whose objective bounds the chosen assignment's within
	// the tolerance.
	Memory *Result
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
	if res.Status == Infeasible && !o.NoPresolve {
		// Presolve's reductions can declare a badly scaled model
		// infeasible; no "infeasible" is reported without the model
		// itself, unreduced, agreeing.
		confirm := o
		confirm.NoPresolve = true
		seconds := res.Seconds
		if res, err = s.Solve(&m.Problem, confirm); err != nil {
			return nil, err
		}
		res.Seconds += seconds
		if res.HasSolution {
			res.Detail += " (presolve declared the model infeasible; solved again without presolve)"
		}
	}
	switch {
	case res.Status == Infeasible:
		return nil, Explain(t, s, o)
	case !res.HasSolution && res.Status == TimeLimit:
		return nil, fmt.Errorf("ilp: %s: %w (%s) after %.1f s", m.Problem.Name, ErrTimeLimit, res.Detail, res.Seconds)
	case !res.HasSolution:
		return nil, fmt.Errorf("ilp: %s: solver stopped (%s) after %.1f s without a feasible plan", m.Problem.Name, res.Detail, res.Seconds)
	}
	a := m.decode(res.X)
	b, err := Evaluate(t, a)
	if err != nil {
		return nil, fmt.Errorf("ilp: the solver's answer does not decode: %w", err)
	}
	sol := &Solution{Result: res, Assignment: a, Breakdown: b}
	if cfg.LeastMemory && !cfg.Elastic {
		if err := sol.LeastMemory(t, cfg, s, o); err != nil {
			return nil, err
		}
	}
	return sol, nil
}

// LeastMemory solves t again for the least peak memory per die among
// assignments within cfg.MemoryTolerance of sol's objective (the faster
// among equal memory), and keeps the answer if the second solve finds one
// (a time-out without one keeps sol's; Memory records the solve).
func (sol *Solution) LeastMemory(t *costmodel.Table, cfg Config, s Solver, o Options) error {
	obj := sol.Result.Objective
	bound := obj + math.Abs(obj)*max(cfg.MemoryTolerance, 1e-9)
	m := Formulate(t, Config{Objective: cfg.Objective, WithinBound: bound})
	res, err := s.Solve(&m.Problem, o)
	if err != nil {
		return err
	}
	sol.Memory = res
	if !res.HasSolution {
		return nil
	}
	a := m.decode(res.X)
	b, err := Evaluate(t, a)
	if err != nil {
		return fmt.Errorf("ilp: the least-memory answer does not decode: %w", err)
	}
	if b.Mem.Total() < sol.Breakdown.Mem.Total() || b.Mem.Total() == sol.Breakdown.Mem.Total() && b.Value(cfg.Objective) < sol.Breakdown.Value(cfg.Objective) {
		sol.Assignment, sol.Breakdown = a, b
	}
	return nil
}

// ErrTimeLimit is wrapped by the errors of solves that the time limit
// stopped before any feasible assignment was found.
var ErrTimeLimit = errors.New("time limit reached without a feasible plan")

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
		{"activations", e.Mem.Acts}, {"gathered FSDP weights", e.Mem.Gathered}, {"transient buffers", e.Mem.Transient}}
	sort.SliceStable(terms, func(i, j int) bool { return terms[i].v > terms[j].v })
	var parts []string
	for _, t := range terms[:3] {
		parts = append(parts, fmt.Sprintf("%s %s", t.name, fileio.Bytes(t.v)))
	}
	return fmt.Sprintf("ilp: %s needs %s per die on %s, has %s (best layout %s: %s dominate; %s)",
		e.Model, fileio.Bytes(e.Need), e.Wafer, fileio.Bytes(e.Have), e.Layout, terms[0].name, strings.Join(parts, ", "))
}

// Explain says why no assignment of t exists. When some op group has no
// runnable scheme in any layout it says which and why (*NoLayoutError);
// otherwise it solves the elastic model — memory rows may exceed capacity
// by a slack, which is minimised — and returns the resulting
// *OutOfMemoryError. If the least memory it finds fits after all, the
// infeasibility was the solver's, and the error says so rather than
// blaming memory.
func Explain(t *costmodel.Table, s Solver, o Options) error {
	if err := structural(t); err != nil {
		return err
	}
	m := Formulate(t, Config{Elastic: true})
	res, err := s.Solve(&m.Problem, o)
	if err != nil {
		return err
	}
	if !res.HasSolution && res.Status == TimeLimit {
		return fmt.Errorf("ilp: %s: no plan fits, and explaining why %w (%s)", m.Problem.Name, ErrTimeLimit, res.Detail)
	}
	if !res.HasSolution {
		return fmt.Errorf("ilp: %s: no plan exists and the memory relaxation found none either (%s)", m.Problem.Name, res.Detail)
	}
	a := m.decode(res.X)
	b, err := Evaluate(t, a)
	if err != nil {
		return err
	}
	if b.Fits {
		return fmt.Errorf("ilp: %s: the solver reported no plan, yet layout %s fits (%.3g of %.3g GB per die): "+
			"a numerical failure of the solver, not a lack of memory", m.Problem.Name, t.Space.Layouts[a.Layout].Name(),
			b.Mem.Total()/1e9, t.Capacity/1e9)
	}
	return &OutOfMemoryError{Model: t.Space.Graph.Name, Wafer: t.Space.Spec.Name, Need: b.Mem.Total(),
		Have: t.Capacity, Layout: t.Space.Layouts[a.Layout].Name(), Mem: b.Mem}
}

// NoLayoutError says that no layout of a space can run every op group:
// in each, some group has no valid scheme. Group is the group blocked in
// most layouts; Blocked how many of Layouts block it; MinDies the
// smallest model-parallel group among those.
type NoLayoutError struct {
	Model, Wafer     string
	Layouts, Blocked int
	Group            string
	Heads, Seq       int64
	MinDies          int
	Batch, MaxDP     int64
}

func (e *NoLayoutError) Error() string {
	if e.Layouts == 0 {
		return fmt.Sprintf("ilp: %s has no plan on %s: the strategy space has no layout", e.Model, e.Wafer)
	}
	if e.Heads == 0 {
		return fmt.Sprintf("ilp: %s has no plan on %s: %s has no runnable scheme in %d of the %d layouts, and every other layout blocks another group",
			e.Model, e.Wafer, e.Group, e.Blocked, e.Layouts)
	}
	others := ""
	if e.Blocked < e.Layouts {
		others = " (the others block another group)"
	}
	replicas := "replicas"
	if e.MaxDP == 1 {
		replicas = "replica"
	}
	return fmt.Sprintf("ilp: %s has no plan on %s: %s cannot run in %d of the %d layouts%s: "+
		"its schemes split its %d heads or the %d tokens of a sequence over a model-parallel group's dies, and the "+
		"smallest group there has %d dies, because a batch of %s allows at most %d data-parallel %s (try a larger --batch or --seq)",
		e.Model, e.Wafer, e.Group, e.Blocked, e.Layouts, others, e.Heads, e.Seq, e.MinDies, plural(e.Batch, "sequence"),
		e.MaxDP, replicas)
}

// plural is "1 noun" or "n nouns".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// structural returns a *NoLayoutError when no layout of t can run every
// op group, and nil otherwise.
func structural(t *costmodel.Table) error {
	sp := t.Space
	blocked := make([]int, len(sp.Groups))
	minDies := make([]int, len(sp.Groups))
	var maxDP int64
	for li := range sp.Layouts {
		l := &sp.Layouts[li]
		maxDP = max(maxDP, int64(l.DP))
		runs := true
		for gi := range sp.Groups {
			if !slices.ContainsFunc(t.Options[gi], func(o costmodel.Option) bool { return o.Valid[li] }) {
				runs = false
				if blocked[gi] == 0 || l.P() < minDies[gi] {
					minDies[gi] = l.P()
				}
				blocked[gi]++
			}
		}
		if runs {
			return nil
		}
	}
	e := &NoLayoutError{Model: sp.Graph.Name, Wafer: sp.Spec.Name, Layouts: len(sp.Layouts), Seq: sp.Graph.Seq,
		Batch: sp.Graph.Batch, MaxDP: maxDP}
	for gi, n := range blocked {
		if n > e.Blocked {
			e.Blocked, e.Group, e.Heads, e.MinDies = n, sp.Groups[gi].Key, sp.Groups[gi].Heads, minDies[gi]
		}
	}
	return e
}
