package frontend

import (
	"context"
	"errors"

	"github.com/tempc/tempc/internal/jsonpos"
	"github.com/tempc/tempc/ir"
)

// The members of each object of the JSON graph format (graph.schema.json).
var (
	graphKeys  = []string{"schema_version", "name", "batch", "seq", "layers", "tensors", "ops"}
	tensorKeys = []string{"id", "name", "shape", "dtype", "role", "layer"}
	opKeys     = []string{"id", "name", "kind", "phase", "fn", "layer", "class", "key", "inputs", "outputs", "updates", "matmul", "attention"}
	matmulKeys = []string{"batch", "m", "n", "k", "trans_a", "trans_b"}
	attnKeys   = []string{"batch", "seq_q", "seq_kv", "heads", "kv_heads", "head_dim", "causal", "rope"}
)

// ReadGraphJSON parses tempc's JSON graph format and verifies the graph.
// Every problem is reported with its file position and field: malformed
// JSON, missing, null or unknown fields, values of the wrong type, numbers
// that are not integers, not positive, or beyond tempc's limits (batch·seq
// at most 2^30 tokens, at most 4096 layers, 2^20 tensors and 2^20 ops,
// 2^50 elements per tensor or matmul/attention operand, 2^56 bytes of
// tensors), unknown kinds or roles, references to missing tensors, and
// each invariant ir.Verify finds broken (at the op or tensor concerned).
func ReadGraphJSON(file string, data []byte) (*ir.Graph, error) {
	return readGraphJSON(context.Background(), file, data)
}

// readGraphJSON is ReadGraphJSON, stopping every checkEvery entries when
// ctx is done, with an error wrapping ctx.Err().
func readGraphJSON(ctx context.Context, file string, data []byte) (*ir.Graph, error) {
	o, err := parse(file, data)
	if err != nil {
		return nil, err
	}
	e := &jsonpos.Errs{File: file, Prefix: "frontend"}
	if v, ok := o.Int(e, "schema_version", true); ok && v != GraphSchemaVersion {
		e.Add(o.FieldPos("schema_version"), "schema_version", "unsupported version %d (this tempc reads %d)",
			v, GraphSchemaVersion)
	}
	if e.Len() > 0 {
		return nil, e.Err() // the rest may mean something else in another version
	}
	r := &graphReader{e: e, g: &ir.Graph{}}
	r.header(o)
	tensors := r.list(o, "tensors")
	ops := r.list(o, "ops")
	for i, f := range tensors {
		if r.full(o) {
			break
		}
		if i%checkEvery == 0 {
			if err := stopped(ctx, file); err != nil {
				return nil, err
			}
		}
		r.tensor(i, f)
	}
	r.totalBytes(o)
	for i, f := range ops {
		if r.full(o) {
			break
		}
		if i%checkEvery == 0 {
			if err := stopped(ctx, file); err != nil {
				return nil, err
			}
		}
		r.op(i, f, len(tensors))
	}
	if err := stopped(ctx, file); err != nil {
		return nil, err
	}
	if e.Len() > 0 {
		return nil, e.Err()
	}
	var ve *ir.VerifyError
	if err := r.g.Verify(); errors.As(err, &ve) {
		for _, p := range ve.Problems {
			pos, field := o.Pos, ""
			if p.Op != ir.NoOp && int(p.Op) < len(ops) {
				pos, field = ops[p.Op].Pos, ops[p.Op].Path
			} else if p.Tensor != ir.NoTensor && int(p.Tensor) < len(tensors) {
				pos, field = tensors[p.Tensor].Pos, tensors[p.Tensor].Path
			}
			e.Add(pos, field, "%s", p.Msg)
		}
		return nil, e.Err()
	}
	return r.g, nil
}

// graphReader builds a graph from a JSON graph, reporting problems to e.
// Elements at fault are added with placeholder values, so that IDs stay
// aligned with indices and every element is checked.
type graphReader struct {
	e *jsonpos.Errs
	g *ir.Graph
	// layersOK tells whether the layers field was read, so layer indices
	// can be checked against it.
	layersOK bool
	// capped tells whether reading stopped at maxGraphErrors problems.
	capped bool
}

// maxGraphErrors bounds the problems reported for one graph file: a file
// of a million faulty entries is reported by its first hundred, not by a
// message of a million lines.
const maxGraphErrors = 100

// full tells whether maxGraphErrors problems were reported, saying once
// (at the top-level object o) that reading stopped there.
func (r *graphReader) full(o *jsonpos.Object) bool {
	if r.e.Len() < maxGraphErrors {
		return false
	}
	if !r.capped {
		r.capped = true
		r.e.Add(o.Pos, "", "stopped reading after these %d problems; more may follow", r.e.Len())
	}
	return true
}

