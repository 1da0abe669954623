package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBadFlags: values that used to be silently replaced by a default or
// ignored are usage errors (exit 2) naming the flag.
func TestBadFlags(t *testing.T) {
	solve := []string{"solve", "--model", "gpt2", "--wafer", "mesh4x4"}
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"batch zero", append(solve, "--batch", "0"), "--batch 0: want a positive whole number"},
		{"seq zero", append(solve, "--seq", "0"), "--seq 0: want a positive whole number"},
		{"batch negative", append(solve, "--batch", "-2"), "--batch -2"},
		{"graph batch zero", []string{"graph", "--model", "gpt2", "--batch", "0"}, "--batch 0"},
		{"graph seq negative", []string{"graph", "--model", "gpt2", "--seq", "-8"}, "--seq -8"},
		{"time limit zero", append(solve, "--time-limit", "0s"), "--time-limit 0s: want a positive duration"},
		{"time limit negative", append(solve, "--time-limit", "-5s"), "--time-limit -5s"},
		{"iterations zero", append(solve, "--iterations", "0"), "--iterations 0"},
		{"iterations negative", append(solve, "--iterations", "-3"), "--iterations -3"},
		{"gap NaN", append(solve, "--gap", "NaN"), "--gap NaN: want a relative gap in (0, 1)"},
		{"pipeline stages word", append(solve, "--pipeline-stages", "many"), `--pipeline-stages "many": want auto, any, guided, none or a depth of at least 2`},
		{"pipeline stages one", append(solve, "--pipeline-stages", "1"), `--pipeline-stages "1"`},
		{"pipeline stages energy", append(solve, "--pipeline-stages", "any", "--objective", "energy"), "planned for --objective time"},
		{"pipeline time limit", append(solve, "--pipeline-time-limit", "0s"), "--pipeline-time-limit 0s: want a positive duration"},
		{"gap Inf", append(solve, "--gap", "Inf"), "--gap +Inf"},
		{"gap one", append(solve, "--gap", "1"), "--gap 1:"},
		{"gap negative", append(solve, "--gap", "-0.1"), "--gap -0.1"},
		{"threads negative", append(solve, "--threads", "-1"), "--threads -1"},
		{"max group zero", append(solve, "--max-group", "0"), "--max-group 0"},
		{"micro-batch zero", append(solve, "--micro-batches", "1,0"), `--micro-batches: "0" is not a positive`},
		{"faults seeds zero", []string{"faults", "--model", "gpt2", "--seeds", "0"}, "--seeds 0: want at least one"},
		{"faults seeds negative", []string{"faults", "--model", "gpt2", "--seeds", "-2"}, "--seeds -2"},
		{"faults rate NaN", []string{"faults", "--model", "gpt2", "--die-rate", "NaN"}, `--die-rate: "NaN" is not a fraction`},
		{"wafer rate above one", []string{"wafer", "--link-rate", "2"}, "--link-rate 2: want a fraction in [0, 1]"},
		{"strategy empty", append(solve, "--strategy", ""), "--strategy is empty"},
		{"mapper empty", append(solve, "--mapper", ""), "--mapper is empty"},
		{"graph format empty", []string{"graph", "--model", "gpt2", "--format", ""}, "--format is empty"},
		{"validate suite empty", []string{"validate", "--suite", ""}, "--suite is empty"},
		{"validate packet zero", []string{"validate", "--packet", "0"}, "--packet 0: want a positive whole number"},
		{"gap max-enumerate NaN", []string{"gap", "--model", "gpt2", "--max-enumerate", "NaN"}, "--max-enumerate NaN"},
		{"compile unaliased", []string{"compile", "--model", "gpt2", "--unaliased"}, "--unaliased: plans are lowered from aliased spaces"},
		{"simulate model empty", []string{"simulate", "plan.json", "--model", ""}, "--model is empty"},
		{"baseline unknown", append(solve, "--baseline", "megatron2"), `--baseline "megatron2": want one of [megatron1 megatron3 fsdp megatron-core fsdp2]`},
		{"baseline and strategy", append(solve, "--baseline", "fsdp", "--strategy", "megatron3"), "exclude each other"},
		{"flash attention without megatron", append(solve, "--flash-attention", "--baseline", "fsdp"), "--flash-attention applies to --baseline megatron1 or megatron3"},
		{"schemes mixed", append(solve, "--schemes", "ring-w,-relay-w"), "--schemes: \"ring-w,-relay-w\" mixes allowed and denied"},
		{"schemes unknown", append(solve, "--schemes", "ring-z"), `--schemes: unknown scheme "ring-z"`},
		{"tcme off with gmap", append(solve, "--tcme=false", "--mapper", "gmap"), "--tcme=false applies to the temp mapper"},
		{"memory tolerance NaN", append(solve, "--memory-tolerance", "NaN"), "--memory-tolerance NaN"},
		{"eval without out", []string{"eval", "--quick"}, "--out is required"},
		{"compile json to stdout", []string{"compile", "--model", "gpt2", "--json", "-o", "-"}, "--json and -o - both want standard output"},
		{"eval negative jobs", []string{"eval", "--quick", "--out", "x", "--jobs", "-1"}, "--jobs -1"},
		{"time limit overflowing a deadline", append(solve, "--time-limit", "2450000h"), "--time-limit 2450000h0m0s: want a positive duration of at most 1000h"},
		{"eval time limit overflowing", []string{"eval", "--quick", "--out", "x", "--time-limit", "2450000h"}, "--time-limit 2450000h0m0s"},
		{"eval negative threads", []string{"eval", "--quick", "--out", "x", "--threads", "-2"}, "--threads -2"},
		{"compile output empty", []string{"compile", "--model", "gpt2", "-o", ""}, "-o is empty"},
		{"compile chakra empty", []string{"compile", "--model", "gpt2", "--chakra", ""}, "--chakra is empty"},
		{"simulate svg empty", []string{"simulate", "plan.json", "--svg", ""}, "--svg is empty"},
		{"pipeline output empty", []string{"pipeline", "--model", "gpt2", "-o", ""}, "-o is empty"},
		{"simulate window NaN", []string{"simulate", "plan.json", "--trace", "t.json", "--window", "NaN:1"}, `--window "NaN:1": want FROM:TO`},
		{"simulate window to NaN", []string{"simulate", "plan.json", "--trace", "t.json", "--window", "0:NaN"}, `--window "0:NaN"`},
		{"simulate window Inf", []string{"simulate", "plan.json", "--trace", "t.json", "--window", "0:Inf"}, `--window "0:Inf"`},
		{"simulate window from Inf", []string{"simulate", "plan.json", "--trace", "t.json", "--window", "Inf:"}, `--window "Inf:"`},
		{"simulate window negative", []string{"simulate", "plan.json", "--trace", "t.json", "--window", "-1:2"}, `--window "-1:2"`},
		{"simulate window reversed", []string{"simulate", "plan.json", "--trace", "t.json", "--window", "2:1"}, `--window "2:1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errb.String())
			}
		})
	}
}

// TestLooseGapReportedHonestly: --gap 0.5 stops early; the status says
// gap-limit, not optimal, and the gap is reported.
func TestLooseGapReportedHonestly(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"solve", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--gap", "0.5", "--json", "--pipeline-stages", "none"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got struct {
		Status string  `json:"status"`
		Gap    float64 `json:"mip_gap"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	// Measured: this solve stops at a 43.0% gap.
	if got.Status != "gap-limit" || got.Gap <= 1e-6 || got.Gap > 0.5 {
		t.Errorf("status %q with gap %g", got.Status, got.Gap)
	}
}

