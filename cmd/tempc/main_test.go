package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tempc/tempc/chakra"
	"github.com/tempc/tempc/chakra/etpb"
	"github.com/tempc/tempc/partition"
)

func TestGraphCommand(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring of stdout
		stderr string // substring of stderr
	}{
		{"text", []string{"graph", "--model", "gpt2", "--batch", "2", "--seq", "64"}, 0, "parameters       124439808", ""},
		{"ir", []string{"graph", "--model", "gpt2", "--batch", "1", "--seq", "8", "--format", "ir"}, 0, "graph gpt2 batch=1 seq=8 layers=12\n", ""},
		{"dot", []string{"graph", "--model", "gpt2", "--batch", "1", "--seq", "8", "--format", "dot"}, 0, "digraph gpt2 {", ""},
		{"graph-json", []string{"graph", "--model", "gpt2", "--batch", "1", "--seq", "8", "--format", "graph-json"}, 0, `"schema_version": 1`, ""},
		{"no model", []string{"graph"}, 2, "", "--model is required"},
		{"bad flag", []string{"graph", "--modle", "gpt2"}, 2, "", "flag provided but not defined"},
		{"stray argument", []string{"graph", "--model", "gpt2", "extra"}, 2, "", `unexpected argument "extra"`},
		{"bad format", []string{"graph", "--model", "gpt2", "--format", "yaml"}, 2, "", `--format "yaml": want text`},
		{"unknown model", []string{"graph", "--model", "gpt5"}, 1, "", "not a preset"},
		{"bad config", []string{"graph", "--model", "../../frontend/testdata/hf/negative.json"}, 1, "", "negative.json:5:3: n_layer"},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"help", []string{"help"}, 0, "", "validate"},
		{"wafer", []string{"wafer", "--wafer", "temp48"}, 0, "6×8 mesh, 48 healthy dies", ""},
		{"wafer file", []string{"wafer", "--wafer", "../../wafer/testdata/temp48-faults.json"}, 0, ". . . X . . . .", ""},
		{"wafer json", []string{"wafer", "--wafer", "mesh4x4", "--json"}, 0, `"bandwidth_tbps": 4`, ""},
		{"wafer unknown", []string{"wafer", "--wafer", "temp99"}, 1, "", "not a preset"},
		{"wafer random faults", []string{"wafer", "--wafer", "temp48", "--die-rate", "0.25", "--link-rate", "0.1", "--seed", "3"}, 0, "36 healthy dies, 8 dead links", ""},
		{"wafer cluster", []string{"wafer", "--wafer", "temp48", "--wafers", "6"}, 0, "cluster   6 wafers in a row, 9.00 TB/s between neighbours per direction (6 links of 1.50 TB/s)", ""},
		{"wafer cluster json", []string{"wafer", "--wafer", "temp48", "--wafers", "2", "--json"}, 0, `"edge_tbps": 9`, ""},
		{"wafer bad wafers", []string{"wafer", "--wafers", "0"}, 2, "", "--wafers 0: want 1 to 128"},
		{"solve on a cluster", []string{"solve", "--model", "gpt2", "--wafer", "../../wafer/testdata/temp48-x2.json"}, 1, "", "temp48-x2 describes a cluster of 2 wafers; this plans one wafer at a time: plan pipeline stages across its wafers with tempc pipeline"},
		{"pipeline", []string{"pipeline", "--model", "../../testdata/pipeline/tiny-gpt2.json", "--wafer", "mesh4x4", "--wafers", "2", "--batch", "16", "--seq", "256", "--mapper", "smap"}, 0, "stage 1    blocks 4–7", ""},
		{"pipeline json", []string{"pipeline", "--model", "../../testdata/pipeline/tiny-gpt2.json", "--wafer", "mesh4x4", "--wafers", "2", "--batch", "16", "--seq", "256", "--mapper", "smap", "--schedule", "gpipe", "--json"}, 0, `"schedule": "gpipe"`, ""},
		{"pipeline bad schedule", []string{"pipeline", "--model", "gpt2", "--schedule", "zb"}, 2, "", `--schedule "zb": want 1f1b, gpipe`},
		{"pipeline plan to stdout and simulate", []string{"pipeline", "--model", "gpt2", "--wafers", "2", "-o", "-", "--simulate"}, 2, "", "-o -: the plan takes standard output"},
		{"pipeline time limit bounds the search", []string{"pipeline", "--help"}, 0, "", "bound on the whole pipeline search: loading the model and every stage's solves (each at most 1m0s) (default 30m0s)"},
		{"pipeline no wafers", []string{"pipeline", "--model", "gpt2", "--wafer", "mesh4x4"}, 1, "", "no pipeline depth: give the stages (--wafers)"},
		{"wafer bad rate", []string{"wafer", "--die-rate", "NaN"}, 2, "", "--die-rate NaN: want a fraction in [0, 1]"},
		{"solve", []string{"solve", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512"}, 0, "strategies (per step", ""},
		{"solve json", []string{"solve", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--json", "--objective", "energy"}, 0, `"objective_kind": "energy"`, ""},
		{"solve oom", []string{"solve", "--model", "gpt3-175b", "--wafer", "temp32"}, 1, "", "optimizer states dominate"},
		{"solve bad objective", []string{"solve", "--model", "gpt2", "--objective", "speed"}, 2, "", "want time or energy"},
		{"solve bad family", []string{"solve", "--model", "gpt2", "--strategy", "zero3"}, 2, "", `--strategy "zero3": want auto`},
		{"solve bad recompute", []string{"solve", "--model", "gpt2", "--recompute", "some"}, 2, "", "not none, selective or full"},
		{"gap", []string{"gap", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--micro-batches", "1,2", "--strategy", "megatron3"}, 0, "the ILP optimum equals it", ""},
		{"compile", []string{"compile", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512"}, 0, "plan       ", ""},
		{"compile stdout", []string{"compile", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--pipeline-stages", "none", "-o", "-"}, 0, `{"schema_version":3`, ""},
		{"compile records", []string{"compile", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--pipeline-stages", "none", "-o", "-"}, 0, `"solver":{"name":"HiGHS","status":"optimal","objective":"time"`, ""},
		{"schema plan", []string{"schema", "plan"}, 0, `"$id": "tempc/plan.schema.json"`, ""},
		{"schema wafer", []string{"schema", "wafer"}, 0, `"$id": "tempc/wafer.schema.json"`, ""},
		{"schema graph", []string{"schema", "graph"}, 0, `"$id": "tempc/graph.schema.json"`, ""},
		{"schema unknown", []string{"schema", "yaml"}, 2, "", "want one format: graph, plan, wafer"},
		{"schema none", []string{"schema"}, 2, "", "want one format"},
		{"simulate no file", []string{"simulate"}, 2, "", "want exactly one plan file"},
		{"simulate missing file", []string{"simulate", "/nonexistent/plan.json"}, 1, "", "no such file"},
		{"solve smap", []string{"solve", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--mapper", "smap"}, 0, "local      mapper smap", ""},
		{"solve bad mapper", []string{"solve", "--model", "gpt2", "--mapper", "tsp"}, 2, "", `--mapper "tsp": want temp`},
		{"bench", []string{"bench", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512"}, 0, "smap", ""},
		{"faults bad rate", []string{"faults", "--model", "gpt2", "--die-rate", "1.5"}, 2, "", "not a fraction"},
		{"validate quick", []string{"validate", "--suite", "quick"}, 0, "overall", ""},
		{"validate json", []string{"validate", "--suite", "quick", "--json"}, 0, `"p95_rel_err"`, ""},
		{"validate bad suite", []string{"validate", "--suite", "huge"}, 2, "", `--suite "huge": want default`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%.500s", tc.stdout, out.String())
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errb.String())
			}
		})
	}
}

// TestGraphJSONFields pins the documented JSON fields of `tempc graph
// --format json` (README).
func TestGraphJSONFields(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"graph", "--model", "gpt3-175b", "--format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model", "batch", "seq", "layers", "tokens_per_step", "parameters", "flops_per_step",
		"flops_by_phase", "flops_per_token", "ops", "ops_by_kind", "ops_by_phase", "tensors", "weight_bytes",
		"gradient_bytes", "optimizer_state_bytes", "activation_bytes"} {
		if _, ok := got[f]; !ok {
			t.Errorf("JSON lacks field %q", f)
		}
	}
	if p := got["parameters"].(float64); p != 174_604_259_328 {
		t.Errorf("parameters %v", p)
	}
	if b := got["batch"].(float64); b != 128 {
		t.Errorf("default batch %v, want 128", b)
	}
}

// TestSolveJSONFields pins the documented top-level fields of `tempc solve
// --json` (README).
func TestSolveJSONFields(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"solve", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"status", "objective", "dual_bound", "mip_gap", "solve_seconds", "step_seconds",
		"tokens_per_second", "peak_memory_bytes_per_die", "layout", "strategies", "mfu", "energy_joules_per_step", "energy_breakdown_joules", "average_power_watts", "tokens_per_joule",
		"memory_bytes_per_die", "model_rows", "model_cols", "model_nonzeros", "formulate_seconds"} {
		if _, ok := got[f]; !ok {
			t.Errorf("JSON lacks field %q", f)
		}
	}
	if got["status"] != "optimal" {
		t.Errorf("status %v", got["status"])
	}
}

// TestCompileThenSimulate writes a plan and a trace, replays the plan, and
// checks the documented JSON fields of `tempc simulate --json`.
func TestCompileThenSimulate(t *testing.T) {
	dir := t.TempDir()
	planFile, traceFile := dir+"/plan.json", dir+"/trace.json"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"compile", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--pipeline-stages", "none",
		"-o", planFile, "--trace", traceFile}, &out, &errb); code != 0 {
		t.Fatalf("compile: exit %d: %s", code, errb.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"simulate", planFile, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, errb.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"simulated_step_seconds", "predicted_step_seconds", "max_link_bytes", "max_link_utilization",
		"exposed_comm_seconds", "events", "method", "top_links", "die_idle", "blocks", "energy_breakdown_joules",
		"energy_joules_per_step", "predicted_energy_joules", "energy_rel_err", "average_power_watts", "tokens_per_joule"} {
		if _, ok := got[f]; !ok {
			t.Errorf("JSON lacks field %q", f)
		}
	}
	sim, pred := got["simulated_step_seconds"].(float64), got["predicted_step_seconds"].(float64)
	if sim <= 0 || sim > 1.1*pred || sim < 0.9*pred {
		t.Errorf("simulated %g s, predicted %g s", sim, pred)
	}
	out.Reset()
	if code := run(context.Background(), []string{"simulate", planFile}, &out, &errb); code != 0 || !strings.Contains(out.String(), "compute idle per die") {
		t.Errorf("text report: exit %d\n%s", code, out.String())
	}
}

// TestPipesAndJSON: `compile -o -` writes the plan on stdout and
// `simulate -` reads it from stdin, as a pipe would; `compile --json`
// prints the solve report with the lowered plan's figures.
func TestPipesAndJSON(t *testing.T) {
	args := []string{"--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "256"}
	var planJSON, errb bytes.Buffer
	if code := run(context.Background(), append([]string{"compile", "-o", "-"}, args...), &planJSON, &errb); code != 0 {
		t.Fatalf("compile -o -: exit %d: %s", code, errb.String())
	}
	old := stdin
	defer func() { stdin = old }()
	stdin = bytes.NewReader(planJSON.Bytes())
	var out bytes.Buffer
	if code := run(context.Background(), []string{"simulate", "-", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("simulate -: exit %d: %s", code, errb.String())
	}
	var sim struct {
		Simulated float64 `json:"simulated_step_seconds"`
	}
	if err := json.Unmarshal(out.Bytes(), &sim); err != nil || sim.Simulated <= 0 {
		t.Errorf("simulate - printed %q (%v)", out.String(), err)
	}
	out.Reset()
	if code := run(context.Background(), append([]string{"compile", "--json"}, args...), &out, &errb); code != 0 {
		t.Fatalf("compile --json: exit %d: %s", code, errb.String())
	}
	var rep struct {
		Status string `json:"status"`
		Plan   struct {
			Stored   int64 `json:"tasks_stored"`
			Expanded int64 `json:"tasks_expanded"`
			DMA      int64 `json:"dma_descriptors_per_step"`
		} `json:"plan"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != "optimal" || rep.Plan.Stored <= 0 || rep.Plan.Expanded < rep.Plan.Stored || rep.Plan.DMA <= 0 {
		t.Errorf("compile --json: %+v", rep)
	}
}

// TestVersionAndMessages: --version prints a version and exits 0; -h
// exits 0; an error names its command once, without the package names
// that lead the error's text.
func TestVersionAndMessages(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "tempc ") {
		t.Errorf("--version: exit %d, %q", code, out.String())
	}
	if code := run(context.Background(), []string{"simulate", "-h"}, &out, &errb); code != 0 {
		t.Errorf("simulate -h: exit %d", code)
	}
	errb.Reset()
	if code := run(context.Background(), []string{"wafer", "--wafer", "no-such-wafer"}, &out, &errb); code != 1 ||
		!strings.HasPrefix(errb.String(), `tempc wafer: unknown wafer "no-such-wafer"`) {
		t.Errorf("exit %d, %q", code, errb.String())
	}
}

// TestCompileChakra: --chakra writes one trace per die of the mesh, which
// read back, with as many sends as receives, and the text report says so.
func TestCompileChakra(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"compile", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--pipeline-stages", "none", "--chakra", dir}
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "chakra     16 traces") {
		t.Errorf("report lacks the traces:\n%s", out.String())
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.et"))
	if err != nil || len(files) != 16 {
		t.Fatalf("%d trace files (%v), want 16", len(files), err)
	}
	sends, recvs := 0, 0
	for _, f := range files {
		_, nodes, err := chakra.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			switch n.GetType() {
			case etpb.NodeType_COMM_SEND_NODE:
				sends++
			case etpb.NodeType_COMM_RECV_NODE:
				recvs++
			}
		}
	}
	if sends == 0 || sends != recvs {
		t.Errorf("%d sends, %d receives", sends, recvs)
	}
}

// TestPipelinePlanFile: `tempc pipeline -o` writes a pipeline plan over the
// cluster, which `tempc simulate` reads back, checks against its stage
// graphs and replays, reporting its stages, bubble and inter-wafer links;
// `--simulate` reports the same replay.
func TestPipelinePlanFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pp.json")
	base := []string{"pipeline", "--model", "../../testdata/pipeline/tiny-gpt2.json", "--wafer", "mesh4x4", "--wafers", "2",
		"--batch", "16", "--seq", "256", "--mapper", "smap", "--pipeline-micro-batches", "8"}
	var out, errb bytes.Buffer
	if code := run(context.Background(), append(base, "-o", file, "--simulate"), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"plan       ", "simulated  ", "sim stage 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("pipeline report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(context.Background(), []string{"simulate", file}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"tiny-gpt2 on mesh4x4×2", "pipeline    1f1b, 8 micro-batches", "stage 1   wafer 1, blocks 4–7", "8 links between wafers"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("simulate report lacks %q:\n%s", want, out.String())
		}
	}
	if code := run(context.Background(), []string{"simulate", "--wafer", "mesh4x4", file}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "a pipeline plan runs on a wafer file with a cluster object") {
		t.Errorf("exit %d, stderr %q: a single wafer must not override a pipeline plan's cluster", code, errb.String())
	}
}

// TestBaselineKeepsItsRecomputation: --baseline uses its own recomputation
// modes (partition's: megatron1 none or full) unless --recompute is
// given; the flag's default once gave Megatron-1 selective recomputation
// it never had (gpt3-175b 48.79 s against the evaluation's 58.10 s).
func TestBaselineKeepsItsRecomputation(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []partition.Recompute // nil: the baseline's own
	}{
		{[]string{"--model", "gpt2", "--baseline", "megatron1"}, nil},
		{[]string{"--model", "gpt2", "--baseline", "megatron1", "--recompute", "selective"}, []partition.Recompute{partition.Selective}},
		{[]string{"--model", "gpt2"}, []partition.Recompute{partition.NoRecompute, partition.Selective, partition.Full}},
	} {
		fs := newFlags("solve", io.Discard)
		var pf planFlags
		pf.register(fs)
		if err := parse(fs, tc.args); err != nil {
			t.Fatal(err)
		}
		if err := pf.finish(fs, io.Discard); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(pf.o.Space.Recompute, tc.want) {
			t.Errorf("%v: recompute %v, want %v", tc.args, pf.o.Space.Recompute, tc.want)
		}
	}
}
