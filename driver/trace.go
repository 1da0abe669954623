package driver

import (
	"io"
	"sort"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// traceLinks is how many of the busiest links get a utilisation counter,
// and traceBins how many intervals of the trace's window it is averaged
// over.
const (
	traceLinks = 8
	traceBins  = 400
)

// writeTrace writes the Perfetto trace of the simulation's longest replay
// (the whole step when nothing was extrapolated), within window, with a
// counter of each used die's memory (static bytes and what its tasks hold)
// and of the busiest links' utilisation.
func writeTrace(res *tempc.Simulation, w io.Writer, p *plan.Plan, s *wafer.Spec, window [2]float64) error {
	st := res.Step
	ex, r := st.Expansion, st.Sample
	tm := make([]plan.Timing, len(r.Tasks))
	for i, x := range r.Tasks {
		tm[i] = plan.Timing{Start: x.Start, End: x.End}
	}
	used := map[wafer.DieID]bool{}
	for _, d := range p.Dies {
		used[d] = true
	}
	var counters []plan.Counter
	mem := map[wafer.DieID]*plan.Counter{}
	for _, d := range p.Dies {
		c := &plan.Counter{Die: d, Name: "memory GB", Points: []plan.CounterPoint{{Time: 0, Value: p.StaticBytes / 1e9}}}
		mem[d] = c
	}
	for _, m := range r.Memory {
		if c := mem[m.Die]; c != nil {
			c.Points = append(c.Points, plan.CounterPoint{Time: m.Time, Value: (p.StaticBytes + m.Bytes) / 1e9})
		}
	}
	for _, d := range p.Dies {
		counters = append(counters, *mem[d])
	}
	counters = append(counters, linkCounters(s, ex, tm, r.Makespan)...)
	return plan.WriteTrace(w, s, plan.StepTrace{Expansion: ex, Timings: tm, Counters: counters, Window: window})
}

// linkCounters is the utilisation over time of the links that carried the
// most bytes in the replay, each message's bytes spread evenly over its
// transfer on every link of its route.
func linkCounters(s *wafer.Spec, ex *plan.Expansion, tm []plan.Timing, makespan float64) []plan.Counter {
	if makespan <= 0 {
		return nil
	}
	type msg struct {
		links      []wafer.LinkID
		start, end float64
		bytes      float64
	}
	var msgs []msg
	total := map[wafer.LinkID]float64{}
	for i := range ex.Program.Tasks {
		t := &ex.Program.Tasks[i]
		if t.Kind != plan.Send && t.Kind != plan.Transfer {
			continue
		}
		route := t.Route
		if route == nil {
			var err error
			if route, err = s.Route(t.Die, t.Dst, wafer.XY); err != nil {
				continue
			}
		}
		m := msg{links: s.Links(route), start: tm[i].Start, end: tm[i].End, bytes: float64(t.Bytes)}
		for _, l := range m.links {
			total[l] += m.bytes
		}
		msgs = append(msgs, m)
	}
	var top []wafer.LinkID
	for l := range total {
		top = append(top, l)
	}
	sort.Slice(top, func(i, j int) bool {
		if total[top[i]] != total[top[j]] {
			return total[top[i]] > total[top[j]]
		}
		return top[i] < top[j]
	})
	top = top[:min(len(top), traceLinks)]
	bin := makespan / traceBins
	load := map[wafer.LinkID][]float64{}
	for _, l := range top {
		load[l] = make([]float64, traceBins)
	}
	for _, m := range msgs {
		dur := m.end - m.start
		for _, l := range m.links {
			b := load[l]
			if b == nil {
				continue
			}
			if dur <= 0 {
				b[min(int(m.start/bin), traceBins-1)] += m.bytes
				continue
			}
			rate := m.bytes / dur
			for k := max(0, int(m.start/bin)); k < traceBins && float64(k)*bin < m.end; k++ {
				lo, hi := max(m.start, float64(k)*bin), min(m.end, float64(k+1)*bin)
				if hi > lo {
					b[k] += rate * (hi - lo)
				}
			}
		}
	}
	var out []plan.Counter
	for _, l := range top {
		from, _ := s.LinkEnds(l)
		c := plan.Counter{Die: from, Name: "link " + s.LinkName(l) + " utilisation"}
		for k, bytes := range load[l] {
			c.Points = append(c.Points, plan.CounterPoint{Time: float64(k) * bin, Value: bytes / (s.Link.Bandwidth * bin)})
		}
		out = append(out, c)
	}
	return out
}
