package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// compilePlan runs the pipeline to a verified plan (compileWith, default
// strategy space).
func compileDefault(t testing.TB, model, waferName string, batch, seq int64) (*plan.Plan, *wafer.Spec) {
	t.Helper()
	return compileWith(t, model, waferName, batch, seq, partition.Config{})
}

// TestBenchmarkModelsVerifyAndAgree: the plans of the six benchmark models
// on temp48 pass Verify; gpt3-175b (a closed step: DP 1, 47 s to
// simulate here) simulates within 8% of the predicted step, its energy
// within 10% and its peak memory within 5%, and fits. The README's table
// has all six, measured with the CLI: the steps with DP buckets take
// minutes each to replay, too long for the suite (open steps are tested
// on gpt2 by TestSteadyStateMatchesFullReplay).
func TestBenchmarkModelsVerifyAndAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles six plans and simulates a whole step")
	}
	simulated := map[string]bool{"gpt3-175b": true}
	for _, model := range []string{"gpt3-6.7b", "gpt3-76b", "gpt3-175b", "llama2-13b", "llama3-70b", "opt-175b"} {
		t.Run(model, func(t *testing.T) {
			pl, s := compileDefault(t, model, "temp48", 128, 2048)
			if err := pl.Verify(s); err != nil {
				t.Fatal(err)
			}
			if !simulated[model] {
				return
			}
			res, err := tempc.Simulate(context.Background(), pl, s, tempc.SimulateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Measured (README): +0.73%; memory −0.01%.
			if math.Abs(*res.Report.RelErr) > 0.08 {
				t.Errorf("simulated %.4f s, predicted %.4f s (%+.1f%%)", res.Report.Simulated, res.Report.Predicted, 100**res.Report.RelErr)
			}
			if e := res.Report.MemoryRelErr; e == nil || math.Abs(*e) > 0.05 || !res.Report.Fits {
				t.Errorf("simulated peak %.2f GB per die on %s (fits %v), predicted %.2f GB", res.Report.SimulatedMemory/1e9, res.Report.PeakMemoryDie,
					res.Report.Fits, res.Report.PredictedMemory/1e9)
			}
			// Energy: the simulator counts what ran and what links carried,
			// and charges static power over its own step time.
			if e := res.Report.EnergyRelErr; e == nil || math.Abs(*e) > 0.10 {
				t.Errorf("simulated energy %.0f J, predicted %.0f J", res.Report.EnergyJoules, res.Report.PredictedEnergy)
			}
			t.Logf("simulated %.4f s, predicted %.4f s (%+.3f%%), %d events; energy %.0f J, predicted %.0f J",
				res.Report.Simulated, res.Report.Predicted, 100**res.Report.RelErr, res.Report.Events, res.Report.EnergyJoules, res.Report.PredictedEnergy)
		})
	}
}

// deleteTask removes task i of a block, renumbering the rest.
func deleteTask(prog *plan.Program, i int) {
	prog.Tasks = append(prog.Tasks[:i], prog.Tasks[i+1:]...)
	for k := range prog.Tasks {
		t := &prog.Tasks[k]
		t.ID = plan.TaskID(k)
		var deps []plan.TaskID
		for _, d := range t.Deps {
			switch {
			case int(d) < i:
				deps = append(deps, d)
			case int(d) > i:
				deps = append(deps, d-1)
			}
		}
		t.Deps = deps
	}
}

// firstBlock is the first block of the plan with a task of kind k.
func firstBlock(p *plan.Plan, k plan.Kind) (*plan.Node, int) {
	var node *plan.Node
	idx := -1
	p.Walk(func(n *plan.Node, _ int) error {
		for i, t := range n.Program.Tasks {
			if node == nil && t.Kind == k {
				node, idx = n, i
			}
		}
		return nil
	})
	return node, idx
}

