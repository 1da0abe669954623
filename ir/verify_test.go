package ir

import (
	"errors"
	"strings"
	"testing"
)

func TestVerifyAcceptsValidGraph(t *testing.T) {
	if err := mlp().g.Verify(); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyRejects breaks a valid graph one way per case and checks that
// Verify names the op or tensor at fault.
func TestVerifyRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(d *dsl)
		want   string // substring of the error
		op     OpID   // op the problem must name, or NoOp
	}{
		{"dangling tensor", func(d *dsl) {
			d.t("ghost", Activation, 2, 4, 8)
			d.g.Ops[4].Inputs[1] = d.names["ghost"]
		}, `"ghost" (activation) is read but never produced`, NoOp},
		{"missing tensor id", func(d *dsl) { d.g.Ops[1].Inputs[1] = 99 }, "refers to tensor 99, which does not exist", 1},
		{"two producers", func(d *dsl) { d.g.Ops[3].Outputs[0] = d.names["h"] },
			`"h" is produced by both`, 3},
		{"matmul K mismatch", func(d *dsl) { d.g.Ops[1].MatMul.K = 4 }, "want batch·M·K = 32", 1},
		{"matmul N mismatch", func(d *dsl) { d.g.Ops[3].MatMul.N = 4 }, "want N = 4", 3},
		{"missing matmul attrs", func(d *dsl) { d.g.Ops[1].MatMul = nil }, "no M/N/K attributes", 1},
		{"elementwise shape", func(d *dsl) { d.g.Ops[4].Inputs[0] = d.names["h"] },
			"neither matches", 4},
		{"unknown function", func(d *dsl) { d.g.Ops[2].Fn = "tanh" }, `unknown function "tanh"`, 2},
		{"weight produced", func(d *dsl) { d.g.Ops[3].Outputs[0] = d.names["w1"] },
			`"w1" has role weight but is produced by`, 3},
		{"unused tensor", func(d *dsl) { d.t("orphan", Activation, 1) }, `"orphan" is used by no op`, NoOp},
		{"negative dim", func(d *dsl) { d.g.Tensors[0].Shape[0] = -2 }, "dimension 0 is -2", NoOp},
		{"cycle", func(d *dsl) {
			// up reads a (produced by act, which reads up's output h).
			d.g.Ops[1].Inputs[0] = d.names["a"]
			d.g.Ops[1].MatMul.K = 16
			d.g.Tensors[d.names["w1"]].Shape = []int64{16, 16}
		}, "dependency cycle", NoOp},
		{"out of order", func(d *dsl) { d.g.Ops[0], d.g.Ops[1] = d.g.Ops[1], d.g.Ops[0]; d.g.Ops[0].ID, d.g.Ops[1].ID = 0, 1 },
			"before its producer", 0},
		{"self loop", func(d *dsl) { d.g.Ops[2].Inputs[0] = d.names["a"]; d.g.Tensors[d.names["h"]].Name = "h" },
			"reads its own output", 2},
		{"updates outside adam", func(d *dsl) { d.g.Ops[2].Updates = []TensorID{d.names["w1"]} }, "only adam ops may", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := mlp()
			tc.mutate(d)
			err := d.g.Verify()
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, want a *VerifyError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if tc.op != NoOp {
				found := false
				for _, p := range ve.Problems {
					found = found || p.Op == tc.op
				}
				if !found {
					t.Errorf("no problem names op %d: %+v", tc.op, ve.Problems)
				}
			}
		})
	}
}

func TestVerifyAdam(t *testing.T) {
	build := func(mutate func(d *dsl, op *Op)) error {
		d := newDSL()
		d.t("g", Gradient, 4, 4)
		d.t("master", OptState, 4, 4)
		d.t("m", OptState, 4, 4)
		d.t("v", OptState, 4, 4)
		d.t("w", Weight, 4, 4)
		d.t("x", Input, 4)
		d.t("dummy", Activation, 4, 4)
		// the gradient needs a producer: an embedding backward of sorts.
		d.g.AddOp(Op{Name: "make-g", Kind: Embedding, Phase: Backward, Inputs: d.ids("dummy", "x"), Outputs: d.ids("g")})
		d.g.AddOp(Op{Name: "make-dummy", Kind: Embedding, Phase: Forward, Inputs: d.ids("x", "w"), Outputs: d.ids("dummy")})
		d.g.Ops[0], d.g.Ops[1] = d.g.Ops[1], d.g.Ops[0]
		d.g.Ops[0].ID, d.g.Ops[1].ID = 0, 1
		op := Op{Name: "adam", Kind: OptimizerUpdate, Phase: Optimizer, Inputs: d.ids("g", "master", "m", "v"),
			Updates: d.ids("master", "m", "v", "w")}
		if mutate != nil {
			mutate(d, &op)
		}
		d.g.AddOp(op)
		return d.g.Verify()
	}
	if err := build(nil); err != nil {
		t.Fatalf("valid adam rejected: %v", err)
	}
	if err := build(func(d *dsl, op *Op) { op.Updates[3] = d.names["m"] }); err == nil || !strings.Contains(err.Error(), "want weight") {
		t.Errorf("adam updating a state as the weight: %v", err)
	}
	if err := build(func(d *dsl, op *Op) { op.Inputs[0] = d.names["w"] }); err == nil || !strings.Contains(err.Error(), "want gradient") {
		t.Errorf("adam reading a weight as gradient: %v", err)
	}
}

func TestVerifyListsManyProblems(t *testing.T) {
	d := mlp()
	d.g.Ops[1].MatMul.K = 4
	d.g.Ops[3].MatMul.N = 4
	var ve *VerifyError
	if !errors.As(d.g.Verify(), &ve) || len(ve.Problems) < 2 {
		t.Fatalf("want both matmul problems listed, got %v", ve)
	}
}
