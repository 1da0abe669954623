package ilp

import (
	"fmt"
	"math"
	"time"
)

func ExampleHiGHS_Solve() {
	// Choose one of two strategies for each of two ops (x0+x1 = 1, x2+x3 = 1);
	// strategy 1 of op A conflicts with strategy 0 of op B (x1 + x2 ≤ 1).
	p := &Problem{
		Name: "two-ops",
		Cols: []Col{
			{Name: "A.s0", Cost: 5, Upper: 1, Integer: true},
			{Name: "A.s1", Cost: 2, Upper: 1, Integer: true},
			{Name: "B.s0", Cost: 1, Upper: 1, Integer: true},
			{Name: "B.s1", Cost: 3, Upper: 1, Integer: true},
		},
		Rows: []Row{
			{Name: "A one-hot", Terms: []Term{{0, 1}, {1, 1}}, Lower: 1, Upper: 1},
			{Name: "B one-hot", Terms: []Term{{2, 1}, {3, 1}}, Lower: 1, Upper: 1},
			{Name: "conflict", Terms: []Term{{1, 1}, {2, 1}}, Lower: math.Inf(-1), Upper: 1},
		},
	}
	res, err := HiGHS{}.Solve(p, Options{TimeLimit: 10 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v objective=%g x=%v gap=%g\n", res.Status, res.Objective, res.X, res.MIPGap)
	// Output:
	// optimal objective=5 x=[0 1 0 1] gap=0
}
