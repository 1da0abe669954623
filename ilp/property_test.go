//go:build cgo

package ilp_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/ir"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"

	// The solving tests cannot sit inside package ilp: highs imports ilp.
	. "github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ilp/highs"
)

// gb scales the random memories to the sizes of real dies.
const gb = 1e9

// randomTable builds a small priced space with random costs and memories:
// 1–4 layouts, 2–4 groups of 2–4 schemes, a few edges, random validity and
// a capacity that some assignments exceed.
func randomTable(rng *rand.Rand) *costmodel.Table {
	spec, _ := wafer.Preset("mesh4x4")
	sp := &partition.Space{Graph: &ir.Graph{Name: "random"}, Spec: spec}
	nl := 1 + rng.IntN(4)
	for i := 0; i < nl; i++ {
		sp.Layouts = append(sp.Layouts, partition.Layout{Shape: wafer.Rect{Rows: 1, Cols: 1 + i}, DP: 1 + rng.IntN(3),
			MicroBatch: 1 << rng.IntN(3), Recompute: partition.Recompute(rng.IntN(3)), ZeRO: rng.IntN(2) == 0})
	}
	all := []partition.Scheme{partition.MegatronCol, partition.MegatronRow, partition.SPCol, partition.SPRow,
		partition.FSDP, partition.RingW, partition.RingX, partition.Heads}
	ng := 2 + rng.IntN(3)
	t := &costmodel.Table{Space: sp, Capacity: 100 * gb}
	for g := 0; g < ng; g++ {
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		schemes := append([]partition.Scheme(nil), all[:2+rng.IntN(3)]...)
		sp.Groups = append(sp.Groups, partition.Group{Key: fmt.Sprintf("g%d", g), Schemes: schemes, Mult: 1})
		var opts []costmodel.Option
		for _, s := range schemes {
			o := costmodel.Option{Scheme: s, Valid: make([]bool, nl), Price: make([]costmodel.Price, nl)}
			for li := 0; li < nl; li++ {
				o.Valid[li] = rng.Float64() < 0.85
				o.Price[li] = costmodel.Price{Seconds: rng.Float64() * 10, Energy: rng.Float64() * 100,
					Mem: costmodel.Mem{Acts: rng.Float64() * 30 * gb, Transient: rng.Float64() * 20 * gb}}
			}
			opts = append(opts, o)
		}
		t.Options = append(t.Options, opts)
	}
	for i := 0; i < rng.IntN(4); i++ {
		e := costmodel.EdgePrice{Edge: partition.Edge{From: rng.IntN(ng), To: rng.IntN(ng), Out: rng.IntN(2) == 0, Mult: 1},
			Cost: make([][partition.NumActs][partition.NumActs]costmodel.Price, nl)}
		for li := 0; li < nl; li++ {
			for a := range e.Cost[li] {
				for b := range e.Cost[li][a] {
					if a != b {
						e.Cost[li][a][b] = costmodel.Price{Seconds: rng.Float64() * 3, Energy: rng.Float64() * 30}
					}
				}
			}
		}
		sp.Edges = append(sp.Edges, e.Edge)
		t.Edges = append(t.Edges, e)
	}
	for li := 0; li < nl; li++ {
		t.Fixed = append(t.Fixed, costmodel.Price{Seconds: rng.Float64() * 5, Energy: rng.Float64() * 50,
			Mem: costmodel.Mem{Weights: rng.Float64() * 30 * gb, OptStates: rng.Float64() * 30 * gb}})
	}
	return t
}

// TestHiGHSMatchesBruteForce: on 60 seeded random instances, for both
// objectives, the HiGHS optimum equals exhaustive enumeration to 1e-9
// relative, the reported objective equals the cost model re-evaluated on
// the returned assignment, and an instance with no fitting assignment is
// reported as out of memory.
func TestHiGHSMatchesBruteForce(t *testing.T) {
	const instances = 60
	feasible := 0
	for seed := uint64(1); seed <= instances; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		tab := randomTable(rng)
		for _, obj := range []Objective{StepTime, Energy} {
			_, want, ok := BruteForce(tab, obj)
			sol, err := Solve(tab, Config{Objective: obj}, highs.Solver{}, Options{TimeLimit: 10 * time.Second, Threads: 1})
			if !ok {
				var oom *OutOfMemoryError
				if !asOOM(err, &oom) {
					t.Fatalf("seed %d: brute force finds nothing, Solve says %v", seed, err)
				}
				if oom.Need <= oom.Have {
					t.Errorf("seed %d: out of memory yet needs %g ≤ %g", seed, oom.Need, oom.Have)
				}
				continue
			}
			if err != nil {
				t.Fatalf("seed %d %v: %v", seed, obj, err)
			}
			feasible++
			got := sol.Breakdown.Value(obj)
			if rel(got, want.Value(obj)) > 1e-9 {
				t.Errorf("seed %d %v: HiGHS %v (assignment %+v), brute force %v", seed, obj, got, sol.Assignment, want.Value(obj))
			}
			if rel(sol.Result.Objective, got) > 1e-9 {
				t.Errorf("seed %d %v: solver objective %v, cost model on its assignment %v", seed, obj, sol.Result.Objective, got)
			}
			if !sol.Breakdown.Fits {
				t.Errorf("seed %d: returned assignment does not fit", seed)
			}
		}
	}
	if feasible < 50 {
		t.Errorf("only %d feasible instance-objective pairs; the generator should give at least 50", feasible)
	}
}

func rel(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

func asOOM(err error, target **OutOfMemoryError) bool {
	e, ok := err.(*OutOfMemoryError)
	if ok {
		*target = e
	}
	return ok
}
