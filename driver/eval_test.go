package driver

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tempc/tempc/wafer"
	"gonum.org/v1/plot/vg"
)

// TestEvalDeterministic runs a small evaluation (gpt2, a tiny Llama and an
// 8-block GPT-2 on one and two wafers, on mesh4x4, every section) twice,
// once case by case and once two cases at a time: report.md and the
// figures are byte-identical, eval.json is once its wall times are set
// aside, and both name every configuration the paper's comparison needs.
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
		// gpt2 on two mesh4x4 wafers takes long to plan: the pipeline
		// section runs a GPT-2 of 8 blocks, 128 wide, at the 2
		// micro-batches its search would choose for TEMP (a quarter of
		// the stage plans of searching 2, 4, 8 and 16).
		pipelineModel: "../testdata/pipeline/tiny-gpt2.json", wafers: []int{1, 2}, pipelineMicroBatches: 2,
	}
	var outs [2]string
	var errs [2]error
	var wg sync.WaitGroup
	for i := range outs {
		outs[i] = t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Eval(context.Background(), EvalOptions{Out: outs[i], Wafer: "mesh4x4", Threads: 1, Jobs: 1 + i, settings: &st})
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
	for _, f := range []string{"report.md", "throughput.svg", "memory.svg", "energy.svg", "ablation.svg", "faults.svg", "costmodel.svg", "degree.svg", "pipeline.svg", "ladder.svg"} {
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
	if err := Eval(context.Background(), EvalOptions{Out: resumed, Wafer: "mesh4x4", Threads: 1, Resume: true, settings: &st}); err != nil {
		t.Fatal(err)
	}
	if read(resumed, "report.md") != read(outs[0], "report.md") {
		t.Error("a resumed run's report.md differs")
	}
	var configs []string
	for _, row := range reps[0].Rows {
		configs = append(configs, row.Section+" "+row.Configuration)
	}
	for _, want := range append(append(append([]string{"main temp", "ablation tspp/gmap", "ablation tatp/gmap", "long temp", "faults temp"},
		prefixed("main ", canonicalConfigs)...), prefixed("long ", []string{"megatron1/gmap", "fsdp/gmap"})...), prefixed("pipeline ", pipelineConfigs)...) {
		if !slices.Contains(configs, want) {
			t.Errorf("no %s row: %v", want, configs)
		}
	}
	// TEMP's pipeline across the two wafers fits, and is simulated as one.
	if row, ok := reps[0].findPipeline("temp", 2); !ok || !row.Fits || row.MicroBatches != 2 || row.Bubble <= 0 || row.PredictedBubble <= 0 ||
		!strings.HasPrefix(row.Layout, "pp2[") {
		t.Errorf("TEMP on two wafers: %+v", row)
	}
	if _, ok := reps[0].GeomeanSpeedup["overall"]; !ok {
		t.Errorf("no overall geo-mean: %v", reps[0].GeomeanSpeedup)
	}
	// The ladder: every step, in order, each a row that was simulated;
	// best-modern is the faster modern baseline, and tempc's steps,
	// searching the depth it chose, are never slower than it predicted.
	var steps []string
	var best, top LadderRow
	for _, lr := range reps[0].Ladder {
		steps = append(steps, lr.Step)
		if !lr.Fits || lr.SimulatedStep <= 0 || lr.PredictedStep <= 0 {
			t.Errorf("ladder step %+v", lr)
		}
		switch lr.Step {
		case "best-modern":
			best = lr
		case "tcme":
			top = lr
		}
	}
	var want []string
	for _, s := range ladderSteps {
		want = append(want, s.step)
	}
	if !slices.Equal(steps, want) {
		t.Errorf("ladder steps %v, want %v", steps, want)
	}
	if top.PredictedStep > best.PredictedStep*(1+1e-3) {
		t.Errorf("temp predicts %.6g s, above the best modern baseline's %.6g s", top.PredictedStep, best.PredictedStep)
	}
	if _, ok := reps[0].GeomeanSpeedup["best-modern"]; !ok {
		t.Errorf("no best-modern geo-mean: %v", reps[0].GeomeanSpeedup)
	}
	report := read(outs[0], "report.md")
	for _, h := range []string{"The ladder", "(a) Throughput", "(b) Memory", "(c) Power", "(d) Ablation", "(e) Stream degree", "(f) Sequence 512",
		"(g) Faults", "(h) Search", "(i) Cost model", "(j) Pipelines across wafers", "findings"} {
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

// pipelineRows are a hand-made pipeline section: TEMP and two baselines
// on one and two wafers, one baseline not fitting two, and a main-section
// row that the single-wafer TEMP point copies.
func pipelineRows() []EvalRow {
	row := func(section, config string, wafers int, tps, pred, bubble float64) EvalRow {
		// 49,399 tokens/s at batch 2, sequence 4 is a step of 8/49399 s.
		step := 8 / tps
		return EvalRow{Section: section, Configuration: config, Model: "m", Batch: 2, Seq: 4, Wafer: "w", Wafers: wafers,
			Fits: true, PredictedStep: step / (1 + pred), SimulatedStep: step, TokensPerSecond: tps, Bubble: bubble}
	}
	tight := row("pipeline", "fsdp/smap", 2, 0, 0, 0)
	tight.Fits, tight.Reason, tight.SimulatedStep, tight.PredictedStep = false, "no split fits | stage 0 needs 80 GB", 0, 0
	return []EvalRow{
		row("main", "temp", 0, 24651, 0.013, 0),
		row("pipeline", "temp", 1, 24651, 0.013, 0),
		row("pipeline", "megatron3/smap", 1, 9048, -0.02, 0),
		row("pipeline", "fsdp/smap", 1, 8000, 0.05, 0),
		row("pipeline", "temp", 2, 49399, 0.021, 0.066),
		row("pipeline", "megatron3/smap", 2, 37927, 0.03, 0.032),
		tight,
	}
}

// TestEvalPipelineSection writes the pipeline section of hand-made rows:
// a cell per configuration and count of wafers with the step's error and
// the bubble, the reasons for what does not fit below the table, TEMP's
// speedups, and a figure without the points that do not fit.
func TestEvalPipelineSection(t *testing.T) {
	r := &EvalReport{Wafer: "w", PipelineEdgeTBps: 9, Rows: pipelineRows()}
	var b strings.Builder
	r.writePipeline(&b)
	got := b.String()
	for _, want := range []string{
		"| wafers | temp | megatron3/smap | fsdp/smap |",
		"| 1 | 24,651 tok/s (+1.3%) | 9,048 tok/s (-2.0%) | 8,000 tok/s (+5.0%) |",
		"| 2 | 49,399 tok/s (+2.1%, bubble 6.6%) | 37,927 tok/s (+3.0%, bubble 3.2%) | does not fit |",
		"- fsdp/smap on 2 wafers: no split fits | stage 0 needs 80 GB",
		"| wafers | megatron3/smap | fsdp/smap |",
		// 24651/9048 = 2.7245, 24651/8000 = 3.0814, 49399/37927 = 1.3025.
		"| 1 | 2.724× | 3.081× |",
		"| 2 | 1.302× | — |",
		"9 TB/s between neighbouring wafers",
		"![pipeline](pipeline.svg)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the pipeline section lacks %q:\n%s", want, got)
		}
	}
	if got, want := r.pipelineText(), "1.30× over megatron3/smap"; got != want {
		t.Errorf("pipelineText() = %q, want %q", got, want)
	}
	// The single-wafer TEMP point is the main section's plan.
	if r.summarise(); r.CostModel.Plans != 5 {
		t.Errorf("the cost model counts %d plans, want 5", r.CostModel.Plans)
	}
	names, pts := r.pipelineSeries()
	if !slices.Equal(names, []string{"temp", "megatron3/smap", "fsdp/smap"}) {
		t.Fatalf("series %v", names)
	}
	for i, want := range []int{2, 2, 1} { // fsdp/smap does not fit two wafers
		if len(pts[i]) != want {
			t.Errorf("%s: %d points, want %d: %v", names[i], len(pts[i]), want, pts[i])
		}
	}
	var empty strings.Builder
	(&EvalReport{}).writePipeline(&empty)
	if !strings.Contains(empty.String(), "Not run.") {
		t.Errorf("an evaluation without pipelines: %q", empty.String())
	}
	for _, r := range []*EvalReport{r, {}} {
		p, err := r.pipelinePlot()
		if err != nil {
			t.Fatal(err)
		}
		wt, err := p.WriterTo(9*vg.Inch, 4.5*vg.Inch, "svg")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wt.WriteTo(io.Discard); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEvalSamePlanOnce: the pipeline section's single wafer is the main
// section's plan when the model is the same; it is planned once, its row
// copied into the section, and counted once by the cost model.
func TestEvalSamePlanOnce(t *testing.T) {
	base, err := wafer.Load("mesh4x4")
	if err != nil {
		t.Fatal(err)
	}
	st := evalSettings{models: []string{"gpt2"}, batch: 16, seq: 256, pipelineModel: "gpt2", wafers: []int{1}}
	cases := evalCases(st, base)
	var main evalCase
	var copies []evalCase
	for _, c := range cases {
		switch {
		case c.section == "main" && c.config == "temp":
			main = c
		case c.section == "pipeline":
			copies = append(copies, c)
		}
	}
	if len(copies) != len(pipelineConfigs) {
		t.Fatalf("%d pipeline cases, want %d", len(copies), len(pipelineConfigs))
	}
	for _, c := range copies {
		if c.key() == main.key() || c.config == "temp" && c.planKey() != main.planKey() {
			t.Fatalf("keys of %+v against %+v", c, main)
		}
	}
	// Every case but the copies is done: runCases has nothing to plan.
	done := map[string]EvalRow{}
	for _, c := range cases {
		if c.section != "pipeline" {
			row := c.row()
			row.Fits, row.PredictedStep, row.SimulatedStep = true, 1, 1.02
			done[c.key()] = row
		}
	}
	rep := &EvalReport{}
	if err := (EvalOptions{Jobs: 1}).runCases(context.Background(), cases, done, rep, filepath.Join(t.TempDir(), "partial.json"), time.Now()); err != nil {
		t.Fatal(err)
	}
	row, ok := rep.findPipeline("temp", 1)
	if !ok || !row.Fits || row.Section != "pipeline" || row.Wafers != 1 || row.caseKey() == done[main.key()].caseKey() {
		t.Fatalf("the single-wafer TEMP point: %+v", row)
	}
	rep.summarise()
	if want := len(cases) - len(copies); rep.CostModel.Plans != want {
		t.Errorf("the cost model counts %d plans, want %d", rep.CostModel.Plans, want)
	}
}
