package highs

import (
	"github.com/tempc/tempc/ilp"

	"math"
	"testing"

	lanl "github.com/lanl/highs"
)

// lanlModel converts p for github.com/lanl/highs, an independent path into
// the same solver.
func lanlModel(p *ilp.Problem) *lanl.Model {
	m := &lanl.Model{Offset: p.Offset}
	for _, c := range p.Cols {
		m.ColCosts = append(m.ColCosts, c.Cost)
		m.ColLower = append(m.ColLower, c.Lower)
		m.ColUpper = append(m.ColUpper, c.Upper)
		vt := lanl.ContinuousType
		if c.Integer {
			vt = lanl.IntegerType
		}
		m.VarTypes = append(m.VarTypes, vt)
	}
	for i, r := range p.Rows {
		m.RowLower = append(m.RowLower, r.Lower)
		m.RowUpper = append(m.RowUpper, r.Upper)
		for _, t := range ilp.MergeTerms(r.Terms) {
			m.ConstMatrix = append(m.ConstMatrix, lanl.Nonzero{Row: i, Col: t.Col, Val: t.Coef})
		}
	}
	return m
}

// TestAgreesWithLanl solves the smoke MIP through lanl/highs too: both
// paths into HiGHS must find the hand-computed optimum.
func TestAgreesWithLanl(t *testing.T) {
	p := integerKnapsack()
	raw, err := lanlModel(p).ToRawModel()
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.SetBoolOption("output_flag", false); err != nil {
		t.Fatal(err)
	}
	sol, err := raw.Solve()
	if err != nil {
		t.Fatal(err)
	}
	ours, err := Solver{}.Solve(p, ilp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sol.Status != lanl.Optimal || math.Abs(sol.Objective-ours.Objective) > 1e-9 || ours.Objective != -20 {
		t.Errorf("lanl/highs %v %g, tempc %g; want both -20", sol.Status, sol.Objective, ours.Objective)
	}
}
