package validate

import (
	"encoding/json"
	"testing"
)

// TestDefaultSuite runs the default suite and holds the cost model to the
// accuracy the project promises: median |relative error| ≤ 3% overall
// (TEMP's learned cost model reached ~4.4% against its simulator), exact
// agreement on the closed-form classes, and a p95 bound per class a little
// above what it measures (concurrent 6.5%, contended 9.0%, hotspot 1.7%,
// permutation 20.8%, multicast 17.5% — the contended multicasts of several
// trees at once, whose order the simulator's arbitration decides). These
// are accuracy figures of deterministic runs, not timings.
func TestDefaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the default suite takes a few seconds")
	}
	rep, err := Run(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cases < 60 {
		t.Errorf("%d cases, want at least 60", rep.Cases)
	}
	if len(rep.Classes) != len(Classes) {
		t.Errorf("classes %v, want all of %v", rep.Classes, Classes)
	}
	if rep.Median > 0.03 {
		t.Errorf("median %.2f%%: above 3%%", 100*rep.Median)
	}
	bound := map[string]float64{"concurrent": 0.10, "contended": 0.10, "hotspot": 0.05, "permutation": 0.25, "multicast": 0.25}
	for _, c := range rep.Classes {
		t.Logf("%-12s %2d cases: median %.2f%% p95 %.2f%% max %.2f%%", c.Class, c.Cases, 100*c.Median, 100*c.P95, 100*c.Max)
	}
	// Exact classes: an uncontended transfer and the lockstep patterns on
	// disjoint links are closed forms on both sides.
	for _, c := range rep.Classes {
		if b, ok := bound[c.Class]; !ok && c.Max > 1e-6 {
			t.Errorf("%s: max error %.3g, want exact agreement", c.Class, c.Max)
		} else if ok && c.P95 > b {
			t.Errorf("%s: p95 error %.2f%%, above %.0f%%", c.Class, 100*c.P95, 100*b)
		}
	}
}

func TestQuickSuiteDeterministicJSON(t *testing.T) {
	a, err := Run(Options{Suite: "quick", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(Options{Suite: "quick", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	a.WallSeconds, b.WallSeconds = 0, 0
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Error("two runs of the same suite and seed differ")
	}
	var top map[string]any
	if err := json.Unmarshal(ja, &top); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cases", "median_rel_err", "p95_rel_err", "max_rel_err", "classes"} {
		if _, ok := top[f]; !ok {
			t.Errorf("JSON report lacks %q", f)
		}
	}
	if _, err := Suite("nope", 1); err == nil {
		t.Error("unknown suite accepted")
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5}
	if quantile(xs, 0.5) != 3 || quantile(xs, 1) != 5 || quantile(xs, 0.95) != 4.8 || quantile([]float64{7}, 0.95) != 7 {
		t.Error("quantile")
	}
}
