package ir

import (
	"errors"
	"fmt"
	"strings"

	"gonum.org/v1/gonum/graph/simple"
	"gonum.org/v1/gonum/graph/topo"
)

// maxVerifyErrors bounds how many problems Verify lists; a badly broken
// graph would otherwise produce one line per op.
const maxVerifyErrors = 50

// maxElements bounds a tensor's element count (2^50: a petabyte of bf16), so
// sizes and FLOPs computed from shapes cannot overflow int64.
const maxElements = 1 << 50

// Problem is one violated invariant, naming the op and/or tensor at fault
// (NoOp / NoTensor when it concerns none).
type Problem struct {
	Op     OpID
	Tensor TensorID
	Msg    string
}

// NoTensor marks a Problem that concerns no particular tensor.
const NoTensor TensorID = -1

// VerifyError lists the problems Verify found, in the order it checks.
type VerifyError struct {
	Problems []Problem
	// Truncated is how many further problems were found but not listed.
	Truncated int
}

func (e *VerifyError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Msg
	}
	s := "ir: invalid graph: " + strings.Join(msgs, "; ")
	if e.Truncated > 0 {
		s += fmt.Sprintf("; and %d more", e.Truncated)
	}
	return s
}

type verifier struct {
	g   *Graph
	err VerifyError
}

// report records a problem about op and/or tensor t.
func (v *verifier) report(op OpID, t TensorID, format string, args ...any) {
	if len(v.err.Problems) >= maxVerifyErrors {
		v.err.Truncated++
		return
	}
	v.err.Problems = append(v.err.Problems, Problem{Op: op, Tensor: t, Msg: fmt.Sprintf(format, args...)})
}

// Verify checks the invariants listed in the package documentation and
// returns a *VerifyError naming every offending op and tensor, or nil.
func (g *Graph) Verify() error {
	v := &verifier{g: g}
	v.tensors()
	producers := v.producers()
	for i := range g.Ops {
		v.op(i)
	}
	v.dangling(producers)
	v.outputs(producers)
	if len(v.err.Problems) == 0 {
		v.acyclic(producers)
	}
	if len(v.err.Problems) == 0 {
		v.ordered(producers)
	}
	if len(v.err.Problems) == 0 {
		return nil
	}
	return &v.err
}

func (v *verifier) tensors() {
	for i := range v.g.Tensors {
		t := &v.g.Tensors[i]
		if t.ID != TensorID(i) {
			v.report(NoOp, TensorID(i), "tensor at index %d has ID %d", i, t.ID)
		}
		if t.Name == "" {
			v.report(NoOp, TensorID(i), "tensor %d has no name", i)
		}
		if t.DType >= numDTypes || t.Role >= numRoles {
			v.report(NoOp, TensorID(i), "tensor %d %q has invalid dtype %v or role %v", i, t.Name, t.DType, t.Role)
		}
		elems := int64(1)
		for d, n := range t.Shape {
			switch {
			case n <= 0:
				v.report(NoOp, TensorID(i), "tensor %d %q: dimension %d is %d, must be positive", i, t.Name, d, n)
			case elems > maxElements/n:
				v.report(NoOp, TensorID(i), "tensor %d %q: shape %v has more than 2^50 elements", i, t.Name, t.Shape)
				elems = 1
			default:
				elems *= n
			}
		}
	}
}

// producers checks single assignment and returns the producer of each tensor.
func (v *verifier) producers() []OpID {
	g := v.g
	p := make([]OpID, len(g.Tensors))
	for i := range p {
		p[i] = NoOp
	}
	for i := range g.Ops {
		op := &g.Ops[i]
		for _, t := range op.Outputs {
			if !g.validTensor(t) {
				continue // reported by op()
			}
			if p[t] != NoOp {
				v.report(OpID(i), t, "tensor %d %q is produced by both %v and %v", t, g.Tensors[t].Name, g.Ops[p[t]].String(), op)
				continue
			}
			p[t] = OpID(i)
		}
	}
	return p
}