// TestVerifyRejectsBrokenPlans breaks a valid plan one way per case; the
// error names the die and the task.
func TestVerifyRejectsBrokenPlans(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(t *testing.T, p *plan.Plan, s *wafer.Spec) *wafer.Spec
		want   []string
	}{
		{"dropped send", func(t *testing.T, p *plan.Plan, s *wafer.Spec) *wafer.Spec {
			n, i := firstBlock(p, plan.Send)
			deleteTask(n.Program, i)
			return s
		}, []string{"has no matching send", "plan: die (", ", task "}},
		{"route through a dead link", func(t *testing.T, p *plan.Plan, s *wafer.Spec) *wafer.Spec {
			n, i := firstBlock(p, plan.Send)
			snd := &n.Program.Tasks[i]
			route, err := s.Route(snd.Die, snd.Dst, wafer.XY)
			if err != nil {
				t.Fatal(err)
			}
			snd.Route = route
			bad := *s
			bad.DeadLinks = []wafer.DeadLink{{A: s.Coord(route[0]), B: s.Coord(route[1])}}
			if err := bad.Validate(); err != nil {
				t.Fatal(err)
			}
			return &bad
		}, []string{"uses dead link", "plan: die (", ", task "}},
		{"buffer over capacity", func(t *testing.T, p *plan.Plan, s *wafer.Spec) *wafer.Spec {
			n, i := firstBlock(p, plan.Compute)
			n.Program.Tasks[i].Scratch = int64(p.CapacityBytes)
			return s
		}, []string{"plan: die (", "task ", "above its"}},
		{"duplicated compute block", func(t *testing.T, p *plan.Plan, s *wafer.Spec) *wafer.Spec {
			n, i := firstBlock(p, plan.Compute)
			for j := i + 1; j < len(n.Program.Tasks); j++ {
				if n.Program.Tasks[j].Op == n.Program.Tasks[i].Op {
					n.Program.Tasks[j].Block = n.Program.Tasks[i].Block
					return s
				}
			}
			t.Fatal("no second block")
			return s
		}, []string{"is already computed by task", "plan: die (", ", task "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, s := compileDefault(t, "gpt2", "mesh4x4", 16, 512)
			if err := p.Verify(s); err != nil {
				t.Fatalf("valid plan rejected: %v", err)
			}
			s = tc.mutate(t, p, s)
			err := p.Verify(s)
			if err == nil {
				t.Fatal("broken plan verified")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			t.Log(err)
		})
	}
}

func TestPlanJSON(t *testing.T) {
	p, s := compileDefault(t, "gpt2", "mesh4x4", 16, 512)
	var b bytes.Buffer
	if err := plan.WriteJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(filepath.Join("..", "plan", "plan.schema.json"))
	sch, err := jsonschema.NewCompiler().Compile(abs)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("plan violates its schema: %v", err)
	}
	back, err := plan.ReadJSON("p.json", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(p, back); d != "" {
		t.Errorf("plan changed in a round trip (-want +got):\n%s", d)
	}
	if err := back.Verify(s); err != nil {
		t.Error(err)
	}
	if _, err := plan.ReadJSON("p.json", []byte(`{"schema_version": 2, "steps": [], "bogus": 1}`)); err == nil {
		t.Error("unknown field accepted")
	}
}

// TestTraceStructure checks the Perfetto trace of gpt2's whole step on
// mesh4x4: valid JSON; memory and link counters present;
// on every track slices nest (none overlaps another partially); every flow
// has both its start and its end.
func TestTraceStructure(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a whole plan")
	}
	p, s := compileDefault(t, "gpt2", "mesh4x4", 16, 512)
	res, err := tempc.Simulate(context.Background(), p, s, tempc.SimulateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeTrace(res, &b, p, s, [2]float64{}); err != nil {
		t.Fatal(err)
	}
	var tr struct {
		TraceEvents []struct {
			Ph       string   `json:"ph"`
			Ts       float64  `json:"ts"`
			Dur      *float64 `json:"dur"`
			Pid, Tid int
			ID       string `json:"id"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(b.Bytes(), &tr); err != nil {
		t.Fatalf("trace is not JSON: %v", err)
	}
	type span struct{ a, b float64 }
	tracks := map[[2]int][]span{}
	starts, ends := map[string]int{}, map[string]int{}
	counters := 0
	for _, e := range tr.TraceEvents {
		switch e.Ph {
		case "X":
			tracks[[2]int{e.Pid, e.Tid}] = append(tracks[[2]int{e.Pid, e.Tid}], span{e.Ts, e.Ts + *e.Dur})
		case "s":
			starts[e.ID]++
		case "f":
			ends[e.ID]++
		case "C":
			counters++
		}
	}
	if len(tracks) == 0 || len(starts) == 0 || counters == 0 {
		t.Fatalf("empty trace: %d tracks, %d flows, %d counter points", len(tracks), len(starts), counters)
	}
	const eps = 1e-6 // µs
	for k, sp := range tracks {
		sort.Slice(sp, func(i, j int) bool { return sp[i].a < sp[j].a || sp[i].a == sp[j].a && sp[i].b > sp[j].b })
		var open []span
		for _, x := range sp {
			for len(open) > 0 && open[len(open)-1].b <= x.a+eps {
				open = open[:len(open)-1]
			}
			if len(open) > 0 && x.b > open[len(open)-1].b+eps {
				t.Fatalf("track %v: slice [%g, %g] overlaps [%g, %g] without nesting", k, x.a, x.b, open[len(open)-1].a, open[len(open)-1].b)
			}
			open = append(open, x)
		}
	}
	for id, n := range starts {
		if n != 1 || ends[id] != 1 {
			t.Errorf("flow %s has %d starts and %d ends", id, n, ends[id])
		}
	}
	if len(ends) != len(starts) {
		t.Errorf("%d flow ends for %d starts", len(ends), len(starts))
	}
}
