package frontend

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"tempc/internal/jsonpos"
	"tempc/ir"
)

// GraphSchemaVersion is the version of tempc's JSON graph format written by
// WriteGraphJSON and accepted by ReadGraphJSON. The format is described by
// graph.schema.json next to this file.
const GraphSchemaVersion = 1

// jsonGraph is the top level of the JSON graph format.
type jsonGraph struct {
	SchemaVersion int               `json:"schema_version"`
	Name          string            `json:"name"`
	Batch         int64             `json:"batch"`
	Seq           int64             `json:"seq"`
	Layers        int               `json:"layers"`
	Tensors       []json.RawMessage `json:"tensors"`
	Ops           []json.RawMessage `json:"ops"`
}

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

// ReadGraphJSON parses tempc's JSON graph format and verifies the graph.
// Every problem is reported with its file position: malformed JSON, unknown
// fields, unknown kinds or roles, references to missing tensors, and each
// invariant ir.Verify finds broken (at the op or tensor concerned).
func ReadGraphJSON(file string, data []byte) (*ir.Graph, error) {
	o, perr := jsonpos.Parse(file, data)
	if perr != nil {
		return nil, fmt.Errorf("frontend: %w", jsonpos.ErrorList{perr})
	}
	e := &jsonpos.Errs{File: file, Prefix: "frontend"}
	var hdr jsonGraph
	if err := strictDecode(data, &hdr); err != nil {
		e.Append(o.Src.SyntaxError(err, 0))
		return nil, e.Err()
	}
	if hdr.SchemaVersion != GraphSchemaVersion {
		e.Add(o.FieldPos("schema_version"), "schema_version", "unsupported version %d (this tempc reads %d)",
			hdr.SchemaVersion, GraphSchemaVersion)
		return nil, e.Err()
	}
	g := &ir.Graph{Name: hdr.Name, Batch: hdr.Batch, Seq: hdr.Seq, Layers: hdr.Layers}
	tensorPos := o.Elements(e, "tensors")
	opPos := o.Elements(e, "ops")
	for i, raw := range hdr.Tensors {
		readTensor(e, g, i, raw, tensorPos[i])
	}
	for i, raw := range hdr.Ops {
		readOp(e, g, i, raw, opPos[i])
	}
	if e.Len() > 0 {
		return nil, e.Err()
	}
	var ve *ir.VerifyError
	if err := g.Verify(); errors.As(err, &ve) {
		for _, p := range ve.Problems {
			pos, field := o.Pos, ""
			if p.Op != ir.NoOp && int(p.Op) < len(opPos) {
				pos, field = opPos[p.Op], fmt.Sprintf("ops[%d]", p.Op)
			} else if p.Tensor != ir.NoTensor && int(p.Tensor) < len(tensorPos) {
				pos, field = tensorPos[p.Tensor], fmt.Sprintf("tensors[%d]", p.Tensor)
			}
			e.Add(pos, field, "%s", p.Msg)
		}
		return nil, e.Err()
	}
	return g, nil
}

func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func readTensor(e *jsonpos.Errs, g *ir.Graph, i int, raw json.RawMessage, pos jsonpos.Pos) {
	field := fmt.Sprintf("tensors[%d]", i)
	var t jsonTensor
	if err := strictDecode(raw, &t); err != nil {
		e.Add(pos, field, "%v", err)
		return
	}
	if t.ID != i {
		e.Add(pos, field+".id", "is %d, want its index %d", t.ID, i)
	}
	dt, ok := ir.ParseDType(t.DType)
	if !ok {
		e.Add(pos, field+".dtype", "unknown dtype %q (want one of %v)", t.DType, ir.DTypeNames())
	}
	role, ok := ir.ParseRole(t.Role)
	if !ok {
		e.Add(pos, field+".role", "unknown role %q (want one of %v)", t.Role, ir.RoleNames())
	}
	g.AddTensor(t.Name, t.Shape, dt, role, layerOf(t.Layer))
}

func layerOf(l *int) int {
	if l == nil {
		return ir.NoLayer
	}
	return *l
}

func tensorIDs(e *jsonpos.Errs, g *ir.Graph, pos jsonpos.Pos, field string, ids []int) []ir.TensorID {
	out := make([]ir.TensorID, len(ids))
	for i, id := range ids {
		if id < 0 || id >= len(g.Tensors) {
			e.Add(pos, fmt.Sprintf("%s[%d]", field, i), "tensor %d does not exist (%d tensors)", id, len(g.Tensors))
		}
		out[i] = ir.TensorID(id)
	}
	return out
}

func readOp(e *jsonpos.Errs, g *ir.Graph, i int, raw json.RawMessage, pos jsonpos.Pos) {
	field := fmt.Sprintf("ops[%d]", i)
	var j jsonOp
	if err := strictDecode(raw, &j); err != nil {
		e.Add(pos, field, "%v", err)
		return
	}
	if j.ID != i {
		e.Add(pos, field+".id", "is %d, want its index %d", j.ID, i)
	}
	kind, ok := ir.ParseKind(j.Kind)
	if !ok {
		e.Add(pos, field+".kind", "unknown kind %q (want one of %v)", j.Kind, ir.KindNames())
	}
	phase, ok := ir.ParsePhase(j.Phase)
	if !ok {
		e.Add(pos, field+".phase", "unknown phase %q (want one of %v)", j.Phase, ir.PhaseNames())
	}
	op := ir.Op{Name: j.Name, Kind: kind, Phase: phase, Fn: j.Fn, Layer: layerOf(j.Layer), Class: j.Class, Key: j.Key,
		Inputs: tensorIDs(e, g, pos, field+".inputs", j.Inputs), Outputs: tensorIDs(e, g, pos, field+".outputs", j.Outputs),
		Updates: tensorIDs(e, g, pos, field+".updates", j.Updates)}
	if m := j.MatMul; m != nil {
		op.MatMul = &ir.MatMulAttrs{Batch: m.Batch, M: m.M, N: m.N, K: m.K, TransA: m.TransA, TransB: m.TransB}
	}
	if a := j.Attn; a != nil {
		op.Attn = &ir.AttnAttrs{Batch: a.Batch, SeqQ: a.SeqQ, SeqKV: a.SeqKV, Heads: a.Heads, KVHeads: a.KVHeads,
			HeadDim: a.HeadDim, Causal: a.Causal, Rope: a.Rope}
	}
	g.AddOp(op)
}