// outputs checks that a stage's outputs are forward activations its ops
// produce, each listed once.
func (v *verifier) outputs(producers []OpID) {
	g := v.g
	seen := map[TensorID]bool{}
	for _, t := range g.Outputs {
		switch {
		case !g.validTensor(t):
			v.report(NoOp, t, "output %d is not a tensor of the graph", t)
		case seen[t]:
			v.report(NoOp, t, "output %d %q is listed twice", t, g.Tensors[t].Name)
		case g.Tensors[t].Role != Activation || producers[t] == NoOp:
			v.report(NoOp, t, "output %d %q must be a produced activation, not a %v", t, g.Tensors[t].Name, g.Tensors[t].Role)
		}
		seen[t] = true
	}
}

// dangling reports tensors that need a producer and have none, leaves that
// some op claims to produce, and tensors nothing uses at all.
func (v *verifier) dangling(producers []OpID) {
	g := v.g
	used := make([]bool, len(g.Tensors))
	for i := range g.Ops {
		op := &g.Ops[i]
		for _, list := range [][]TensorID{op.Inputs, op.Outputs, op.Updates} {
			for _, t := range list {
				if g.validTensor(t) {
					used[t] = true
				}
			}
		}
	}
	for i := range g.Tensors {
		t := &g.Tensors[i]
		leaf := t.Role == Input || t.Role == Weight || t.Role == OptState || t.Role == Boundary
		switch {
		case !used[i]:
			v.report(NoOp, TensorID(i), "tensor %d %q is used by no op", i, t.Name)
		case leaf && producers[i] != NoOp:
			v.report(producers[i], TensorID(i), "tensor %d %q has role %v but is produced by %v", i, t.Name, t.Role, g.Ops[producers[i]].String())
		case !leaf && producers[i] == NoOp:
			v.report(NoOp, TensorID(i), "tensor %d %q (%v) is read but never produced", i, t.Name, t.Role)
		}
	}
}

// acyclic checks that the producer→consumer relation has no cycle, with
// gonum's topological sort.
func (v *verifier) acyclic(producers []OpID) {
	g := v.g
	dg := simple.NewDirectedGraph()
	for i := range g.Ops {
		dg.AddNode(simple.Node(i))
	}
	for i := range g.Ops {
		for _, t := range g.Ops[i].Inputs {
			p := producers[t]
			if p == NoOp {
				continue
			}
			if p == OpID(i) {
				v.report(OpID(i), t, "%v reads its own output %d %q", &g.Ops[i], t, g.Tensors[t].Name)
				continue
			}
			dg.SetEdge(dg.NewEdge(simple.Node(p), simple.Node(i)))
		}
	}
	if _, err := topo.Sort(dg); err != nil {
		var unorderable topo.Unorderable
		if errors.As(err, &unorderable) && len(unorderable) > 0 {
			names := []string{}
			for _, n := range unorderable[0] {
				names = append(names, fmt.Sprintf("%q", g.Ops[n.ID()].Name))
			}
			v.report(OpID(unorderable[0][0].ID()), NoTensor, "dependency cycle through ops %s", strings.Join(names, ", "))
			return
		}
		v.report(NoOp, NoTensor, "dependency cycle: %v", err)
	}
}

// ordered checks that IDs are a topological order: every op reads only
// tensors produced by ops with smaller IDs, so passes can walk g.Ops forward
// (or backward, for differentiation) without sorting.
func (v *verifier) ordered(producers []OpID) {
	g := v.g
	for i := range g.Ops {
		for _, t := range g.Ops[i].Inputs {
			if p := producers[t]; p != NoOp && p > OpID(i) {
				v.report(OpID(i), t, "%v reads tensor %d %q before its producer %v; ops must be listed in dependency order",
					&g.Ops[i], t, g.Tensors[t].Name, &g.Ops[p])
			}
		}
	}
}
