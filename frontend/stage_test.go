package frontend

import (
	"strings"
	"testing"

	"github.com/tempc/tempc/ir"
)

// TestBuildStage: a model cut into pipeline stages gives graphs that
// verify, whose parameters add up to the model's plus the last stage's
// copy of a tied token table, whose forward and backward FLOPs add up to
// the model's exactly (but for the sum of a tied table's gradients), and
// whose optimizer FLOPs follow their weights.
// A middle stage receives its input and its output's gradient (Boundary),
// and sends its output and its input's gradient.
func TestBuildStage(t *testing.T) {
	tests := []struct {
		model  string
		splits []int
	}{
		{"gpt2", []int{0, 4, 8, 12}},
		{"gpt2", []int{0, 1, 12}},
		{"llama2-7b", []int{0, 10, 21, 32}},
		{"opt-6.7b", []int{0, 16, 32}},
	}
	for _, tc := range tests {
		a, _ := Preset(tc.model)
		opt := Options{Batch: 2, Seq: 128}
		whole, err := Build(&a, opt)
		if err != nil {
			t.Fatal(err)
		}
		want := whole.Summary()
		var params int64
		var fwd, bwd, adam float64
		for i := range len(tc.splits) - 1 {
			first, last := tc.splits[i], tc.splits[i+1]
			g, err := BuildStage(&a, opt, first, last)
			if err != nil {
				t.Fatalf("%s [%d:%d]: %v", tc.model, first, last, err)
			}
			if err := g.Verify(); err != nil {
				t.Fatalf("%s [%d:%d]: %v", tc.model, first, last, err)
			}
			sum := g.Summary()
			params += sum.Parameters
			fwd += sum.FLOPsByPhase.Forward
			bwd += sum.FLOPsByPhase.Backward
			adam += sum.FLOPsByPhase.Optimizer
			boundary := 0
			for _, x := range g.Tensors {
				if x.Role == ir.Boundary {
					boundary++
				}
			}
			wantBoundary := 0
			if first > 0 {
				wantBoundary++ // its input
			}
			if last < int(a.Layers) {
				wantBoundary++ // its output's gradient
				if len(g.Outputs) != 1 {
					t.Errorf("%s [%d:%d]: %d outputs", tc.model, first, last, len(g.Outputs))
				}
			}
			if boundary != wantBoundary || sum.Layers != last-first {
				t.Errorf("%s [%d:%d]: %d boundary tensors, %d layers; want %d, %d", tc.model, first, last, boundary, sum.Layers, wantBoundary, last-first)
			}
		}
		extra := int64(0)
		if a.TiedEmbeddings {
			extra = a.Vocab * a.EmbedDim()
		}
		if params != want.Parameters+extra {
			t.Errorf("%s: stages hold %d parameters, want %d + %d", tc.model, params, want.Parameters, extra)
		}
		// The whole model adds the tied table's two gradients (an add of
		// vocab × width elements); the stages leave that sum to the
		// reduction between their copies.
		if fwd != want.FLOPsByPhase.Forward || bwd+float64(extra) != want.FLOPsByPhase.Backward {
			t.Errorf("%s: stages do %g forward and %g backward FLOPs, the model %g and %g", tc.model, fwd, bwd, want.FLOPsByPhase.Forward, want.FLOPsByPhase.Backward)
		}
		if got, w := adam/float64(params), want.FLOPsByPhase.Optimizer/float64(want.Parameters); got != w {
			t.Errorf("%s: %g optimizer FLOPs per parameter, the model %g", tc.model, got, w)
		}
	}
	a, _ := Preset("gpt2")
	for _, r := range [][2]int{{-1, 3}, {3, 3}, {0, 13}} {
		if _, err := BuildStage(&a, Options{Batch: 2, Seq: 128}, r[0], r[1]); err == nil || !strings.Contains(err.Error(), "stage of blocks") {
			t.Errorf("stage [%d:%d]: %v", r[0], r[1], err)
		}
	}
}
