package plan

import (
	"fmt"
	"io"
	"strings"
)

// WriteDOT writes the plan's loop structure as a Graphviz graph: a box per
// block (its run count and task mix), a cluster per loop; a pipeline's
// stages each as a cluster of their step (Stage.Steps).
func WriteDOT(w io.Writer, p *Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph plan {\n  label=%q;\n  node [shape=box];\n", fmt.Sprintf("%s on %s (%s)", p.Model, p.Wafer, p.Layout))
	id := 0
	prev := ""
	var emit func(nodes []Node, depth int)
	emit = func(nodes []Node, depth int) {
		for i := range nodes {
			n := &nodes[i]
			if n.Program == nil {
				fmt.Fprintf(&b, "%ssubgraph cluster_%d {\n%s  label=%q;\n", indent(depth), id, indent(depth), fmt.Sprintf("%s ×%d", n.Name, n.Count))
				id++
				emit(n.Body, depth+1)
				fmt.Fprintf(&b, "%s}\n", indent(depth))
				continue
			}
			kinds := map[Kind]int{}
			for _, t := range n.Program.Tasks {
				kinds[t.Kind]++
			}
			name := fmt.Sprintf("b%d", id)
			id++
			fmt.Fprintf(&b, "%s%s [label=%q];\n", indent(depth), name, fmt.Sprintf("%s ×%d\n%d compute, %d send, %d recv",
				n.Name, n.Count, kinds[Compute], kinds[Send]+kinds[Transfer], kinds[Recv]))
			if prev != "" {
				fmt.Fprintf(&b, "%s%s -> %s;\n", indent(depth), prev, name)
			}
			prev = name
		}
	}
	emit(p.Steps, 1)
	if pl := p.Pipeline; pl != nil {
		for k := range pl.Stages {
			prev = ""
			emit([]Node{{Name: fmt.Sprintf("stage %d", k), Count: 1, Body: pl.Stages[k].Steps(pl.MicroBatches)}}, 1)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func indent(d int) string { return strings.Repeat("  ", d) }
