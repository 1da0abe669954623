package ilp

import (
	"fmt"
	"math"
	"time"

	"github.com/lanl/highs"
)

// HiGHS solves Problems with the HiGHS MIP solver (Huangfu and Hall,
// "Parallelizing the dual revised simplex method", Math. Prog. Comp. 2018;
// branch-and-cut by the HiGHS team) through github.com/lanl/highs.
type HiGHS struct{}

var _ Solver = HiGHS{}

// Solve builds the HiGHS model, sets time_limit, mip_rel_gap, threads and
// output_flag, solves, and reads back status, objective, dual bound and gap.
func (HiGHS) Solve(p *Problem, o Options) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	m := toModel(p)
	raw, err := m.ToRawModel()
	if err != nil {
		return nil, fmt.Errorf("ilp: passing %q to HiGHS: %w", p.Name, err)
	}
	if err := setOptions(raw, o); err != nil {
		return nil, fmt.Errorf("ilp: %q: %w", p.Name, err)
	}
	start := time.Now()
	sol, err := raw.Solve()
	elapsed := time.Since(start).Seconds()
	if err != nil {
		return nil, fmt.Errorf("ilp: HiGHS failed on %q: %w", p.Name, err)
	}
	res := &Result{Seconds: elapsed, Rows: len(m.RowLower), Cols: len(p.Cols), Nonzeros: len(m.ConstMatrix),
		Detail: sol.Status.String()}
	readResult(res, sol, p)
	return res, nil
}

// toModel converts p. HiGHS's C wrapper needs at least one row, so an empty
// free row is added to row-less problems.
func toModel(p *Problem) *highs.Model {
	m := &highs.Model{Offset: p.Offset}
	for _, c := range p.Cols {
		m.ColCosts = append(m.ColCosts, c.Cost)
		m.ColLower = append(m.ColLower, c.Lower)
		m.ColUpper = append(m.ColUpper, c.Upper)
		vt := highs.ContinuousType
		if c.Integer {
			vt = highs.IntegerType
		}
		m.VarTypes = append(m.VarTypes, vt)
	}
	for i, r := range p.Rows {
		m.RowLower = append(m.RowLower, r.Lower)
		m.RowUpper = append(m.RowUpper, r.Upper)
		for _, t := range r.Terms {
			if t.Coef != 0 {
				m.ConstMatrix = append(m.ConstMatrix, highs.Nonzero{Row: i, Col: t.Col, Val: t.Coef})
			}
		}
	}
	if len(p.Rows) == 0 {
		m.RowLower = []float64{math.Inf(-1)}
		m.RowUpper = []float64{math.Inf(1)}
	}
	return m
}

func setOptions(raw *highs.RawModel, o Options) error {
	if err := raw.SetFloat64Option("time_limit", o.TimeLimit.Seconds()); err != nil {
		return err
	}
	if err := raw.SetFloat64Option("mip_rel_gap", o.RelGap); err != nil {
		return err
	}
	if o.Threads > 0 {
		if err := raw.SetIntOption("threads", o.Threads); err != nil {
			return err
		}
	}
	return raw.SetBoolOption("output_flag", o.Log)
}

// readResult maps HiGHS's model status and info onto res.
func readResult(res *Result, sol *highs.RawSolution, p *Problem) {
	switch sol.Status {
	case highs.Optimal:
		res.Status = Optimal
	case highs.TimeLimit, highs.IterationLimit:
		res.Status = TimeLimit
	case highs.Infeasible:
		res.Status = Infeasible
	case highs.Unbounded, highs.UnboundedOrInfeasible:
		res.Status = Unbounded
	default:
		res.Status = Failed
	}
	// primal_solution_status 2 is kSolutionStatusFeasible.
	if ps, err := sol.GetIntInfo("primal_solution_status"); err == nil && ps == 2 && res.Status != Infeasible {
		res.HasSolution = true
		res.X = append([]float64(nil), sol.ColumnPrimal...)
		res.Objective = sol.Objective
	}
	isMIP := false
	for _, c := range p.Cols {
		isMIP = isMIP || c.Integer
	}
	if isMIP {
		res.DualBound, _ = sol.GetFloat64Info("mip_dual_bound")
		res.MIPGap, _ = sol.GetFloat64Info("mip_gap")
	} else if res.Status == Optimal {
		res.DualBound, res.MIPGap = res.Objective, 0 // an optimal LP is its own bound
	}
}
