//go:build cgo

package lower_test

import (
	"fmt"
	"log"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ilp/highs"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// compile lowers the global level's choice for gpt2 on mesh4x4.
func compile() *plan.Plan {
	g, err := frontend.Load("gpt2", frontend.Options{Batch: 16, Seq: 512})
	if err != nil {
		log.Fatal(err)
	}
	s, _ := wafer.Preset("mesh4x4")
	sp, err := partition.Build(g, s, partition.Config{})
	if err != nil {
		log.Fatal(err)
	}
	m, err := costmodel.New(s, costmodel.Params{})
	if err != nil {
		log.Fatal(err)
	}
	t, err := m.Price(sp)
	if err != nil {
		log.Fatal(err)
	}
	sol, err := ilp.Solve(t, ilp.Config{}, highs.Solver{}, ilp.Options{})
	if err != nil {
		log.Fatal(err)
	}
	p, err := lower.Lower(t, sol.Assignment)
	if err != nil {
		log.Fatal(err)
	}
	p.ModelSource = "gpt2"
	return p
}

// A plan read back is checked against its graph, rebuilt from what the
// plan names: the model and the step's batch and sequence length, and the
// wafer it was compiled for.
func ExampleCheckWork() {
	p := compile()
	g, err := frontend.Load(p.ModelSource, frontend.Options{Batch: p.Batch, Seq: p.Seq})
	if err != nil {
		log.Fatal(err)
	}
	s, err := wafer.ReadJSON("wafer_spec", p.WaferSpec)
	if err != nil {
		log.Fatal(err)
	}
	sp, err := partition.Build(g, s, partition.Config{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(lower.CheckWork(p, sp))
	p.Steps = p.Steps[:len(p.Steps)-1] // the optimizer step dropped
	fmt.Println(lower.CheckWork(p, sp))
	// Output:
	// <nil>
	// lower: plan computes 0 of the 1.74e+09 FLOPs of adam per step
}

// A plan whose messages were cut to one byte each does all its work but
// not its communication: CheckComm refuses it, its error naming a die and
// the bytes it is short of.
func ExampleCheckComm() {
	p := compile()
	g, err := frontend.Load(p.ModelSource, frontend.Options{Batch: p.Batch, Seq: p.Seq})
	if err != nil {
		log.Fatal(err)
	}
	sp, err := partition.Build(g, waferOf(p), partition.Config{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(lower.CheckComm(p, sp))
	p.Walk(func(n *plan.Node, _ int) error {
		for i := range n.Program.Tasks {
			if t := &n.Program.Tasks[i]; t.Kind == plan.Send || t.Kind == plan.Recv || t.Kind == plan.Transfer {
				t.Bytes = 1
			}
		}
		return nil
	})
	err = lower.CheckComm(p, sp)
	fmt.Println(err != nil)
	// Output:
	// <nil>
	// true
}

// waferOf is the wafer a plan was compiled for.
func waferOf(p *plan.Plan) *wafer.Spec {
	s, err := wafer.ReadJSON("wafer_spec", p.WaferSpec)
	if err != nil {
		log.Fatal(err)
	}
	return s
}
