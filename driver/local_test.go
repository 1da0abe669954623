package driver

import (
	"errors"
	"math"
	"strings"
	"testing"

	"tempc/heuristics"
	"tempc/ilp"
	"tempc/lower"
	"tempc/wafer"
)

// TestMappingsVerifyOnFaultyWafers: on random fault maps of mesh4x4, the
// plan of every mapper passes plan.Verify (so it uses no dead die or
// link), its predicted step is the cost model re-evaluated on the
// assignment and mapping, and the simulator agrees within 10%.
func TestMappingsVerifyOnFaultyWafers(t *testing.T) {
	base, _ := wafer.Preset("mesh4x4")
	for seed := uint64(1); seed <= 3; seed++ {
		s, err := faulty(base, 0.125, 0.2, seed)
		if err != nil {
			t.Fatal(err)
		}
		for _, mapper := range []string{"temp", "gmap", "smap"} {
			o := PlanOptions{Model: "gpt2", Spec: s, Batch: 16, Seq: 512, Mapper: mapper, Seed: seed}
			sv, err := solveAll(o)
			if err != nil {
				var oom *ilp.OutOfMemoryError
				if errors.As(err, &oom) || strings.Contains(err.Error(), "no layout") {
					continue // this fault map does not fit: a legitimate answer
				}
				t.Fatalf("seed %d %s: %v", seed, mapper, err)
			}
			b, err := ilp.Evaluate(sv.table, sv.sol.Assignment)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(b.Seconds-sv.sol.Result.Objective) > 1e-9*b.Seconds {
				t.Errorf("seed %d %s: solver says %g, cost model %g", seed, mapper, sv.sol.Result.Objective, b.Seconds)
			}
			pl, err := lower.Lower(sv.table, sv.sol.Assignment)
			if err != nil {
				t.Fatal(err)
			}
			if err := pl.Verify(s); err != nil {
				t.Fatalf("seed %d %s: %v", seed, mapper, err)
			}
			res, err := simulate(pl, s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.rep.RelErr) > 0.10 {
				t.Errorf("seed %d %s: simulated %g, predicted %g", seed, mapper, res.rep.Simulated, res.rep.Predicted)
			}
		}
	}
}

// TestDualLevelNeverWorse: the dual-level loop's objective never rises
// from one solve to the next, so it never ends worse than it began.
func TestDualLevelNeverWorse(t *testing.T) {
	for _, model := range []string{"gpt2", "llama2-7b"} {
		sv, err := solveAll(PlanOptions{Model: model, Wafer: "temp48", Batch: 128, Seq: 1024, Mapper: "temp", Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		its := sv.iterations
		if len(its) < 2 {
			t.Fatalf("%s: %d iterations; the chosen layout is always mapped once", model, len(its))
		}
		for i := 1; i < len(its); i++ {
			if its[i].Objective > its[i-1].Objective*(1+1e-9) {
				t.Errorf("%s: iteration %d objective %g after %g", model, i, its[i].Objective, its[i-1].Objective)
			}
		}
		if !its[len(its)-1].Mapped {
			t.Errorf("%s: the loop stopped on an unmapped layout: %+v", model, its)
		}
	}
}

// TestFaultSweep runs a small sweep to completion: every point fits or
// says why not.
func TestFaultSweep(t *testing.T) {
	var b strings.Builder
	err := Faults(&b, FaultsOptions{PlanOptions: PlanOptions{Model: "gpt2", Wafer: "mesh4x4", Batch: 16, Seq: 512},
		DieRates: []float64{0, 0.25}, LinkRates: []float64{0, 0.35}, Seeds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "0%         0%          2/2  1.000") {
		t.Errorf("fault-free point is not 1.000:\n%s", b.String())
	}
	if _, err := heuristics.ByName("nope", 1); err == nil {
		t.Error("unknown mapper accepted")
	}
}
