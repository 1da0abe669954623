package ir

import (
	"fmt"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/encoding"
	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/simple"
)

// DOT renders the graph as a Graphviz dataflow graph: ops are boxes, tensors
// are ellipses (weights and optimizer states shaded), edges follow the data.
// Node order is by ID, so the output is deterministic.
func (g *Graph) DOT() ([]byte, error) {
	dg := simple.NewDirectedGraph()
	nOps := int64(len(g.Ops))
	for i := range g.Ops {
		dg.AddNode(dotNode{id: int64(i), name: fmt.Sprintf("o%d", i), attrs: opDOTAttrs(&g.Ops[i])})
	}
	for i := range g.Tensors {
		dg.AddNode(dotNode{id: nOps + int64(i), name: fmt.Sprintf("t%d", i), attrs: tensorDOTAttrs(&g.Tensors[i])})
	}
	link := func(from, to int64) {
		if from != to && !dg.HasEdgeFromTo(from, to) {
			dg.SetEdge(dg.NewEdge(dg.Node(from), dg.Node(to)))
		}
	}
	for i := range g.Ops {
		op := &g.Ops[i]
		for _, t := range op.Inputs {
			link(nOps+int64(t), int64(i))
		}
		for _, t := range op.Outputs {
			link(int64(i), nOps+int64(t))
		}
		for _, t := range op.Updates {
			link(int64(i), nOps+int64(t))
		}
	}
	return dot.Marshal(dg, g.Name, "", "  ")
}

func opDOTAttrs(op *Op) []encoding.Attribute {
	return []encoding.Attribute{
		{Key: "shape", Value: "box"},
		{Key: "label", Value: fmt.Sprintf("%q", fmt.Sprintf("%s\n%s %s%s", op.Name, op.Phase, op.Kind, opAttrs(op)))},
	}
}

func tensorDOTAttrs(t *Tensor) []encoding.Attribute {
	attrs := []encoding.Attribute{
		{Key: "shape", Value: "ellipse"},
		{Key: "label", Value: fmt.Sprintf("%q", fmt.Sprintf("%s\n%s%s", t.Name, t.DType, dims(t.Shape)))},
	}
	if t.Role == Weight || t.Role == OptState || t.Role == Gradient {
		attrs = append(attrs, encoding.Attribute{Key: "style", Value: "filled"})
	}
	return attrs
}

// dotNode is a graph node carrying its DOT name and attributes.
type dotNode struct {
	id    int64
	name  string
	attrs []encoding.Attribute
}

func (n dotNode) ID() int64                        { return n.id }
func (n dotNode) DOTID() string                    { return n.name }
func (n dotNode) Attributes() []encoding.Attribute { return n.attrs }

var _ graph.Node = dotNode{}