func (r *graphReader) header(o *jsonpos.Object) {
	o.Unknown(r.e, graphKeys...)
	r.g.Name, _ = o.Str(r.e, "name", true)
	b, bok := o.IntIn(r.e, "batch", true, 1, maxTokens)
	s, sok := o.IntIn(r.e, "seq", true, 1, maxTokens)
	if bok && sok && b*s > maxTokens { // each is at most 2^30: no overflow
		r.e.Add(o.FieldPos("seq"), "seq", "batch %d × seq %d exceeds tempc's limit of %d tokens per step", b, s, int64(maxTokens))
	}
	r.g.Batch, r.g.Seq = b, s
	l, ok := o.IntIn(r.e, "layers", true, 0, maxLayers)
	r.g.Layers, r.layersOK = int(l), ok
}

// list returns the elements of the array under key, reporting more than
// maxGraphItems (and then returning none).
func (r *graphReader) list(o *jsonpos.Object, key string) []*jsonpos.Field {
	elems := o.Array(r.e, key, true)
	if len(elems) > maxGraphItems {
		r.e.Add(o.FieldPos(key), key, "%d entries exceed tempc's limit of %d", len(elems), maxGraphItems)
		return nil
	}
	return elems
}

// object parses element i as an object with the given members and checks
// that its id is i.
func (r *graphReader) object(i int, f *jsonpos.Field, keys []string) *jsonpos.Object {
	o := f.Object(r.e)
	if o == nil {
		return nil
	}
	o.Unknown(r.e, keys...)
	if id, ok := o.Int(r.e, "id", true); ok && id != int64(i) {
		r.e.Add(o.FieldPos("id"), o.Fields["id"].Path, "is %d, want its index %d", id, i)
	}
	return o
}

// name reads the required, non-empty name of o.
func (r *graphReader) name(o *jsonpos.Object) string {
	n, ok := o.Str(r.e, "name", true)
	if ok && n == "" {
		r.e.Add(o.FieldPos("name"), o.Fields["name"].Path, "must not be empty")
	}
	return n
}

// enum reads the required key of o as one of names, parsed by parse.
func enum[T any](r *graphReader, o *jsonpos.Object, key string, parse func(string) (T, bool), names []string) T {
	s, ok := o.Str(r.e, key, true)
	v, known := parse(s)
	if ok && !known {
		r.e.Add(o.FieldPos(key), o.Fields[key].Path, "unknown %s %s (want one of %v)", key, echo(s), names)
	}
	return v
}

// layer reads the optional block index of o, which must be below layers.
func (r *graphReader) layer(o *jsonpos.Object) int {
	l, ok := o.IntIn(r.e, "layer", false, 0, maxLayers-1)
	if !ok {
		return ir.NoLayer
	}
	if r.layersOK && l >= int64(r.g.Layers) {
		r.e.Add(o.FieldPos("layer"), o.Fields["layer"].Path, "block %d does not exist (layers is %d)", l, r.g.Layers)
	}
	return int(l)
}

func (r *graphReader) tensor(i int, f *jsonpos.Field) {
	o := r.object(i, f, tensorKeys)
	if o == nil {
		r.g.AddTensor("", nil, 0, 0, ir.NoLayer)
		return
	}
	name := r.name(o)
	shape := r.shape(o)
	dt := enum(r, o, "dtype", ir.ParseDType, ir.DTypeNames())
	role := enum(r, o, "role", ir.ParseRole, fileRoles)
	if role == ir.Boundary {
		r.e.Add(o.FieldPos("role"), o.Fields["role"].Path, "role boundary belongs to pipeline stage graphs, which the graph format does not hold (want one of %v)", fileRoles)
	}
	r.g.AddTensor(name, shape, dt, role, r.layer(o))
}

// fileRoles are the tensor roles a graph file may give: all but Boundary.
var fileRoles = ir.RoleNames()[:ir.Boundary]

// shape reads a list of positive dimensions whose product is at most
// maxElements; a dimension at fault reads as 1.
func (r *graphReader) shape(o *jsonpos.Object) []int64 {
	dims := o.Array(r.e, "shape", true)
	shape := make([]int64, len(dims))
	for i, d := range dims {
		if r.e.Len() >= maxGraphErrors {
			break
		}
		v, ok := d.IntIn(r.e, 1, maxElements)
		if !ok {
			v = 1
		}
		shape[i] = v
	}
	if n := elements(shape); n > maxElements {
		r.e.Add(o.FieldPos("shape"), o.Fields["shape"].Path, "%.4g elements exceed tempc's limit of 2^50 per tensor", n)
		for i := range shape {
			shape[i] = 1
		}
	}
	return shape
}

