package frontend

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tempc/tempc/ir"
)

// within reports whether got is within rel (relative) of want.
func within(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}

// small is a step size that keeps test graphs cheap; parameter counts do not
// depend on it.
var small = Options{Batch: 2, Seq: 64}

// wantErrors checks that err is an ErrorList holding each of want and, when
// n > 0, exactly n problems.
func wantErrors(t *testing.T, err error, n int, want ...string) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v is not an ErrorList", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
	if n > 0 && len(list) != n {
		t.Errorf("%d problems, want %d:\n%v", len(list), n, err)
	}
}

func mustPreset(t *testing.T, name string, o Options) *ir.Graph {
	t.Helper()
	g, err := Load(name, o)
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return g
}

// TestParameterCounts checks the graphs against published parameter counts
// (REFERENCE.md): exact where the config is public, to the stated
// precision otherwise.
func TestParameterCounts(t *testing.T) {
	tests := []struct {
		model string
		want  float64
		rel   float64 // 0: exact
	}{
		{"gpt2", 124_439_808, 0},             // GPT-2 config.json, tied LM head
		{"llama2-7b", 6_738_415_616, 0},      // HF config.json
		{"llama2-13b", 13_015_864_320, 0},    // HF config.json
		{"llama2-70b", 68_976_648_192, 0},    // HF config.json, GQA with 8 kv heads
		{"llama3-8b", 8_030_261_248, 0},      // HF config.json
		{"tinyllama-1.1b", 1_100_048_384, 0}, // HF model card
		{"llama3-70b", 70_553_706_496, 0},    // HF config.json
		{"gpt3-175b", 174_604_259_328, 1e-3}, // by count, REFERENCE.md; issue asks 0.1%
		{"gpt3-6.7b", 6.7e9, 0.01},           // GPT-3 paper Table 2.1 (rounded)
		{"gpt3-13b", 13.0e9, 0.01},           // GPT-3 paper Table 2.1 (rounded)
		{"gpt3-76b", 76.1e9, 0.01},           // Narayanan et al. 2021 Table 1
		{"opt-6.7b", 6.7e9, 0.01},            // OPT paper (rounded)
		{"opt-175b", 175e9, 0.01},            // OPT paper (rounded)
		{"mt-nlg-530b", 530e9, 0.005},        // Smith et al. 2022, Table 1 (rounded)
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			got := float64(mustPreset(t, tc.model, Options{Batch: 1, Seq: 16}).Summary().Parameters)
			if tc.rel == 0 && got != tc.want || !within(got, tc.want, tc.rel) {
				t.Errorf("%s has %.0f parameters, want %.0f (±%g)", tc.model, got, tc.want, tc.rel)
			}
		})
	}
}

// closedFormParams counts parameters from the architecture alone, as a
// second oracle independent of the graph builder.
func closedFormParams(a *Arch) int64 {
	h, e, f := a.Hidden, a.EmbedDim(), a.FFN
	attnW := a.Heads * a.HeadDim
	kvW := a.KVHeads * a.HeadDim
	normP := h
	if a.NormBias {
		normP = 2 * h
	}
	layer := h*(attnW+2*kvW) + attnW*h + 2*normP
	if a.AttnBias {
		layer += attnW + 2*kvW + h
	}
	if a.GatedFFN {
		layer += 3 * h * f
	} else {
		layer += 2 * h * f
	}
	if a.MLPBias {
		if a.GatedFFN {
			layer += 2*f + h
		} else {
			layer += f + h
		}
	}
	p := a.Layers*layer + a.Vocab*e + normP
	if a.LearnedPositions {
		p += (a.MaxPositions + a.PositionOffset) * h
	}
	if !a.TiedEmbeddings {
		p += e * a.Vocab
	}
	if e != h {
		p += 2 * e * h
	}
	return p
}

func TestParametersMatchClosedForm(t *testing.T) {
	for _, name := range PresetNames() {
		a, _ := Preset(name)
		g := mustPreset(t, name, Options{Batch: 1, Seq: 16})
		if got, want := g.Summary().Parameters, closedFormParams(&a); got != want {
			t.Errorf("%s: graph has %d parameters, closed form %d", name, got, want)
		}
	}
}

// TestTrainingFLOPsNarayanan compares the GPT-3 family's FLOPs per step with
// the closed form of Narayanan et al. (SC'21, eq. 3, no recomputation):
// 72·B·s·l·h²·(1 + s/(6h) + V/(12·l·h)). The issue allows 2%.
func TestTrainingFLOPsNarayanan(t *testing.T) {
	for _, model := range []string{"gpt3-6.7b", "gpt3-13b", "gpt3-76b", "gpt3-175b"} {
		for _, sh := range []Options{{Batch: 128, Seq: 2048}, {Batch: 8, Seq: 512}} {
			a, _ := Preset(model)
			g := mustPreset(t, model, sh)
			B, s, l, h, V := float64(sh.Batch), float64(sh.Seq), float64(a.Layers), float64(a.Hidden), float64(a.Vocab)
			want := 72 * B * s * l * h * h * (1 + s/(6*h) + V/(12*l*h))
			got := g.Summary().FLOPs
			if !within(got, want, 0.02) {
				t.Errorf("%s B=%d s=%d: %.4g FLOPs, Narayanan %.4g (%.2f%%)", model, sh.Batch, sh.Seq, got, want, 100*(got/want-1))
			}
		}
	}
}
