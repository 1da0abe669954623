package plan

import (
	"fmt"
	"sort"

	"github.com/tempc/tempc/wafer"
)

// usage is a die's memory over some stretch of a plan, relative to the
// live bytes at its start: the net change, the highest level (and where it
// is reached) and the lowest level after a free.
type usage struct {
	net, peak, low float64
	where          string
}

// then is u followed by v.
func (u usage) then(v usage) usage {
	r := usage{net: u.net + v.net, peak: u.peak, where: u.where, low: min(u.low, u.net+v.low)}
	if u.net+v.peak > u.peak {
		r.peak, r.where = u.net+v.peak, v.where
	}
	return r
}

// repeat is u run n times: if it leaves bytes behind, the last run peaks
// highest; if it frees more than it allocates, the last run sinks lowest.
func (u usage) repeat(n int) usage {
	r := u
	r.net = u.net * float64(n)
	if u.net > 0 {
		r.peak += u.net * float64(n-1)
	} else {
		r.low += u.net * float64(n-1)
	}
	return r
}

// checkMemory computes, per die, the peak of static + live bytes over the
// whole step — loops in closed form, without expanding them — and fails
// at the first die above capacity, naming the task where it peaks. Live
// bytes start at zero and must never sink below it: a task may free only
// what its die has allocated and not yet freed.
func (p *Plan) checkMemory(s *wafer.Spec) error {
	if pl := p.Pipeline; pl != nil {
		for k := range pl.Stages {
			st := &pl.Stages[k]
			stage := &Plan{StaticBytes: st.StaticBytes, CapacityBytes: p.CapacityBytes, Steps: st.Steps(pl.MicroBatches)}
			if err := stage.checkMemory(s); err != nil {
				return fmt.Errorf("stage %d: %w", k, err)
			}
		}
		return nil
	}
	total := nodesUsage(p.Steps)
	dies := make([]wafer.DieID, 0, len(total))
	for d := range total {
		dies = append(dies, d)
	}
	sort.Slice(dies, func(i, j int) bool { return dies[i] < dies[j] })
	for _, d := range dies {
		u := total[d]
		if u.low < 0 {
			return p.overFree(s, d)
		}
		if peak := p.StaticBytes + u.peak; peak > p.CapacityBytes {
			return fmt.Errorf("plan: die %s holds %.2f GB at %s, above its %.2f GB", dieName(s, d), peak/1e9, u.where, p.CapacityBytes/1e9)
		}
	}
	return nil
}

func nodesUsage(nodes []Node) map[wafer.DieID]usage {
	acc := map[wafer.DieID]usage{}
	for i := range nodes {
		n := &nodes[i]
		var run map[wafer.DieID]usage
		if n.Program != nil {
			run = programUsage(n)
		} else {
			run = nodesUsage(n.Body)
		}
		for d, u := range run {
			acc[d] = acc[d].then(u.repeat(n.Count))
		}
	}
	return acc
}

// programUsage walks a block's tasks in order, per die.
func programUsage(n *Node) map[wafer.DieID]usage {
	m := map[wafer.DieID]usage{}
	for i := range n.Program.Tasks {
		t := &n.Program.Tasks[i]
		u := m[t.Die]
		during := u.net + float64(t.Alloc) + float64(t.Scratch)
		if during > u.peak {
			u.peak, u.where = during, fmt.Sprintf("node %q task %d %q", n.Name, i, t.Name)
		}
		u.net += float64(t.Alloc) - float64(t.Free)
		u.low = min(u.low, u.net)
		m[t.Die] = u
	}
	return m
}

// overFree finds the first task at which die d's live bytes sink below
// zero — descending only into the loop run where that first happens — and
// reports it.
func (p *Plan) overFree(s *wafer.Spec, d wafer.DieID) error {
	level := 0.0
	nodes, run := p.Steps, ""
	for {
		n, k, start, ok := firstBelow(nodes, d, level)
		if !ok {
			return fmt.Errorf("plan: die %s: live bytes sink below zero, but no node shows where", dieName(s, d))
		}
		if n.Count > 1 {
			run += fmt.Sprintf(", run %d of %d of %q", k+1, n.Count, n.Name)
		}
		if n.Program == nil {
			nodes, level = n.Body, start
			continue
		}
		for i := range n.Program.Tasks {
			t := &n.Program.Tasks[i]
			if t.Die != d {
				continue
			}
			held := start + float64(t.Alloc)
			if start += float64(t.Alloc) - float64(t.Free); start < 0 {
				return fmt.Errorf("plan: die %s, node %q task %d %q%s: frees %d bytes, more than the %.0f it has allocated and not freed",
					dieName(s, d), n.Name, i, t.Name, run, t.Free, held)
			}
		}
		return fmt.Errorf("plan: die %s, node %q%s: live bytes sink below zero, but at no task", dieName(s, d), n.Name, run)
	}
}

// firstBelow returns the first node of nodes, and its first run, in which
// die d's live bytes, starting at level, sink below zero, with the level
// at the start of that run.
func firstBelow(nodes []Node, d wafer.DieID, level float64) (n *Node, k int, start float64, ok bool) {
	for i := range nodes {
		n := &nodes[i]
		var u usage
		if n.Program != nil {
			u = programUsage(n)[d]
		} else {
			u = nodesUsage(n.Body)[d]
		}
		if level+u.repeat(n.Count).low >= 0 {
			level += u.net * float64(n.Count)
			continue
		}
		// Run k sinks to level + k·net + low, lower with every run when
		// net < 0: find the first run below zero, guarding the rounding.
		k := 0
		if level+u.low >= 0 {
			k = int(min((level+u.low)/(-u.net), float64(n.Count-1)))
			for k > 0 && level+float64(k-1)*u.net+u.low < 0 {
				k--
			}
			for k < n.Count-1 && level+float64(k)*u.net+u.low >= 0 {
				k++
			}
		}
		return n, k, level + float64(k)*u.net, true
	}
	return nil, 0, 0, false
}
