package highs

import (
	"github.com/tempc/tempc/ilp"

	"fmt"
	"math"
	"testing"
	"time"
)

// integerKnapsack: maximise 5x + 4y s.t. 6x + 4y ≤ 24, x + 2y ≤ 6, x, y ≥ 0
// integer, written as a minimisation of −(5x + 4y). By hand: the LP optimum
// is (3, 1.5) with value 21, but the integer optimum is (4, 0) with value 20
// (the other candidates (3,1)=19 and (2,2)=18 are worse), so a solve that
// ignored integrality would be caught.
func integerKnapsack() *ilp.Problem {
	inf := math.Inf(1)
	return &ilp.Problem{
		Name: "knapsack",
		Cols: []ilp.Col{
			{Name: "x", Cost: -5, Lower: 0, Upper: inf, Integer: true},
			{Name: "y", Cost: -4, Lower: 0, Upper: inf, Integer: true},
		},
		Rows: []ilp.Row{
			{Name: "c1", Terms: []ilp.Term{{Col: 0, Coef: 6}, {Col: 1, Coef: 4}}, Lower: math.Inf(-1), Upper: 24},
			{Name: "c2", Terms: []ilp.Term{{Col: 0, Coef: 1}, {Col: 1, Coef: 2}}, Lower: math.Inf(-1), Upper: 6},
		},
	}
}

