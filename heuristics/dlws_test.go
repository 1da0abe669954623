//go:build cgo

package heuristics

import (
	"context"
	"fmt"
	"testing"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ilp/highs"
)

// TestDualLevelStopsAtDeadline: when the planning deadline stops a solve
// of the dual-level loop, the loop keeps the solution it has and its last
// round says TimeUp (and only then), and a context already done stops it
// before any mapping.
func TestDualLevelStopsAtDeadline(t *testing.T) {
	m, sp := spaceOf(t, "llama2-7b", "mesh4x4")
	tab, err := m.Price(sp)
	if err != nil {
		t.Fatal(err)
	}
	for _, failAt := range []int{2, 3} {
		t.Run(fmt.Sprintf("solve %d stopped", failAt), func(t *testing.T) {
			calls := 0
			solve := func(tt *costmodel.Table) (*ilp.Solution, error) {
				if calls++; calls >= failAt {
					return nil, fmt.Errorf("solving: %w", context.DeadlineExceeded)
				}
				return ilp.Solve(tt, ilp.Config{}, highs.Solver{}, ilp.Options{})
			}
			sol, _, its, _, err := DualLevel(context.Background(), m, tab, TEMP{Seed: 1}, solve, ilp.StepTime, 0)
			if err != nil || sol == nil {
				t.Fatalf("err %v, solution %v", err, sol)
			}
			if stoppedOne := calls >= failAt; its[len(its)-1].TimeUp != stoppedOne {
				t.Errorf("last round %+v after %d solves (solve %d stopped: %v)", its[len(its)-1], calls, failAt, stoppedOne)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, its, reps, err := DualLevel(ctx, m, tab, TEMP{Seed: 1}, func(tt *costmodel.Table) (*ilp.Solution, error) {
		return ilp.Solve(tt, ilp.Config{}, highs.Solver{}, ilp.Options{})
	}, ilp.StepTime, 0)
	if err != nil || len(its) != 1 || !its[0].TimeUp || len(reps) != 0 {
		t.Errorf("cancelled: err %v, rounds %+v, %d mapper reports", err, its, len(reps))
	}
}
