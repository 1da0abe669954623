package heuristics

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/partition"
)

// Iteration is one round of the dual-level loop.
type Iteration struct {
	Layout    string  `json:"layout"`
	Objective float64 `json:"objective"`
	// Mapped says the layout had been re-priced on the mapper's mapping
	// when this solve ran.
	Mapped bool `json:"mapped"`
	// Declined says the solve ended above the one before it, so its
	// mapping was not kept (the loop returns the solve before).
	Declined bool `json:"declined,omitempty"`
	// TimeUp says the planning deadline ended the loop after this solve.
	TimeUp bool `json:"time_up,omitempty"`
}

// DefaultIterations caps the dual-level loop.
const DefaultIterations = 8

// DualLevel is TEMP's dual-level wafer solving (DLWS): solve the global
// level; map the chosen layout with the local level; re-price that layout
// on its mapping and solve again; until the chosen layout is one already
// mapped (the plan stops changing) or maxIter solves. The mapper is judged
// by the chosen assignment's objective obj on each mapping (Judged); the
// judge's pick and, when it differs, temp's most refined mapping are both
// re-priced and solved, and the better solve kept. A mapping whose
// re-solve ends above the previous objective is not taken —
// the layout keeps the mapping it was priced on, the solve is recorded,
// and the report says so — so the objective never rises from one solve to
// the next. When ctx is done the loop stops and keeps the solution it has
// (the last iteration says TimeUp), as does a later solve failing with
// ctx's deadline; only the first solve's failure is an error. It returns
// the kept solution, the table it was solved on, the iterations and the
// mapper's reports.
func DualLevel(ctx context.Context, m *costmodel.Model, t *costmodel.Table, mp Mapper, solve func(*costmodel.Table) (*ilp.Solution, error),
	obj ilp.Objective, maxIter int) (*ilp.Solution, *costmodel.Table, []Iteration, []Report, error) {
	if maxIter <= 0 {
		maxIter = DefaultIterations
	}
	mapped := map[int]bool{}
	var its []Iteration
	var reps []Report
	sol, err := solve(t)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	its = append(its, Iteration{Layout: t.Space.Layouts[sol.Assignment.Layout].Name(), Objective: sol.Result.Objective})
	for len(its) < maxIter {
		li := sol.Assignment.Layout
		if mapped[li] {
			break
		}
		if ctx.Err() != nil {
			its[len(its)-1].TimeUp = true
			break
		}
		mpg, rep, err := Judged(mp, m, t, sol.Assignment, obj).Map(m, t.Space, li)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("heuristics: mapping %s: %w", t.Space.Layouts[li].Name(), err)
		}
		mapped[li] = true
		// The judge looks at the current assignment only; a mapping it
		// ranks lower can still let the ILP find a better plan, so temp's
		// most refined mapping is solved too, and the better solve kept.
		cands := []partition.Mapping{mpg}
		if rep.refined != nil && !reflect.DeepEqual(*rep.refined, mpg) {
			cands = append(cands, *rep.refined)
		}
		nt, ns, late, err := bestCandidate(m, t, li, cands, solve, &rep)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if ns == nil { // the deadline stopped the first candidate's solve
			its[len(its)-1].TimeUp = true
			break
		}
		its = append(its, Iteration{Layout: t.Space.Layouts[ns.Assignment.Layout].Name(), Objective: ns.Result.Objective,
			Mapped: mapped[ns.Assignment.Layout], TimeUp: late})
		rep.Applied = ns.Result.Objective <= sol.Result.Objective*(1+1e-12)
		reps = append(reps, rep)
		if !rep.Applied {
			its[len(its)-1].Declined = true
			break
		}
		t, sol = nt, ns
		if late {
			break
		}
	}
	return sol, t, its, reps, nil
}

// bestCandidate re-prices layout li of t on each candidate mapping, solves
// each, and returns the better solve with its table; rep then describes
// the mapping kept. late says the deadline stopped a solve: the candidates
// solved before it are kept, and with none ns is nil.
func bestCandidate(m *costmodel.Model, t *costmodel.Table, li int, cands []partition.Mapping,
	solve func(*costmodel.Table) (*ilp.Solution, error), rep *Report) (nt *costmodel.Table, ns *ilp.Solution, late bool, err error) {
	for k, c := range cands {
		ct, err := m.Reprice(t, li, c)
		if err != nil {
			return nil, nil, false, err
		}
		cs, err := solve(ct)
		if err != nil && stopped(err) {
			return nt, ns, true, nil
		}
		if err != nil {
			return nil, nil, false, err
		}
		if ns == nil || cs.Result.Objective < ns.Result.Objective {
			nt, ns = ct, cs
			if k > 0 { // the report describes the mapping kept
				if sc, err := score(m, t.Space, li, c); err == nil {
					after := report(rep.Mapper, scoreT{}, sc)
					rep.After, rep.MaxLinkAfter, rep.GroupAfter, rep.GroupMaxLinkAfter = after.After, after.MaxLinkAfter, after.GroupAfter, after.GroupMaxLinkAfter
				}
			}
		}
	}
	return nt, ns, false, nil
}

// stopped reports whether err says a context ended the work.
func stopped(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// Judged returns mp with, if it is the temp mapper, a Judge pricing a
// mapping of assignment a's layout by a's objective on table t re-priced
// on it.
func Judged(mp Mapper, m *costmodel.Model, t *costmodel.Table, a ilp.Assignment, obj ilp.Objective) Mapper {
	tm, ok := mp.(TEMP)
	if !ok {
		return mp
	}
	tm.Judge = func(mpg partition.Mapping) (float64, error) {
		nt, err := m.Reprice(t, a.Layout, mpg)
		if err != nil {
			return 0, err
		}
		b, err := ilp.Evaluate(nt, a)
		return b.Value(obj), err
	}
	return tm
}

// MapAll maps every layout of a space with mp (for the cheap baseline
// mappers) and prices the space on those mappings.
// It stops with an error wrapping ctx.Err() when ctx is done.
func MapAll(ctx context.Context, m *costmodel.Model, sp *partition.Space, mp Mapper) (*costmodel.Table, error) {
	maps := make([]partition.Mapping, len(sp.Layouts))
	for li := range sp.Layouts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("heuristics: mapping stopped after %d of %d layouts: %w", li, len(sp.Layouts), err)
		}
		mpg, _, err := mp.Map(m, sp, li)
		if err != nil {
			return nil, fmt.Errorf("heuristics: mapping %s: %w", sp.Layouts[li].Name(), err)
		}
		maps[li] = mpg
	}
	return m.PriceMappedContext(ctx, sp, maps)
}
