package frontend_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tempc/tempc/frontend"
)

// hfDir holds published Hugging Face config.json files, copied byte for
// byte; ../testdata/README.md names where each was found.
const hfDir = "../testdata/hf"

// hfCase is one config of hfDir and what is known of its model.
type hfCase struct {
	dir string // folder under hfDir
	// params is the published parameter count and tol how far tempc's count
	// may be from it: 0 when the count is published exactly, else half a
	// unit of the last digit published.
	params, tol int64
	// preset is the built-in model of the same architecture, if any;
	// differ lists the Arch fields the config may set otherwise (context
	// length only: it changes no parameter and no op of a step of
	// explicit length).
	preset string
	differ []string
	// reject, when set, are the parts of the error tempc gives today: the
	// config uses options tempc does not model.
	reject []string
}

// hfCases lists every folder of hfDir (TestHFTestdataCovered keeps
// it so). Sources of the figures:
//   - gpt2-large, gpt2-xl: OpenAI's names of the released checkpoints,
//     774M and 1558M (openai/gpt-2, download_model.py);
//   - opt-1.3b: 1.3B (Zhang et al. 2022, "OPT", Table 1);
//   - Llama 2 and 3: REFERENCE.md; Llama 2 7B and 70B agree with the
//     total_size of fp32 checkpoint indexes (4 bytes a parameter plus 256
//     bytes of rotary inv_freq buffers a layer; for 70B, the index of
//     Llama-2-70b-chat-hf, whose tensors are the same). Llama 3.1 has the
//     tensors of Llama 3 (only its RoPE scaling and context differ), so
//     the same counts.
var hfCases = []hfCase{
	{dir: "openai-community--gpt2-large", params: 774_000_000, tol: 500_000},
	{dir: "openai-community--gpt2-xl", params: 1_558_000_000, tol: 500_000},
	{dir: "facebook--opt-1.3b", params: 1_300_000_000, tol: 50_000_000},
	{dir: "meta-llama--Llama-2-7b-hf", params: 6_738_415_616, preset: "llama2-7b"},
	{dir: "meta-llama--Llama-2-70b-hf", params: 68_976_648_192, preset: "llama2-70b"},
	{dir: "meta-llama--Meta-Llama-3.1-8B", params: 8_030_261_248, preset: "llama3-8b", differ: []string{"MaxPositions"}},
	{dir: "meta-llama--Meta-Llama-3.1-70B", params: 70_553_706_496, preset: "llama3-70b", differ: []string{"MaxPositions"}},
	// Mistral 7B is Llama-shaped but named "mistral", and its sliding
	// window (4096 of a 32768 context) is not modelled. When it is: 7.3B
	// published, 7,241,732,096 by closed form from its sizes.
	{dir: "mistralai--Mistral-7B-v0.1", reject: []string{
		`config.json:12:3: model_type: unknown model_type "mistral"`,
		"config.json:18:3: sliding_window: sliding-window attention is not supported"}},
}

// hfShape is small enough to build every model in milliseconds; the
// parameter count does not depend on it.
var hfShape = frontend.Options{Batch: 1, Seq: 64}

// TestHFTestdataCovered: every folder of hfDir is a case, and every
// case a folder holding config.json, so no file is left untested.
func TestHFTestdataCovered(t *testing.T) {
	entries, err := os.ReadDir(hfDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs, cases []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	for _, c := range hfCases {
		cases = append(cases, c.dir)
		if _, err := os.Stat(filepath.Join(hfDir, c.dir, "config.json")); err != nil {
			t.Errorf("%s: %v", c.dir, err)
		}
	}
	sort.Strings(cases)
	if d := cmp.Diff(dirs, cases); d != "" {
		t.Errorf("folders of %s and cases differ (-folders +cases):\n%s", hfDir, d)
	}
}

// TestHFTestdataLoads loads each folder as a user would (frontend.Load of
// the folder) and checks the parameter count against the published one,
// or the error against the one expected.
func TestHFTestdataLoads(t *testing.T) {
	for _, c := range hfCases {
		t.Run(c.dir, func(t *testing.T) {
			g, err := frontend.Load(filepath.Join(hfDir, c.dir), hfShape)
			if c.reject != nil {
				wantRejected(t, err, c.reject)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := g.Summary().Parameters
			if diff := got - c.params; diff < -c.tol || diff > c.tol {
				t.Errorf("%d parameters, want %d ± %d", got, c.params, c.tol)
			}
		})
	}
}

func wantRejected(t *testing.T, err error, want []string) {
	t.Helper()
	var list frontend.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v, want an ErrorList", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
	if len(list) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(list), len(want), err)
	}
}

// TestHFTestdataMatchesPresets: a config of a built-in model reads to the
// preset's Arch (but for the fields the case lets differ) and builds the
// same training graph: same parameters, FLOPs by phase, ops and bytes.
func TestHFTestdataMatchesPresets(t *testing.T) {
	for _, c := range hfCases {
		if c.preset == "" {
			continue
		}
		t.Run(c.dir, func(t *testing.T) {
			path := filepath.Join(hfDir, c.dir, "config.json")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := frontend.ReadHFConfig(path, data)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := frontend.Preset(c.preset)
			if !ok {
				t.Fatalf("no preset %s", c.preset)
			}
			opts := cmp.Options{cmp.FilterPath(func(p cmp.Path) bool {
				f := p.Last().String()
				return f == ".Name" || slices.Contains(c.differ, strings.TrimPrefix(f, "."))
			}, cmp.Ignore())}
			if d := cmp.Diff(want, *got, opts); d != "" {
				t.Errorf("config differs from preset %s (-preset +config):\n%s", c.preset, d)
			}
			gc, err := frontend.Load(filepath.Dir(path), hfShape)
			if err != nil {
				t.Fatal(err)
			}
			gp, err := frontend.Load(c.preset, hfShape)
			if err != nil {
				t.Fatal(err)
			}
			sc, sp := gc.Summary(), gp.Summary()
			sc.Model, sp.Model = "", ""
			if d := cmp.Diff(sp, sc); d != "" {
				t.Errorf("graph differs from preset %s (-preset +config):\n%s", c.preset, d)
			}
		})
	}
}
