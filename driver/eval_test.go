package driver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEvalDeterministic runs a small evaluation (gpt2 and a tiny Llama on
// mesh4x4, every section) twice, once case by case and once two cases at
// a time: report.md and the figures are byte-identical, eval.json is once its wall times are set aside, and
// both name every configuration the paper's comparison needs.
func TestEvalDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("plans and simulates some 30 steps")
	}
	st := evalSettings{
		models: []string{"gpt2"}, batch: 16, seq: 256,
		long: []string{"../lower/testdata/tiny-llama.json"}, longBatch: 4, longSeq: 512,
		faultModel: "gpt2", dieRates: []float64{0.1}, linkRates: []float64{0.1},
		search: []string{"gpt2"}, unaliasedLimit: 5 * time.Second,
		degreeModel: "gpt2",
	}
	var outs [2]string
	var errs [2]error
	var wg sync.WaitGroup
	for i := range outs {
		outs[i] = t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Eval(EvalOptions{Out: outs[i], Wafer: "mesh4x4", Threads: 1, Jobs: 1 + i, settings: &st})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	read := func(dir, name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, f := range []string{"report.md", "throughput.svg", "memory.svg", "energy.svg", "ablation.svg", "faults.svg", "costmodel.svg", "degree.svg"} {
		if read(outs[0], f) != read(outs[1], f) {
			t.Errorf("%s differs between two runs", f)
		}
	}
	var reps [2]EvalReport
	for i := range reps {
		if err := json.Unmarshal([]byte(read(outs[i], "eval.json")), &reps[i]); err != nil {
			t.Fatal(err)
		}
		reps[i].WallSeconds = 0
		for j := range reps[i].Rows {
			reps[i].Rows[j].PlanWall, reps[i].Rows[j].SimulateWall = 0, 0
		}
		for j := range reps[i].Search {
			s := &reps[i].Search[j]
			// The unaliased solve stops at its time limit: where it got
			// depends on the machine's speed, like a wall time.
			s.AliasedSeconds, s.UnaliasedSeconds, s.EnumerationWall = 0, 0, 0
			s.UnaliasedStatus, s.UnaliasedGap = "", 0
		}
	}
	a, _ := json.Marshal(reps[0])
	b, _ := json.Marshal(reps[1])
	if string(a) != string(b) {
		for j := range reps[0].Rows {
			x, _ := json.Marshal(reps[0].Rows[j])
			y, _ := json.Marshal(reps[1].Rows[j])
			if string(x) != string(y) {
				t.Errorf("eval.json row %d differs between two runs:\n%s\n%s", j, x, y)
			}
		}
		x, _ := json.Marshal(reps[0].Search)
		y, _ := json.Marshal(reps[1].Search)
		if string(x) != string(y) {
			t.Errorf("eval.json search differs between two runs:\n%s\n%s", x, y)
		}
	}
	// An interrupted run resumed from its partial rows plans nothing again
	// and writes the same report.
	resumed := t.TempDir()
	rows, err := json.Marshal(reps[0].Rows)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(resumed, "eval.partial.json"), rows, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Eval(EvalOptions{Out: resumed, Wafer: "mesh4x4", Threads: 1, Resume: true, settings: &st}); err != nil {
		t.Fatal(err)
	}
	if read(resumed, "report.md") != read(outs[0], "report.md") {
		t.Error("a resumed run's report.md differs")
	}
	var configs []string
	for _, row := range reps[0].Rows {
		configs = append(configs, row.Section+" "+row.Configuration)
	}
	for _, want := range append(append([]string{"main temp", "ablation tspp/gmap", "ablation tatp/gmap", "long temp", "faults temp"},
		prefixed("main ", canonicalConfigs)...), prefixed("long ", []string{"megatron1/gmap", "fsdp/gmap"})...) {
		if !slices.Contains(configs, want) {
			t.Errorf("no %s row: %v", want, configs)
		}
	}
	if _, ok := reps[0].GeomeanSpeedup["overall"]; !ok {
		t.Errorf("no overall geo-mean: %v", reps[0].GeomeanSpeedup)
	}
	report := read(outs[0], "report.md")
	for _, h := range []string{"(a) Throughput", "(b) Memory", "(c) Power", "(d) Ablation", "(e) Stream degree", "(f) Sequence 512",
		"(g) Faults", "(h) Search", "(i) Cost model", "findings"} {
		if !strings.Contains(report, h) {
			t.Errorf("report.md lacks %q", h)
		}
	}
}

func prefixed(p string, xs []string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, p+x)
	}
	return out
}
