//go:build cgo

package ilp_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"

	// The solving tests cannot sit inside package ilp: highs imports ilp.
	. "github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ilp/highs"
)

// TestTinyMatchesBruteForce: on the real (tiny) pricing, both objectives,
// the ILP optimum is the enumerated one; unaliased gives the same optimum.
func TestTinyMatchesBruteForce(t *testing.T) {
	tab := tinyTable(t, partition.Config{})
	for _, obj := range []Objective{StepTime, Energy} {
		sol, err := Solve(tab, Config{Objective: obj}, highs.Solver{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, want, ok := BruteForce(tab, obj)
		if !ok || rel(sol.Breakdown.Value(obj), want.Value(obj)) > 1e-9 || rel(sol.Result.Objective, sol.Breakdown.Value(obj)) > 1e-9 {
			t.Errorf("%v: ILP %v (solver says %v), brute force %v", obj, sol.Breakdown.Value(obj), sol.Result.Objective, want.Value(obj))
		}
	}
	un := tinyTable(t, partition.Config{Unaliased: true})
	a, err1 := Solve(tab, Config{}, highs.Solver{}, Options{})
	b, err2 := Solve(un, Config{}, highs.Solver{}, Options{})
	if err1 != nil || err2 != nil || rel(a.Result.Objective, b.Result.Objective) > 1e-9 {
		t.Errorf("aliased %v, unaliased %v (%v %v)", a.Result.Objective, b.Result.Objective, err1, err2)
	}
	if len(un.Space.Groups) <= len(tab.Space.Groups) {
		t.Error("unaliased space is not larger")
	}
}

func table(t *testing.T, model, waferName string, cfg partition.Config) *costmodel.Table {
	t.Helper()
	g, err := frontend.Load(model, frontend.Options{Batch: 128, Seq: 2048})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := wafer.Preset(waferName)
	return priceOn(t, g, s, cfg)
}

// TestGPT3175B: the plan is optimal (or within 1%), fits 72 GB per die,
// and its objective is the cost model's figure for the assignment.
func TestGPT3175B(t *testing.T) {
	tab := table(t, "gpt3-175b", "temp48", partition.Config{})
	sol, err := Solve(tab, Config{}, highs.Solver{}, Options{TimeLimit: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if sol.Result.Status != Optimal && sol.Result.MIPGap > 0.01 {
		t.Errorf("status %v gap %g", sol.Result.Status, sol.Result.MIPGap)
	}
	if m := sol.Breakdown.Mem.Total(); m > 72e9 || !sol.Breakdown.Fits {
		t.Errorf("peak memory %.1f GB per die exceeds 72 GB", m/1e9)
	}
	if rel(sol.Result.Objective, sol.Breakdown.Seconds) > 1e-9 {
		t.Errorf("solver objective %v, cost model %v", sol.Result.Objective, sol.Breakdown.Seconds)
	}
}

// TestOutOfMemoryExplained: gpt3-175b does not fit temp32 (87 GB of
// weights, gradients and optimizer states per die at best); the error
// says how much it needs and what dominates.
func TestOutOfMemoryExplained(t *testing.T) {
	tab := table(t, "gpt3-175b", "temp32", partition.Config{})
	_, err := Solve(tab, Config{}, highs.Solver{}, Options{})
	var oom *OutOfMemoryError
	if !errors.As(err, &oom) {
		t.Fatalf("err = %v, want out of memory", err)
	}
	// 174.6e9 parameters × 16 bytes over 32 dies = 87.3 GB, plus activations.
	if oom.Need < 87e9 || oom.Need > 100e9 || oom.Have != 72e9 || math.IsNaN(oom.Need) {
		t.Errorf("needs %.1f GB, has %.1f GB", oom.Need/1e9, oom.Have/1e9)
	}
	for _, want := range []string{"gpt3-175b needs", "on temp32, has 72.0 GB", "optimizer states dominate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}