// TestInfeasibleJSON: `solve --json` on a model that does not fit prints
// a JSON object with status infeasible and the explanation, and exits 1.
func TestInfeasibleJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"solve", "--model", "gpt3-175b", "--wafer", "temp32", "--json"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errb.String())
	}
	var got struct {
		Status      string  `json:"status"`
		Explanation string  `json:"explanation"`
		Need        float64 `json:"need_bytes_per_die"`
		Have        float64 `json:"capacity_bytes_per_die"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out.String())
	}
	if got.Status != "infeasible" || !strings.Contains(got.Explanation, "optimizer states dominate") || got.Need <= got.Have {
		t.Errorf("got %+v", got)
	}
}

// TestTimeLimitCoversPricing: a time limit too short for pricing ends
// the command with a time-limit error that says where it stopped, rather
// than pricing on and then giving HiGHS its full limit.
func TestTimeLimitCoversPricing(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"solve", "--model", "gpt3-6.7b", "--unaliased", "--time-limit", "50ms", "--json"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "time limit 50ms reached while pricing") {
		t.Fatalf("exit %d; stderr: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `"status": "time-limit"`) {
		t.Errorf("stdout: %s", out.String())
	}
}

// TestCompileOutputAtomic: a compile that fails leaves the previous plan
// file whole, and an unwritable -o fails before the pipeline runs (the
// model named here does not exist, so a pipeline run would fail on it
// instead).
func TestCompileOutputAtomic(t *testing.T) {
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(planFile, []byte("previous plan"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"compile", "--model", "gpt3-175b", "--wafer", "temp32", "-o", planFile}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if b, _ := os.ReadFile(planFile); string(b) != "previous plan" {
		t.Errorf("a failed compile changed the plan file to %.40q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
	for _, bad := range []string{filepath.Join(dir, "missing", "plan.json"), dir} {
		errb.Reset()
		code := run(context.Background(), []string{"compile", "--model", "no-such-model", "-o", bad}, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), "cannot write "+bad) {
			t.Errorf("-o %s: exit %d, stderr %s", bad, code, errb.String())
		}
	}
}

// TestSimulateWaferOverride: --wafer must have the plan's mesh shape and
// live dies; a plan compiled for mesh4x4 is not simulated on temp48 or on
// mesh4x4 with a dead die.
func TestSimulateWaferOverride(t *testing.T) {
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.json")
	compileGPT2(t, planFile)
	var out, errb bytes.Buffer
	out.Reset()
	if code := run(context.Background(), []string{"wafer", "--wafer", "mesh4x4", "--json"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	var w map[string]any
	if err := json.Unmarshal(out.Bytes(), &w); err != nil {
		t.Fatal(err)
	}
	w["dead_dies"] = [][2]int{{1, 1}}
	deadFile := filepath.Join(dir, "dead.json")
	b, _ := json.Marshal(w)
	if err := os.WriteFile(deadFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ wafer, want string }{
		{"temp48", "is a 6×8 mesh; the plan"},
		{deadFile, "die (1,1) is dead there but live on mesh4x4"},
	} {
		errb.Reset()
		if code := run(context.Background(), []string{"simulate", planFile, "--wafer", tc.wafer}, &out, &errb); code != 1 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("--wafer %s: exit %d, stderr %s", tc.wafer, code, errb.String())
		}
	}
	errb.Reset()
	if code := run(context.Background(), []string{"simulate", planFile, "--wafer", "mesh4x4"}, &out, &errb); code != 0 {
		t.Errorf("--wafer mesh4x4 (the plan's own): exit %d, %s", code, errb.String())
	}
}

// TestSimulateRejectsMissingWork: a plan whose last step (the optimizer)
// is removed, or whose model_source is gone, is not simulated.
func TestSimulateRejectsMissingWork(t *testing.T) {
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.json")
	compileGPT2(t, planFile)
	var out, errb bytes.Buffer
	data, _ := os.ReadFile(planFile)
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	write := func(name string, edit func(map[string]any)) string {
		q := map[string]any{}
		for k, v := range p {
			q[k] = v
		}
		edit(q)
		b, _ := json.Marshal(q)
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	steps := p["steps"].([]any)
	noOpt := write("no-opt.json", func(q map[string]any) { q["steps"] = steps[:len(steps)-1] })
	moved := write("moved.json", func(q map[string]any) { q["model_source"] = filepath.Join(dir, "gone", "config.json") })
	renamed := write("renamed.json", func(q map[string]any) { q["wafer"] = "temp48" })
	for _, tc := range []struct{ file, want string }{
		{noOpt, "adam"},
		{renamed, `names wafer "temp48" but carries "mesh4x4"`},
		{moved, "pass --model if it moved"},
	} {
		errb.Reset()
		if code := run(context.Background(), []string{"simulate", tc.file}, &out, &errb); code != 1 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %s", filepath.Base(tc.file), code, errb.String())
		}
	}
	errb.Reset()
	if code := run(context.Background(), []string{"simulate", moved, "--model", "gpt2"}, &out, &errb); code != 0 {
		t.Errorf("--model gpt2 on the moved plan: exit %d, %s", code, errb.String())
	}
}

// TestNoLayoutReasons: when no layout exists the message says why — the
// micro-batch sizes asked for, or the group shapes — not a generic "no
// group shape tiles the healthy dies".
func TestNoLayoutReasons(t *testing.T) {
	// More groups fit than the batch has sequences: as many as it has are
	// used, the other dies idle (this was refused as "no group shape …
	// into at most 2 data-parallel groups").
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"solve", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "2", "--seq", "64", "--max-group", "4"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "layout     2 DP groups of") {
		t.Errorf("batch 2 in groups of at most 4 dies: exit %d, stdout %s, stderr %s", code, out.String(), errb.String())
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"micro-batch above the batch", []string{"solve", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "64",
			"--micro-batches", "1000000"}, "micro-batch size asked for ([1000000])"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errb); code != 1 || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, stderr %s", code, errb.String())
			}
		})
	}
}

// TestKeylessGraphCompiles: a JSON graph whose ops carry no keys (keys are
// optional in the format) gets one op group per GEMM and every backward op
// in its group — before, both GEMMs shared one group and half of the
// step's work was planned by nobody — and the plan it compiles to passes
// the work check in compile and again in simulate.
func TestKeylessGraphCompiles(t *testing.T) {
	planFile := filepath.Join(t.TempDir(), "plan.json")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"compile", "--model", "../../frontend/testdata/graph/tiny-forward.json", "--wafer", "mesh4x4", "-o", planFile}, &out, &errb); code != 0 {
		t.Fatalf("compile: exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"simulate", planFile}, &out, &errb); code != 0 {
		t.Fatalf("simulate: exit %d: %s", code, errb.String())
	}
}

// TestCompileOutputKeepsFile: writing over an existing plan keeps its
// permissions, and a symbolic link is written through, not replaced.
func TestCompileOutputKeepsFile(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target.json"), filepath.Join(dir, "link.json")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	compileGPT2(t, link)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
	}
	fi, err := os.Stat(target)
	if b, _ := os.ReadFile(target); err != nil || fi.Mode().Perm() != 0o600 || !bytes.HasPrefix(b, []byte(`{"schema_version"`)) {
		t.Errorf("target: mode %v, starts %.20q, %v", fi.Mode(), b, err)
	}
}

// compileGPT2 compiles gpt2 at batch 16, sequence 512 for mesh4x4 to path:
// the small plan the simulate and output tests start from.
func compileGPT2(t *testing.T, path string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"compile", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--pipeline-stages", "none", "-o", path}, &out, &errb); code != 0 {
		t.Fatalf("compile: exit %d: %s", code, errb.String())
	}
}

// TestInterruptLeavesPreviousOutputs: a compile interrupted (its context
// cancelled, as the first SIGINT does) exits 130 and publishes nothing:
// the previous plan, trace, DOT graph and Chakra directory stay whole,
// and no temporary file or directory is left beside them.
func TestInterruptLeavesPreviousOutputs(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"plan.json": "old plan", "trace.json": "old trace", "plan.dot": "old dot"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chakraDir := filepath.Join(dir, "chakra")
	if err := os.Mkdir(chakraDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(chakraDir, "manifest.json"), []byte("old manifest"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"compile", "--model", "gpt2", "--wafer", "mesh4x4", "--batch", "16", "--seq", "512", "--pipeline-stages", "none",
		"-o", filepath.Join(dir, "plan.json"), "--trace", filepath.Join(dir, "trace.json"), "--dot", filepath.Join(dir, "plan.dot"), "--chakra", chakraDir}, &out, &errb)
	if code != 130 || !strings.Contains(errb.String(), "stopped") {
		t.Fatalf("exit %d, want 130; stderr: %s", code, errb.String())
	}
	files["chakra/manifest.json"] = "old manifest"
	for name, body := range files {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != body {
			t.Errorf("%s holds %.20q (%v), want %q", name, b, err, body)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 4 {
		t.Errorf("%d entries beside the outputs, want 4: %v", len(ents), ents)
	}
}

// TestOutputToDeviceCommand: compile -o on a character device (a copy of
// /dev/null made in a temporary directory) writes to it, and it is still
// a device afterwards; -o and --trace on the same regular file is refused
// before any work, on the same device it is not.
func TestOutputToDeviceCommand(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "null")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("cannot make a device node here: %v", err)
	}
	compileGPT2(t, dev)
	if fi, err := os.Lstat(dev); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the device became %v (%v)", fi.Mode(), err)
	}
	file := filepath.Join(dir, "plan.json")
	for _, tc := range []struct{ path, want string }{{file, "are the same file"}, {dev, "not a preset"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"compile", "--model", "no-such-model", "-o", tc.path, "--trace", tc.path}, &out, &errb); code != 1 ||
			!strings.Contains(errb.String(), tc.want) {
			t.Errorf("-o and --trace on %s: exit %d, stderr %s, want %q", tc.path, code, errb.String(), tc.want)
		}
	}
}

// TestSimulateBoundedReads: a plan file that is a device, or a regular
// file past plan.MaxFileBytes (sparse, so the test writes nothing), is
// refused by name before it is read.
func TestSimulateBoundedReads(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(big)
	if err == nil {
		err = f.Truncate(20 << 30)
		f.Close()
	}
	if err != nil {
		t.Skipf("cannot make a sparse 20 GiB file: %v", err)
	}
	for _, tc := range []struct{ file, want string }{
		{"/dev/zero", "/dev/zero: is a device, want a plan file"},
		{big, "plan file of 21.5 GB is too large (limit 1.07 GB)"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"simulate", tc.file}, &out, &errb); code != 1 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("simulate %s: exit %d, stderr %s; want %q", tc.file, code, errb.String(), tc.want)
		}
	}
}

// TestPipelineOneWafer: a pipeline of one wafer has no stage boundary
// (it printed a transfer time between wafers); it is refused up front,
// pointing to the single-wafer commands.
func TestPipelineOneWafer(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"pipeline", "--model", "../../testdata/pipeline/tiny-gpt2.json", "--wafer", "mesh4x4", "--wafers", "1", "--batch", "16", "--seq", "256", "--mapper", "smap"}
	if code := run(context.Background(), args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--wafers 1: a pipeline of one stage is the single-wafer plan") {
		t.Errorf("exit %d, stderr %s", code, errb.String())
	}
}
