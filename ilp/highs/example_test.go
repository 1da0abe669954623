package highs_test

import (
	"fmt"
	"math"
	"time"

	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ilp/highs"
)

func ExampleSolver_Solve() {
	// Choose one of two strategies for each of two ops (x0+x1 = 1, x2+x3 = 1);
	// strategy 1 of op A conflicts with strategy 0 of op B (x1 + x2 ≤ 1).
	p := &ilp.Problem{
		Name: "two-ops",
		Cols: []ilp.Col{
			{Name: "A.s0", Cost: 5, Upper: 1, Integer: true},
			{Name: "A.s1", Cost: 2, Upper: 1, Integer: true},
			{Name: "B.s0", Cost: 1, Upper: 1, Integer: true},
			{Name: "B.s1", Cost: 3, Upper: 1, Integer: true},
		},
		Rows: []ilp.Row{
			{Name: "A one-hot", Terms: []ilp.Term{{Col: 0, Coef: 1}, {Col: 1, Coef: 1}}, Lower: 1, Upper: 1},
			{Name: "B one-hot", Terms: []ilp.Term{{Col: 2, Coef: 1}, {Col: 3, Coef: 1}}, Lower: 1, Upper: 1},
			{Name: "conflict", Terms: []ilp.Term{{Col: 1, Coef: 1}, {Col: 2, Coef: 1}}, Lower: math.Inf(-1), Upper: 1},
		},
	}
	res, err := highs.Solver{}.Solve(p, ilp.Options{TimeLimit: 10 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v objective=%g x=%v gap=%g\n", res.Status, res.Objective, res.X, res.MIPGap)
	// Output:
	// optimal objective=5 x=[0 1 0 1] gap=0
}
