//go:build cgo

package ilp_test

import (
	"testing"
	"time"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"

	// The solving tests cannot sit inside package ilp: highs imports ilp.
	. "github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ilp/highs"
)

// BenchmarkPlan runs the global level end to end — graph, strategy space,
// pricing, formulation, HiGHS — for the six benchmark models of
// REFERENCE.md on temp48 (batch 128, sequence 2048).
func BenchmarkPlan(b *testing.B) {
	s, _ := wafer.Preset("temp48")
	for _, model := range []string{"gpt3-6.7b", "gpt3-76b", "gpt3-175b", "llama2-13b", "llama3-70b", "opt-175b"} {
		b.Run(model, func(b *testing.B) {
			var solve float64
			for b.Loop() {
				g, err := frontend.Load(model, frontend.Options{Batch: 128, Seq: 2048})
				if err != nil {
					b.Fatal(err)
				}
				sp, err := partition.Build(g, s, partition.Config{})
				if err != nil {
					b.Fatal(err)
				}
				m, _ := costmodel.New(s, costmodel.Params{})
				tab, err := m.Price(sp)
				if err != nil {
					b.Fatal(err)
				}
				sol, err := Solve(tab, Config{}, highs.Solver{}, Options{TimeLimit: 60 * time.Second})
				if err != nil {
					b.Fatal(err)
				}
				solve = sol.Result.Seconds
			}
			b.ReportMetric(solve, "solve-s")
		})
	}
}