func TestHiGHSSolvesSmallMIP(t *testing.T) {
	res, err := Solver{}.Solve(integerKnapsack(), ilp.Options{TimeLimit: 10 * time.Second, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != ilp.Optimal || !res.HasSolution {
		t.Fatalf("status %v (%s), has solution %v; want optimal", res.Status, res.Detail, res.HasSolution)
	}
	const tol = 1e-9
	if math.Abs(res.Objective-(-20)) > tol {
		t.Errorf("objective %g, want -20", res.Objective)
	}
	if math.Abs(res.X[0]-4) > tol || math.Abs(res.X[1]) > tol {
		t.Errorf("x = %v, want [4 0]", res.X)
	}
	if res.DualBound > res.Objective+tol || res.MIPGap > 1e-6 {
		t.Errorf("dual bound %g, gap %g: not a certified optimum", res.DualBound, res.MIPGap)
	}
	if res.Rows != 2 || res.Cols != 2 || res.Nonzeros != 4 {
		t.Errorf("model size %d×%d/%d, want 2×2/4", res.Rows, res.Cols, res.Nonzeros)
	}
}

func TestHiGHSContinuousRelaxation(t *testing.T) {
	p := integerKnapsack()
	for i := range p.Cols {
		p.Cols[i].Integer = false
	}
	res, err := Solver{}.Solve(p, ilp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The LP optimum by hand: both rows tight, x = 3, y = 1.5, value 21.
	if res.Status != ilp.Optimal || math.Abs(res.Objective-(-21)) > 1e-9 {
		t.Fatalf("LP: status %v objective %g, want optimal -21", res.Status, res.Objective)
	}
}

func TestHiGHSInfeasible(t *testing.T) {
	p := &ilp.Problem{Name: "infeasible",
		Cols: []ilp.Col{{Name: "x", Lower: 0, Upper: 1, Integer: true}},
		Rows: []ilp.Row{{Name: "x>=2", Terms: []ilp.Term{{Col: 0, Coef: 1}}, Lower: 2, Upper: math.Inf(1)}}}
	res, err := Solver{}.Solve(p, ilp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != ilp.Infeasible || res.HasSolution {
		t.Fatalf("status %v, has solution %v; want infeasible without solution", res.Status, res.HasSolution)
	}
}

func TestHiGHSRowlessProblem(t *testing.T) {
	p := &ilp.Problem{Name: "bounds-only", Cols: []ilp.Col{{Name: "x", Cost: 1, Lower: 2, Upper: 5, Integer: true}}}
	res, err := Solver{}.Solve(p, ilp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != ilp.Optimal || res.Objective != 2 {
		t.Fatalf("status %v objective %g, want optimal 2", res.Status, res.Objective)
	}
}

func TestProblemValidate(t *testing.T) {
	tests := []struct {
		name string
		p    ilp.Problem
	}{
		{"empty", ilp.Problem{Name: "e"}},
		{"crossed bounds", ilp.Problem{Cols: []ilp.Col{{Name: "x", Lower: 2, Upper: 1}}}},
		{"bad term", ilp.Problem{Cols: []ilp.Col{{Name: "x", Upper: 1}}, Rows: []ilp.Row{{Name: "r", Terms: []ilp.Term{{Col: 3, Coef: 1}}}}}},
		{"nan cost", ilp.Problem{Cols: []ilp.Col{{Name: "x", Cost: math.NaN(), Upper: 1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := (Solver{}).Solve(&tc.p, ilp.Options{}); err == nil {
				t.Fatal("Solve accepted a malformed problem")
			}
		})
	}
}

// TestHiGHSOptionsReachSolver reads the options back from HiGHS, so a typo
// in an option name or a dropped limit cannot pass silently.
func TestHiGHSOptionsReachSolver(t *testing.T) {
	o := ilp.Options{TimeLimit: 1500 * time.Millisecond, RelGap: 0.01, Threads: 1}
	tl, gap, th, err := capiOptionsReadBack(o)
	if err != nil {
		t.Fatal(err)
	}
	if tl != 1.5 || gap != 0.01 || th != 1 {
		t.Errorf("HiGHS holds time_limit %g, mip_rel_gap %g, threads %d; want 1.5, 0.01, 1", tl, gap, th)
	}
	if d := (ilp.Options{}).WithDefaults(); d.TimeLimit != ilp.DefaultTimeLimit || d.RelGap != ilp.DefaultRelGap {
		t.Errorf("zero ilp.Options default to %+v", d)
	}
}

// TestTimeLimitKeepsIncumbent: a MIP too large to prove optimal in a
// millisecond still returns, labelled as timed out; whatever incumbent it
// has is feasible.
func TestTimeLimitKeepsIncumbent(t *testing.T) {
	// A 0/1 knapsack with 400 items of near-equal ratios: hard to close.
	p := &ilp.Problem{Name: "hard"}
	row := ilp.Row{Name: "cap", Lower: math.Inf(-1), Upper: 5000}
	for i := 0; i < 400; i++ {
		w := float64(50 + (i*37)%50)
		p.Cols = append(p.Cols, ilp.Col{Name: fmt.Sprint(i), Cost: -(w + float64((i*13)%7)), Upper: 1, Integer: true})
		row.Terms = append(row.Terms, ilp.Term{Col: i, Coef: w})
	}
	p.Rows = []ilp.Row{row}
	res, err := Solver{}.Solve(p, ilp.Options{TimeLimit: time.Millisecond, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != ilp.TimeLimit && res.Status != ilp.Optimal {
		t.Fatalf("status %v (%s)", res.Status, res.Detail)
	}
	if res.HasSolution {
		var used float64
		for j, v := range res.X {
			used += v * row.Terms[j].Coef
		}
		if used > 5000+1e-6 {
			t.Errorf("incumbent uses %g > 5000", used)
		}
	}
}

// marketSplit is a Cornuéjols–Dawande market-split instance (IPCO 1998):
// m equality rows over 10(m−1) binaries with coefficients in [0, 99]
// and right-hand sides half the row sums. With m = 5 branch and bound
// needs far more than a minute, so a solve of it ends only by its limits.
func marketSplit(m int) *ilp.Problem {
	n := 10 * (m - 1)
	p := &ilp.Problem{Name: "market-split"}
	for j := 0; j < n; j++ {
		p.Cols = append(p.Cols, ilp.Col{Name: fmt.Sprint("x", j), Upper: 1, Integer: true})
	}
	seed := uint32(12345)
	for i := 0; i < m; i++ {
		row := ilp.Row{Name: fmt.Sprint("r", i)}
		sum := 0.0
		for j := 0; j < n; j++ {
			seed = seed*1664525 + 1013904223 // Numerical Recipes' LCG
			a := float64(seed>>16) * 100 / 65536
			a = math.Floor(a)
			row.Terms = append(row.Terms, ilp.Term{Col: j, Coef: a})
			sum += a
		}
		row.Lower, row.Upper = math.Floor(sum/2), math.Floor(sum/2)
		p.Rows = append(p.Rows, row)
	}
	return p
}

// TestCancelInterruptsHiGHS: closing Options.Cancel stops HiGHS itself
// (through its interrupt callback, model status "interrupt"), not only
// the wait for it, on a solve that its minute's time limit would not end.
func TestCancelInterruptsHiGHS(t *testing.T) {
	cancel := make(chan struct{})
	time.AfterFunc(300*time.Millisecond, func() { close(cancel) })
	res, err := capiRun(marketSplit(5), ilp.Options{TimeLimit: time.Minute, Threads: 1, Cancel: cancel}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if res.Detail != "interrupted" {
		t.Fatalf("a cancelled solve ended %v (%s), want interrupted", res.Status, res.Detail)
	}
	// Solve returns at once on a closed channel, and a later solve runs.
	res, err = Solver{}.Solve(marketSplit(5), ilp.Options{TimeLimit: time.Minute, Threads: 1, Cancel: cancel})
	if err != nil || res.Detail != "interrupted" {
		t.Fatalf("Solve with Cancel closed = %+v, %v", res, err)
	}
	if res, err = (Solver{}).Solve(integerKnapsack(), ilp.Options{TimeLimit: 10 * time.Second, Threads: 1}); err != nil || res.Status != ilp.Optimal {
		t.Fatalf("the solve after an interrupted one: %+v, %v", res, err)
	}
}
