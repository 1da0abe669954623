package sim

import (
	"testing"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// allToAll has every die send perDie bytes in total, split evenly over all
// other dies, all at once; die a queues its messages in the staggered order
// a+1, a+2, … so that dies do not all start on the same destination.
func allToAll(s *wafer.Spec, perDie int64) *plan.Program {
	var p plan.Program
	n := s.NumDies()
	for k := 1; k < n; k++ {
		for a := range n {
			p.Transfer("a2a", wafer.DieID(a), wafer.DieID((a+k)%n), perDie/int64(n-1), nil)
		}
	}
	return &p
}

// BenchmarkAllToAll48 simulates a 48-die all-to-all on temp48 in which each
// die sends 1 GiB (1 GiB/47 to each other die) from HBM to HBM: each HBM
// port reads 1 GiB and writes 1 GiB, at least 2.15 ms at 1 TB/s. It
// reports the simulated time and the event rate.
func BenchmarkAllToAll48(b *testing.B) {
	s := preset(b, "temp48")
	p := allToAll(s, 1<<30)
	var r *Result
	for b.Loop() {
		r = run(b, s, p, Config{})
	}
	b.ReportMetric(r.Makespan*1e3, "sim-ms")
	b.ReportMetric(float64(r.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(r.Events), "events")
}

// BenchmarkRingAllReduce8 is a 1 GiB ring all-reduce on an 8-die cycle,
// from HBM to HBM.
func BenchmarkRingAllReduce8(b *testing.B) {
	s := preset(b, "mesh4x4")
	c := func(r, col int) wafer.DieID { return s.ID(wafer.Coord{R: r, C: col}) }
	var p plan.Program
	ringAllReduce(&p, []wafer.DieID{c(0, 0), c(0, 1), c(0, 2), c(0, 3), c(1, 3), c(1, 2), c(1, 1), c(1, 0)}, 1<<30)
	var r *Result
	for b.Loop() {
		r = run(b, s, &p, Config{})
	}
	b.ReportMetric(float64(r.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