// totalBytes reports tensors whose sizes add up to more than maxGraphBytes.
func (r *graphReader) totalBytes(o *jsonpos.Object) {
	total := 0.0
	for i := range r.g.Tensors {
		t := &r.g.Tensors[i]
		total += elements(t.Shape) * float64(t.DType.Size())
	}
	if total > maxGraphBytes {
		r.e.Add(o.FieldPos("tensors"), "tensors", "%.4g bytes of tensors exceed tempc's limit of 2^56 (64 PiB)", total)
	}
}

func (r *graphReader) op(i int, f *jsonpos.Field, nTensors int) {
	o := r.object(i, f, opKeys)
	if o == nil {
		r.g.AddOp(ir.Op{})
		return
	}
	op := ir.Op{Name: r.name(o), Kind: enum(r, o, "kind", ir.ParseKind, ir.KindNames()),
		Phase: enum(r, o, "phase", ir.ParsePhase, ir.PhaseNames()), Layer: r.layer(o),
		Inputs: r.ids(o, "inputs", true, nTensors), Outputs: r.ids(o, "outputs", true, nTensors),
		Updates: r.ids(o, "updates", false, nTensors)}
	op.Fn, _ = o.Str(r.e, "fn", false)
	op.Class, _ = o.Str(r.e, "class", false)
	op.Key, _ = o.Str(r.e, "key", false)
	if m := o.Child(r.e, "matmul"); m != nil {
		op.MatMul = r.matmul(m)
	}
	if a := o.Child(r.e, "attention"); a != nil {
		op.Attn = r.attention(a)
	}
	r.g.AddOp(op)
}

// ids reads a list of tensor IDs, each below n.
func (r *graphReader) ids(o *jsonpos.Object, key string, required bool, n int) []ir.TensorID {
	elems := o.Array(r.e, key, required)
	out := make([]ir.TensorID, len(elems))
	for i, f := range elems {
		out[i] = ir.NoTensor // for an ID at fault
		if r.e.Len() >= maxGraphErrors {
			continue
		}
		id, ok := f.Int(r.e)
		switch {
		case !ok:
		case id < 0 || id >= int64(n):
			r.e.Add(f.Pos, f.Path, "tensor %d does not exist (%d tensors)", id, n)
		default:
			out[i] = ir.TensorID(id)
		}
	}
	return out
}

// sizes reads the required keys of o as positive sizes at most maxElements;
// one at fault reads as 1.
func (r *graphReader) sizes(o *jsonpos.Object, keys ...string) []int64 {
	v := make([]int64, len(keys))
	for i, k := range keys {
		n, ok := o.IntIn(r.e, k, true, 1, maxElements)
		v[i] = n
		if !ok {
			v[i] = 1
		}
	}
	return v
}

// bound reports an operand of n elements, described by what, of the op
// attributes o when n exceeds maxElements.
func (r *graphReader) bound(o *jsonpos.Object, what string, n float64) {
	if n > maxElements {
		r.e.Add(o.Pos, o.Path, "%s = %.4g elements exceed tempc's limit of 2^50 per tensor", what, n)
	}
}

func (r *graphReader) matmul(o *jsonpos.Object) *ir.MatMulAttrs {
	o.Unknown(r.e, matmulKeys...)
	v := r.sizes(o, "batch", "m", "n", "k")
	m := &ir.MatMulAttrs{Batch: v[0], M: v[1], N: v[2], K: v[3],
		TransA: o.Bool(r.e, "trans_a", false), TransB: o.Bool(r.e, "trans_b", false)}
	b, mm, n, k := float64(m.Batch), float64(m.M), float64(m.N), float64(m.K)
	r.bound(o, "batch·m·k", b*mm*k)
	r.bound(o, "batch·m·n", b*mm*n)
	r.bound(o, "batch·k·n", b*k*n)
	return m
}

func (r *graphReader) attention(o *jsonpos.Object) *ir.AttnAttrs {
	o.Unknown(r.e, attnKeys...)
	v := r.sizes(o, "batch", "seq_q", "seq_kv", "heads", "kv_heads", "head_dim")
	a := &ir.AttnAttrs{Batch: v[0], SeqQ: v[1], SeqKV: v[2], Heads: v[3], KVHeads: v[4], HeadDim: v[5],
		Causal: o.Bool(r.e, "causal", false), Rope: o.Bool(r.e, "rope", false)}
	packed := (float64(a.Heads) + 2*float64(a.KVHeads)) * float64(a.HeadDim) // the width of QKV
	r.bound(o, "batch·seq_q·(heads+2·kv_heads)·head_dim", float64(a.Batch)*float64(a.SeqQ)*packed)
	r.bound(o, "batch·seq_kv·(heads+2·kv_heads)·head_dim", float64(a.Batch)*float64(a.SeqKV)*packed)
	return a
}
