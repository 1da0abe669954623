package plan

import (
	"strings"
	"testing"

	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/simple"
)

func TestWriteDOT(t *testing.T) {
	var p Program
	p.Compute("a", 0, 1, 0)
	q := p
	pl := &Plan{SchemaVersion: SchemaVersion, Model: "m", Wafer: "w", Layout: "l", Steps: []Node{
		{Name: "loop", Count: 3, Body: []Node{{Name: "x", Count: 1, Program: &p}, {Name: "y", Count: 2, Program: &q}}}}}
	var b strings.Builder
	if err := WriteDOT(&b, pl); err != nil {
		t.Fatal(err)
	}
	g := simple.NewDirectedGraph()
	if err := dot.Unmarshal([]byte(b.String()), g); err != nil {
		t.Fatalf("DOT does not parse: %v\n%s", err, b.String())
	}
	if g.Nodes().Len() != 2 || g.Edges().Len() != 1 || !strings.Contains(b.String(), "loop ×3") {
		t.Errorf("graph: %d nodes, %d edges\n%s", g.Nodes().Len(), g.Edges().Len(), b.String())
	}
}

// TestWriteDOTPipeline: a pipeline's stages are clusters of their steps:
// the test pipeline's two stages each run forward, forward–backward,
// backward and last-backward nodes and a finish.
func TestWriteDOTPipeline(t *testing.T) {
	p, _ := testPipeline(t)
	var b strings.Builder
	if err := WriteDOT(&b, p); err != nil {
		t.Fatal(err)
	}
	g := simple.NewDirectedGraph()
	if err := dot.Unmarshal([]byte(b.String()), g); err != nil {
		t.Fatalf("DOT does not parse: %v\n%s", err, b.String())
	}
	for _, want := range []string{"stage 0 ×1", "stage 1 ×1", "forward-backward ×3", "last backward ×1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("DOT lacks %q:\n%s", want, b.String())
		}
	}
}
