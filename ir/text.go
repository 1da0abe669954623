package ir

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Text returns the canonical text form of the graph: a header line, then one
// line per tensor and one per op, in ID order. Two graphs have the same text
// exactly when they are equal; golden tests compare it.
//
//	graph gpt2 batch=8 seq=1024 layers=12
//	t0 tokens int32[8,1024] input layer=-
//	o0 embed.tok fwd embedding layer=- class=embed key=tok (t0 t1) -> (t3) flops=0 read=... write=...
func (g *Graph) Text() string {
	var b strings.Builder
	g.WriteText(&b)
	return b.String()
}

// WriteText writes the canonical text form to w.
func (g *Graph) WriteText(w io.Writer) error {
	bw := &errWriter{w: w}
	bw.printf("graph %s batch=%d seq=%d layers=%d\n", g.Name, g.Batch, g.Seq, g.Layers)
	if len(g.Outputs) > 0 {
		bw.printf("outputs (%s)\n", ids(g.Outputs))
	}
	for i := range g.Tensors {
		t := &g.Tensors[i]
		bw.printf("t%d %s %s%s %s layer=%s\n", t.ID, t.Name, t.DType, dims(t.Shape), t.Role, layerText(t.Layer))
	}
	for i := range g.Ops {
		op := &g.Ops[i]
		bw.printf("o%d %s %s %s%s layer=%s class=%s key=%s (%s) -> (%s)", op.ID, op.Name, op.Phase,
			op.Kind, opAttrs(op), layerText(op.Layer), op.Class, op.Key, ids(op.Inputs), ids(op.Outputs))
		if len(op.Updates) > 0 {
			bw.printf(" updates (%s)", ids(op.Updates))
		}
		bw.printf(" flops=%s read=%d write=%d\n", formatFloat(op.FLOPs), op.BytesRead, op.BytesWritten)
	}
	return bw.err
}

func opAttrs(op *Op) string {
	var parts []string
	if op.Fn != "" {
		parts = append(parts, op.Fn)
	}
	if m := op.MatMul; m != nil {
		parts = append(parts, fmt.Sprintf("batch=%d m=%d n=%d k=%d", m.Batch, m.M, m.N, m.K))
		if m.TransA {
			parts = append(parts, "transA")
		}
		if m.TransB {
			parts = append(parts, "transB")
		}
	}
	if a := op.Attn; a != nil {
		parts = append(parts, fmt.Sprintf("batch=%d sq=%d skv=%d heads=%d kv=%d dh=%d",
			a.Batch, a.SeqQ, a.SeqKV, a.Heads, a.KVHeads, a.HeadDim))
		if a.Causal {
			parts = append(parts, "causal")
		}
		if a.Rope {
			parts = append(parts, "rope")
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func dims(shape []int64) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func ids(list []TensorID) string {
	s := make([]string, len(list))
	for i, t := range list {
		s[i] = "t" + strconv.Itoa(int(t))
	}
	return strings.Join(s, " ")
}

func layerText(l int) string {
	if l == NoLayer {
		return "-"
	}
	return strconv.Itoa(l)
}

// formatFloat prints f exactly and deterministically (shortest round-trip).
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// errWriter keeps the first write error so printing code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
