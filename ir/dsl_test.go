package ir

// dsl is a tiny graph-building DSL for tests: tensors by name, ops by kind.
type dsl struct {
	g     *Graph
	names map[string]TensorID
}

func newDSL() *dsl {
	return &dsl{g: &Graph{Name: "test", Batch: 2, Seq: 4}, names: map[string]TensorID{}}
}

func (d *dsl) t(name string, role Role, shape ...int64) TensorID {
	dt := BF16
	if role == Input {
		dt = INT32
	}
	if role == OptState {
		dt = FP32
	}
	id := d.g.AddTensor(name, shape, dt, role, NoLayer)
	d.names[name] = id
	return id
}

func (d *dsl) ids(names ...string) []TensorID {
	out := make([]TensorID, len(names))
	for i, n := range names {
		out[i] = d.names[n]
	}
	return out
}

func (d *dsl) op(name string, kind Kind, phase Phase, in, out []string) *Op {
	return d.g.Op(d.g.AddOp(Op{Name: name, Kind: kind, Phase: phase, Layer: NoLayer, Inputs: d.ids(in...), Outputs: d.ids(out...)}))
}

func (d *dsl) matmul(name string, a, b, y string, m MatMulAttrs) *Op {
	return d.g.Op(d.g.AddOp(Op{Name: name, Kind: MatMul, Phase: Forward, Layer: NoLayer,
		Inputs: d.ids(a, b), Outputs: d.ids(y), MatMul: &m}))
}

// mlp builds x[2,4,8] · w1[8,16] -> h, gelu(h) -> a, a · w2[16,8] -> y, y + x -> z:
// a valid forward graph of a residual MLP.
func mlp() *dsl {
	d := newDSL()
	d.t("x", Activation, 2, 4, 8)
	d.t("w1", Weight, 8, 16)
	d.t("h", Activation, 2, 4, 16)
	d.t("a", Activation, 2, 4, 16)
	d.t("w2", Weight, 16, 8)
	d.t("y", Activation, 2, 4, 8)
	d.t("z", Activation, 2, 4, 8)
	d.t("ids", Input, 2, 4)
	d.t("table", Weight, 10, 8)
	// x comes from an embedding so that it has a producer.
	d.op("embed", Embedding, Forward, []string{"ids", "table"}, []string{"x"})
	d.matmul("up", "x", "w1", "h", MatMulAttrs{Batch: 1, M: 8, N: 16, K: 8})
	d.op("act", Elementwise, Forward, []string{"h"}, []string{"a"}).Fn = "gelu"
	d.matmul("down", "a", "w2", "y", MatMulAttrs{Batch: 1, M: 8, N: 8, K: 16})
	d.op("res", Elementwise, Forward, []string{"y", "x"}, []string{"z"}).Fn = "add"
	// Re-derive FLOPs of the ops whose Fn was set after AddOp.
	for i := range d.g.Ops {
		d.g.Ops[i].FLOPs = d.g.opFLOPs(&d.g.Ops[i])
	}
	return d
}
