package frontend

import (
	"strings"
	"testing"

	"github.com/tempc/tempc/ir"
)

// TestTrainingStructure checks the backward and optimizer the generator adds,
// on every preset, against properties that follow from the definitions.
func TestTrainingStructure(t *testing.T) {
	for _, name := range PresetNames() {
		t.Run(name, func(t *testing.T) {
			g := mustPreset(t, name, Options{Batch: 2, Seq: 16})
			s := g.Summary()
			// Mixed-precision Adam: bf16 weight + bf16 grad + 3 fp32 states = 16 B/param.
			if s.WeightBytes != 2*s.Parameters || s.GradientBytes != 2*s.Parameters || s.OptStateBytes != 12*s.Parameters {
				t.Errorf("bytes: weights %d, gradients %d, states %d for %d parameters; want 2, 2, 12 per parameter",
					s.WeightBytes, s.GradientBytes, s.OptStateBytes, s.Parameters)
			}
			// Every forward GEMM has exactly one dX and one dW, of twice its GEMM FLOPs in total.
			bwd := map[string][]*ir.Op{}
			for i := range g.Ops {
				if op := &g.Ops[i]; op.Phase == ir.Backward && op.Kind == ir.MatMul {
					bwd[op.Name] = append(bwd[op.Name], op)
				}
			}
			var fwdMM, bwdMM float64
			adam := 0
			for i := range g.Ops {
				op := &g.Ops[i]
				switch {
				case op.Phase == ir.Forward && op.Kind == ir.MatMul:
					dx, dw := bwd[op.Name+".dX"], bwd[op.Name+".dW"]
					if len(dx) != 1 || len(dw) != 1 {
						t.Fatalf("%v has %d dX and %d dW ops, want 1 each", op, len(dx), len(dw))
					}
					if dx[0].Layer != op.Layer || dx[0].Class != op.Class || dx[0].Key != op.Key+".dX" {
						t.Errorf("%v's dX is tagged layer %d class %q key %q", op, dx[0].Layer, dx[0].Class, dx[0].Key)
					}
					m := op.MatMul // the GEMM proper, without a fused bias
					fwdMM += 2 * float64(m.Batch*m.M*m.N*m.K)
					bwdMM += dx[0].FLOPs + dw[0].FLOPs
				case op.Kind == ir.OptimizerUpdate:
					adam++
				}
			}
			if bwdMM != 2*fwdMM {
				t.Errorf("backward GEMM FLOPs %g, want exactly twice forward %g", bwdMM, fwdMM)
			}
			weights := 0
			for i := range g.Tensors {
				if g.Tensors[i].Role == ir.Weight {
					weights++
				}
			}
			if adam != weights {
				t.Errorf("%d adam ops for %d weights", adam, weights)
			}
		})
	}
}

// TestBlocksAreIdentical checks the aliasing contract: the ops of every
// block, keyed by (class, key, phase), have the same kinds, FLOPs and bytes.
func TestBlocksAreIdentical(t *testing.T) {
	g := mustPreset(t, "llama2-70b", Options{Batch: 2, Seq: 16})
	type sig struct {
		kind        ir.Kind
		flops       float64
		read, write int64
	}
	first := map[string]sig{}
	perLayer := make([]int, g.Layers)
	for i := range g.Ops {
		op := &g.Ops[i]
		if op.Layer == ir.NoLayer {
			continue
		}
		if op.Class != ClassBlock {
			t.Fatalf("%v in layer %d has class %q", op, op.Layer, op.Class)
		}
		perLayer[op.Layer]++
		k := op.Phase.String() + "/" + op.Key
		s := sig{op.Kind, op.FLOPs, op.BytesRead, op.BytesWritten}
		if f, ok := first[k]; !ok {
			first[k] = s
		} else if f != s {
			t.Errorf("%v differs from layer 0's %s: %+v vs %+v", op, k, s, f)
		}
	}
	for l, n := range perLayer {
		if n != perLayer[0] {
			t.Errorf("layer %d has %d ops, layer 0 has %d", l, n, perLayer[0])
		}
	}
}

// TestTiedEmbeddingGradientsSum: a tied table gets one gradient from the
// embedding and one from the LM head, added before Adam.
func TestTiedEmbeddingGradientsSum(t *testing.T) {
	g := mustPreset(t, "gpt2", Options{Batch: 1, Seq: 8})
	var acc *ir.Op
	for i := range g.Ops {
		if g.Ops[i].Name == "acc.tok.w" {
			acc = &g.Ops[i]
		}
	}
	if acc == nil || len(acc.Inputs) != 2 || g.Tensor(acc.Outputs[0]).Role != ir.Gradient {
		t.Fatalf("no two-input gradient sum for the tied table: %+v", acc)
	}
	untied := mustPreset(t, "llama2-7b", Options{Batch: 1, Seq: 8})
	for i := range untied.Ops {
		if untied.Ops[i].Name == "acc.tok.w" {
			t.Errorf("untied model sums table gradients: %v", &untied.Ops[i])
		}
	}
}

func TestTrainRejects(t *testing.T) {
	a, _ := Preset("gpt2")
	a.Layers = 1
	g, err := Forward(&a, Shape{Batch: 1, Seq: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := Train(g); err != nil {
		t.Fatal(err)
	}
	if err := Train(g); err == nil || !strings.Contains(err.Error(), "expects a forward graph") {
		t.Errorf("training twice: %v", err)
	}
	noLoss := &ir.Graph{Name: "noloss"}
	if err := Train(noLoss); err == nil || !strings.Contains(err.Error(), "no loss op") {
		t.Errorf("graph without loss: %v", err)
	}
}
