package chakra

import (
	"context"
	"sync"
	"testing"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// gpt3Plan is gpt3-6.7b (128 sequences of 2048 tokens) on temp48 in
// layout dp8-6x1-mb1-full, each op group on its fastest valid scheme:
// 6.7 million tasks per step, 68 thousand stored.
var gpt3Plan = sync.OnceValues(func() (*plan.Plan, error) {
	g, err := frontend.Load("gpt3-6.7b", frontend.Options{Batch: 128, Seq: 2048})
	if err != nil {
		return nil, err
	}
	s, _ := wafer.Preset("temp48")
	sp, err := partition.Build(g, s, partition.Config{MicroBatches: []int{1}, Recompute: []partition.Recompute{partition.Full}, ZeRO: []bool{false}})
	if err != nil {
		return nil, err
	}
	m, err := costmodel.New(s, costmodel.Params{})
	if err != nil {
		return nil, err
	}
	tab, err := m.Price(sp)
	if err != nil {
		return nil, err
	}
	a, err := fastest(tab, "dp8-6x1-mb1-full")
	if err != nil {
		return nil, err
	}
	return lower.Lower(tab, a)
})

// BenchmarkWrite exports whole steps: gpt2 on mesh4x4 (dp1-4x4-mb4-full,
// 486 thousand tasks) and, unless -short, gpt3-6.7b on temp48 (6.7
// million). tasks/s counts the step's tasks, MB/s the traces written.
func BenchmarkWrite(b *testing.B) {
	cases := []struct {
		name  string
		build func(testing.TB) *plan.Plan
	}{
		{"gpt2-mesh4x4", func(t testing.TB) *plan.Plan { p, _ := gpt2Plan(t, gpt2Layouts[0]); return p }},
		{"gpt3-6.7b-temp48", func(t testing.TB) *plan.Plan {
			if testing.Short() {
				t.Skip("prices and lowers gpt3-6.7b")
			}
			p, err := gpt3Plan()
			if err != nil {
				t.Fatal(err)
			}
			return p
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			p := tc.build(b)
			_, tasks := p.Size()
			dir := b.TempDir()
			var m *Manifest
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var err error
				if m, err = Write(context.Background(), dir, p, nil, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			var bytes int64
			for _, r := range m.Ranks {
				bytes += r.Bytes
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(tasks)/sec, "tasks/s")
			b.ReportMetric(float64(bytes)/1e6/sec, "MB/s")
			b.ReportMetric(float64(bytes)/1e6, "MB")
		})
	}
}
