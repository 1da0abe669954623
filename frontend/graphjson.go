package frontend

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tempc/tempc/ir"
)

// GraphSchemaVersion is the version of tempc's JSON graph format written by
// WriteGraphJSON and accepted by ReadGraphJSON. The format is described by
// graph.schema.json next to this file.
const GraphSchemaVersion = 1

type jsonTensor struct {
	ID    int     `json:"id"`
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
	DType string  `json:"dtype"`
	Role  string  `json:"role"`
	Layer *int    `json:"layer,omitempty"`
}

type jsonMatMul struct {
	Batch  int64 `json:"batch"`
	M      int64 `json:"m"`
	N      int64 `json:"n"`
	K      int64 `json:"k"`
	TransA bool  `json:"trans_a,omitempty"`
	TransB bool  `json:"trans_b,omitempty"`
}

type jsonAttn struct {
	Batch   int64 `json:"batch"`
	SeqQ    int64 `json:"seq_q"`
	SeqKV   int64 `json:"seq_kv"`
	Heads   int64 `json:"heads"`
	KVHeads int64 `json:"kv_heads"`
	HeadDim int64 `json:"head_dim"`
	Causal  bool  `json:"causal,omitempty"`
	Rope    bool  `json:"rope,omitempty"`
}

type jsonOp struct {
	ID      int         `json:"id"`
	Name    string      `json:"name"`
	Kind    string      `json:"kind"`
	Phase   string      `json:"phase"`
	Fn      string      `json:"fn,omitempty"`
	Layer   *int        `json:"layer,omitempty"`
	Class   string      `json:"class,omitempty"`
	Key     string      `json:"key,omitempty"`
	Inputs  []int       `json:"inputs"`
	Outputs []int       `json:"outputs"`
	Updates []int       `json:"updates,omitempty"`
	MatMul  *jsonMatMul `json:"matmul,omitempty"`
	Attn    *jsonAttn   `json:"attention,omitempty"`
}

// WriteGraphJSON writes g in tempc's JSON graph format: a header, then one
// line per tensor and per op, in ID order (deterministic and diff-friendly).
func WriteGraphJSON(w io.Writer, g *ir.Graph) error {
	if len(g.Outputs) > 0 {
		return fmt.Errorf("frontend: graph %s is a pipeline stage (it has outputs), which the graph format does not hold", g.Name)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "{\n  \"schema_version\": %d,\n  \"name\": %s,\n  \"batch\": %d,\n  \"seq\": %d,\n  \"layers\": %d,\n",
		GraphSchemaVersion, quote(g.Name), g.Batch, g.Seq, g.Layers)
	bw.WriteString("  \"tensors\": [")
	for i := range g.Tensors {
		writeElem(bw, i, tensorJSON(&g.Tensors[i]))
	}
	bw.WriteString("\n  ],\n  \"ops\": [")
	for i := range g.Ops {
		writeElem(bw, i, opJSON(&g.Ops[i]))
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

func quote(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

func writeElem(w *bufio.Writer, i int, v any) {
	if i > 0 {
		w.WriteString(",")
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled here
	}
	w.WriteString("\n    ")
	w.Write(b)
}

func layerPtr(l int) *int {
	if l == ir.NoLayer {
		return nil
	}
	return &l
}

func tensorJSON(t *ir.Tensor) jsonTensor {
	shape := t.Shape
	if shape == nil {
		shape = []int64{}
	}
	return jsonTensor{ID: int(t.ID), Name: t.Name, Shape: shape, DType: t.DType.String(), Role: t.Role.String(), Layer: layerPtr(t.Layer)}
}

func idList(ids []ir.TensorID) []int {
	out := make([]int, len(ids))
	for i, t := range ids {
		out[i] = int(t)
	}
	return out
}

func opJSON(op *ir.Op) jsonOp {
	j := jsonOp{ID: int(op.ID), Name: op.Name, Kind: op.Kind.String(), Phase: op.Phase.String(), Fn: op.Fn,
		Layer: layerPtr(op.Layer), Class: op.Class, Key: op.Key, Inputs: idList(op.Inputs), Outputs: idList(op.Outputs),
		Updates: idList(op.Updates)}
	if m := op.MatMul; m != nil {
		j.MatMul = &jsonMatMul{Batch: m.Batch, M: m.M, N: m.N, K: m.K, TransA: m.TransA, TransB: m.TransB}
	}
	if a := op.Attn; a != nil {
		j.Attn = &jsonAttn{Batch: a.Batch, SeqQ: a.SeqQ, SeqKV: a.SeqKV, Heads: a.Heads, KVHeads: a.KVHeads,
			HeadDim: a.HeadDim, Causal: a.Causal, Rope: a.Rope}
	}
	return j
}
