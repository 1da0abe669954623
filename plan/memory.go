package plan

import (
	"fmt"

	"tempc/wafer"
)

// usage is a die's memory over some stretch of a plan: the net change of
// live bytes, the peak above the starting level, and where the peak is.
type usage struct {
	net, peak float64
	where     string
}

// then is u followed by v.
func (u usage) then(v usage) usage {
	if u.net+v.peak > u.peak {
		return usage{u.net + v.net, u.net + v.peak, v.where}
	}
	return usage{u.net + v.net, u.peak, u.where}
}

// repeat is u run n times: if it leaves bytes behind, the last run peaks
// highest.
func (u usage) repeat(n int) usage {
	r := usage{net: u.net * float64(n), peak: u.peak, where: u.where}
	if u.net > 0 {
		r.peak += u.net * float64(n-1)
	}
	return r
}

// checkMemory computes, per die, the peak of static + live bytes over the
// whole step — loops in closed form, without expanding them — and fails
// at the first die above capacity, naming the task where it peaks.
func (p *Plan) checkMemory(s *wafer.Spec) error {
	total := p.nodesUsage(p.Steps, s)
	for _, d := range p.Dies {
		u := total[d]
		if peak := p.StaticBytes + u.peak; peak > p.CapacityBytes {
			return fmt.Errorf("plan: die %s holds %.2f GB at %s, above its %.2f GB", s.Coord(d), peak/1e9, u.where, p.CapacityBytes/1e9)
		}
	}
	return nil
}

func (p *Plan) nodesUsage(nodes []Node, s *wafer.Spec) map[wafer.DieID]usage {
	acc := map[wafer.DieID]usage{}
	for i := range nodes {
		n := &nodes[i]
		var run map[wafer.DieID]usage
		if n.Program != nil {
			run = programUsage(n, s)
		} else {
			run = p.nodesUsage(n.Body, s)
		}
		for d, u := range run {
			acc[d] = acc[d].then(u.repeat(n.Count))
		}
	}
	return acc
}

// programUsage walks a block's tasks in order, per die.
func programUsage(n *Node, s *wafer.Spec) map[wafer.DieID]usage {
	m := map[wafer.DieID]usage{}
	for i := range n.Program.Tasks {
		t := &n.Program.Tasks[i]
		u := m[t.Die]
		at := fmt.Sprintf("node %q task %d %q", n.Name, i, t.Name)
		during := u.net + float64(t.Alloc+t.Scratch)
		if during > u.peak {
			u.peak, u.where = during, at
		}
		u.net += float64(t.Alloc - t.Free)
		m[t.Die] = u
	}
	return m
}
