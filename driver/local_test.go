package driver

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/heuristics"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// TestMappingsVerifyOnFaultyWafers: on random fault maps of mesh4x4, the
// plan of every mapper passes plan.Verify (so it uses no dead die or
// link), its predicted step is the cost model re-evaluated on the
// assignment and mapping, and the simulator agrees within 5% (measured:
// 0.5% at most).
func TestMappingsVerifyOnFaultyWafers(t *testing.T) {
	base, _ := wafer.Preset("mesh4x4")
	for seed := uint64(1); seed <= 3; seed++ {
		s, err := wafer.RandomFaults(base, 0.125, 0.2, seed)
		if err != nil {
			t.Fatal(err)
		}
		for _, mapper := range []string{"temp", "gmap", "smap"} {
			o := tempc.Options{Model: "gpt2", Spec: s, Batch: 16, Seq: 512, Mapper: mapper, Seed: seed}
			sv, err := tempc.Solve(context.Background(), o)
			if err != nil {
				var oom *ilp.OutOfMemoryError
				if errors.As(err, &oom) || strings.Contains(err.Error(), "no layout") {
					continue // this fault map does not fit: a legitimate answer
				}
				t.Fatalf("seed %d %s: %v", seed, mapper, err)
			}
			b, err := ilp.Evaluate(sv.Table, sv.Solution.Assignment)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(b.Seconds-sv.Solution.Result.Objective) > 1e-9*b.Seconds {
				t.Errorf("seed %d %s: solver says %g, cost model %g", seed, mapper, sv.Solution.Result.Objective, b.Seconds)
			}
			pl, err := lower.Lower(sv.Table, sv.Solution.Assignment)
			if err != nil {
				t.Fatal(err)
			}
			if err := pl.Verify(s); err != nil {
				t.Fatalf("seed %d %s: %v", seed, mapper, err)
			}
			res, err := tempc.Simulate(context.Background(), pl, s, tempc.SimulateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(*res.Report.RelErr) > 0.05 {
				t.Errorf("seed %d %s: simulated %g, predicted %g", seed, mapper, res.Report.Simulated, res.Report.Predicted)
			}
		}
	}
}

// TestDualLevelNeverWorse: the dual-level loop's kept objective never
// rises from one solve to the next (a solve that would raise it is
// declined, and is the last), so it never ends worse than it began.
func TestDualLevelNeverWorse(t *testing.T) {
	for _, model := range []string{"gpt2", "llama2-7b"} {
		sv, err := tempc.Solve(context.Background(), tempc.Options{Model: model, Wafer: "temp48", Batch: 128, Seq: 1024, Mapper: "temp", Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		its := sv.Iterations
		if len(its) < 2 {
			t.Fatalf("%s: %d iterations; the chosen layout is always mapped once", model, len(its))
		}
		kept := its[0].Objective
		for i := 1; i < len(its); i++ {
			switch {
			case its[i].Declined && (i != len(its)-1 || its[i].Objective <= kept):
				t.Errorf("%s: iteration %d declined at %g after %g, or not last", model, i, its[i].Objective, kept)
			case !its[i].Declined && its[i].Objective > kept*(1+1e-9):
				t.Errorf("%s: iteration %d objective %g after %g", model, i, its[i].Objective, kept)
			case !its[i].Declined:
				kept = its[i].Objective
			}
		}
		if sv.Solution.Result.Objective != kept {
			t.Errorf("%s: returned objective %g, last kept %g", model, sv.Solution.Result.Objective, kept)
		}
		if last := its[len(its)-1]; !last.Mapped && !last.Declined {
			t.Errorf("%s: the loop stopped on an unmapped layout: %+v", model, its)
		}
	}
}

// TestFaultSweep runs a small sweep to completion: every point fits or
// says why not; --svg draws each of its fault maps.
func TestFaultSweep(t *testing.T) {
	var b strings.Builder
	dir := t.TempDir()
	err := Faults(context.Background(), &b, FaultsOptions{Options: tempc.Options{Model: "gpt2", Wafer: "mesh4x4", Batch: 16, Seq: 512},
		DieRates: []float64{0, 0.25}, LinkRates: []float64{0, 0.35}, Seeds: 2, SVGDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	pics, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
	if len(pics) != 8 { // 2 rates × 2 rates × 2 seeds
		t.Errorf("%d fault-map pictures, want 8: %v", len(pics), pics)
	}
	pic, err := os.ReadFile(filepath.Join(dir, "mesh4x4-d0.25-l0-s1.svg"))
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, string(pic))
	if n := strings.Count(string(pic), ": dead</title>"); n != 4 {
		t.Errorf("%d dead dies drawn at a 25%% die rate on 16 dies, want 4", n)
	}
	if !strings.Contains(b.String(), "0%         0%          2/2  1.000") {
		t.Errorf("fault-free point is not 1.000:\n%s", b.String())
	}
	if _, err := heuristics.ByName("nope", 1); err == nil {
		t.Error("unknown mapper accepted")
	}
}

// TestContendingGroupsPricedJointly: when one group's ring closes over a
// route through another group's dies, the two groups contend for links;
// the cost model prices their patterns together, so the plan's predicted
// step stays near the simulator's, and the contention is real (the
// simulated step is slower than on the uncrossed mapping), which pricing
// each group alone, as if it had its links to itself, would miss.
func TestContendingGroupsPricedJointly(t *testing.T) {
	s, sp, li := meshLayout(t, "gpt2", 16, 512, 4, "four 1×4 rows", func(l partition.Layout) bool {
		return l.DP == 4 && l.Shape.Rows == 1 && l.Shape.Cols == 4
	})
	// Links, not HBM, must bound the collectives for their contention to
	// show: on temp48's dies (1 TB/s of HBM against 4 TB/s links) a ring
	// through HBM waits for the port at both ends whatever the links do.
	s.Die.HBMBandwidth = 100e12
	m, err := costmodel.New(s, costmodel.Params{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(cross bool) (predicted, simulated float64) {
		maps := make([]partition.Mapping, len(sp.Layouts))
		for i := range sp.Layouts {
			maps[i] = partition.Canonical(s, &sp.Layouts[i])
		}
		mp := &maps[li]
		copy(mp.Rings, mp.Chains) // rows have no cycle: rings close over a wrap-around
		if cross {
			// Row 0's wrap-around runs back along row 1, beside row 1's own.
			at := func(r, c int) wafer.DieID { return s.ID(wafer.Coord{R: r, C: c}) }
			mp.Routes = map[[2]wafer.DieID]wafer.Route{
				{at(0, 3), at(0, 0)}: {at(0, 3), at(1, 3), at(1, 2), at(1, 1), at(1, 0), at(0, 0)},
			}
		}
		tab, err := m.PriceMapped(sp, maps)
		if err != nil {
			t.Fatal(err)
		}
		a := ilp.Assignment{Layout: li, Options: make([]int, len(sp.Groups))} // each group's first scheme
		_, res := lowerAndSimulate(t, tab, a, s)
		return res.Report.Predicted, res.Report.Simulated
	}
	p0, s0 := run(false)
	p1, s1 := run(true)
	t.Logf("uncrossed: predicted %.6g simulated %.6g; crossed: predicted %.6g simulated %.6g", p0, s0, p1, s1)
	if s1 <= s0*1.01 {
		t.Errorf("crossed rings simulated %g, uncrossed %g: expected contention", s1, s0)
	}
	if p1 <= p0*1.01 {
		t.Errorf("crossed rings predicted %g, uncrossed %g: the model misses the contention", p1, p0)
	}
	// Measured: the simulated step is 13% (uncrossed) and 17% (crossed)
	// below the predicted one. About half of it is the per-die flow the
	// model does not price: a die starts its next stage, and its next
	// layer, once its own data is in, while the model sums stages as if
	// each ended on every die at once (with a barrier after every block,
	// the simulator comes within 6% of the prediction).
	for _, c := range [][2]float64{{p0, s0}, {p1, s1}} {
		if math.Abs(c[0]-c[1]) > 0.25*c[1] {
			t.Errorf("predicted %g, simulated %g", c[0], c[1])
		}
	}
}

// TestGQAMulticast: with grouped-query attention split by heads over more
// dies than KV heads (llama3-8b: 8 KV heads on 16 dies), the plan
// multicasts K and V slices before the attention and reduces their
// gradients after it; the priced attention includes that traffic, and the
// simulated step agrees with the prediction.
func TestGQAMulticast(t *testing.T) {
	s, sp, li := meshLayout(t, "llama3-8b", 8, 512, 1, "16-die layout", func(l partition.Layout) bool {
		return l.DP == 1 && l.P() == 16
	})
	m, _ := costmodel.New(s, costmodel.Params{})
	tab, err := m.Price(sp)
	if err != nil {
		t.Fatal(err)
	}
	a := ilp.Assignment{Layout: li, Options: make([]int, len(sp.Groups))}
	found := false
	for gi := range sp.Groups {
		for oi, o := range tab.Options[gi] {
			if o.Scheme == partition.Heads {
				a.Options[gi], found = oi, true
				if o.Price[li].Comm <= 0 {
					t.Errorf("%s: heads on 16 dies priced without communication", sp.Groups[gi].Key)
				}
			}
		}
	}
	if !found {
		t.Fatal("no attention group with a heads scheme")
	}
	pl, res := lowerAndSimulate(t, tab, a, s)
	kinds := map[string]int{}
	pl.Walk(func(n *plan.Node, _ int) error {
		for _, tk := range n.Program.Tasks {
			kinds[tk.Name]++
		}
		return nil
	})
	if kinds["multicast"] == 0 || kinds["reduce"] == 0 {
		t.Errorf("plan has %d multicast and %d reduce transfers, want both", kinds["multicast"], kinds["reduce"])
	}
	if math.Abs(*res.Report.RelErr) > 0.02 { // measured +1.0%
		t.Errorf("simulated %g, predicted %g", res.Report.Simulated, res.Report.Predicted)
	}
}

// meshLayout builds model's strategy space on mesh4x4 (micro-batches of mb
// sequences, no recomputation, no ZeRO) and finds its last layout that
// want accepts, named what in the failure.
func meshLayout(t *testing.T, model string, batch, seq int64, mb int, what string, want func(partition.Layout) bool) (*wafer.Spec, *partition.Space, int) {
	t.Helper()
	s, _ := wafer.Preset("mesh4x4")
	g, err := frontend.Load(model, frontend.Options{Batch: batch, Seq: seq})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := partition.Build(g, s, partition.Config{MicroBatches: []int{mb},
		Recompute: []partition.Recompute{partition.NoRecompute}, ZeRO: []bool{false}})
	if err != nil {
		t.Fatal(err)
	}
	li := -1
	for i, l := range sp.Layouts {
		if want(l) {
			li = i
		}
	}
	if li < 0 {
		t.Fatalf("%s: no %s", model, what)
	}
	return s, sp, li
}

// lowerAndSimulate lowers assignment a of tab, verifies the plan on s and
// simulates it.
func lowerAndSimulate(t *testing.T, tab *costmodel.Table, a ilp.Assignment, s *wafer.Spec) (*plan.Plan, *tempc.Simulation) {
	t.Helper()
	pl, err := lower.Lower(tab, a)
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.Verify(s); err != nil {
		t.Fatal(err)
	}
	res, err := tempc.Simulate(context.Background(), pl, s, tempc.SimulateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pl, res
}

// TestBenchTempNeverPricedWorse: `tempc bench` maps the plan's layout with
// every mapper; temp's judge weighs smap's and gmap's mappings too, so its
// plan is never priced slower than theirs, and every plan simulates within
// 5% of its prediction.
func TestBenchTempNeverPricedWorse(t *testing.T) {
	base, _ := wafer.Preset("mesh4x4")
	s, err := wafer.RandomFaults(base, 0.125, 0.1, 2)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Bench(context.Background(), &b, BenchOptions{Options: tempc.Options{Model: "gpt2", Spec: s, Batch: 16, Seq: 512, Seed: 1}, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var rep BenchReport
	if err := json.Unmarshal([]byte(b.String()), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Mappers) != 3 || rep.Mappers[0].Mapper != "temp" {
		t.Fatalf("mappers %+v", rep.Mappers)
	}
	for _, m := range rep.Mappers {
		if rep.Mappers[0].Predicted > m.Predicted*(1+1e-12) {
			t.Errorf("temp priced %g, %s %g", rep.Mappers[0].Predicted, m.Mapper, m.Predicted)
		}
		if math.Abs(m.Simulated-m.Predicted) > 0.05*m.Simulated {
			t.Errorf("%s: simulated %g, predicted %g", m.Mapper, m.Simulated, m.Predicted)
		}
	}
}
