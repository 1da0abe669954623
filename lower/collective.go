package lower

import (
	"fmt"

	"tempc/plan"
	"tempc/wafer"
)

// Fragment is what a builder appended: the tasks that finish it, per die
// (a die may appear more than once across rings), for later work to depend
// on.
type Fragment struct {
	Last []plan.TaskID
}

// ringSteps appends steps rounds in which every die of every ring sends
// bytes to its successor over the default route; the first reduce steps
// add what they carry into the receiver's copy. A die's send of step s
// waits for its receive of step s−1 (the data it forwards or reduces) and
// for its own send of step s−1 (one block buffer per neighbour), and step 0
// waits for after. Payloads go from HBM to HBM.
func ringSteps(p *plan.Program, name string, rings [][]wafer.DieID, steps, reduce int, bytes int64, after []plan.TaskID) Fragment {
	var frag Fragment
	for _, ring := range rings {
		n := len(ring)
		if n < 2 {
			continue
		}
		recv := make([]plan.TaskID, n) // last receive at each position
		sent := make([]plan.TaskID, n) // last send from each position
		for s := 0; s < steps; s++ {
			cur := make([]plan.TaskID, n)
			for i := range ring {
				deps := after
				if s > 0 {
					deps = []plan.TaskID{recv[i], sent[i]}
				}
				cur[i] = p.Transfer(fmt.Sprintf("%s.step%d", name, s), ring[i], ring[(i+1)%n], bytes, nil, deps...)
				p.Tasks[cur[i]].Reduce = s < reduce
			}
			for i := range ring {
				recv[(i+1)%n], sent[i] = cur[i], cur[i]
			}
		}
		frag.Last = append(frag.Last, recv...)
	}
	return frag
}

// chunk divides bytes over p parts, rounding up.
func chunk(bytes int64, p int) int64 { return (bytes + int64(p) - 1) / int64(p) }

// AllReduce appends a ring all-reduce of bytes per die on every ring at
// once: 2(P−1) steps of bytes/P (reduce-scatter, then all-gather). The
// reductions are done as the chunks arrive (Task.Reduce), not as compute.
func AllReduce(p *plan.Program, rings [][]wafer.DieID, bytes int64, after ...plan.TaskID) Fragment {
	n := size(rings)
	return ringSteps(p, "allreduce", rings, 2*(n-1), n-1, chunk(bytes, n), after)
}

// AllGather appends a ring all-gather after which every die holds bytes:
// P−1 steps of bytes/P.
func AllGather(p *plan.Program, rings [][]wafer.DieID, bytes int64, after ...plan.TaskID) Fragment {
	n := size(rings)
	return ringSteps(p, "allgather", rings, n-1, 0, chunk(bytes, n), after)
}

// ReduceScatter appends a ring reduce-scatter of bytes per die: P−1 steps
// of bytes/P.
func ReduceScatter(p *plan.Program, rings [][]wafer.DieID, bytes int64, after ...plan.TaskID) Fragment {
	n := size(rings)
	return ringSteps(p, "reducescatter", rings, n-1, n-1, chunk(bytes, n), after)
}

func size(rings [][]wafer.DieID) int {
	n := 1
	for _, r := range rings {
		n = max(n, len(r))
	}
	return n
}

// AllToAll appends an all-to-all on every group at once: every die sends
// bytes/P to every other die of its group, all messages at once over the
// default routes; a zero-time join task on each die waits for all its
// incoming messages and ends the fragment there. Die i queues its
// messages to dies i+1, i+2, … of its group in turn, as all-to-all
// implementations stagger them: were every die to start with the group's
// first die, a die's few DMA engines would all be sending to the same few
// dies, whose HBM ports would take every arrival while the others idled.
func AllToAll(p *plan.Program, groups [][]wafer.DieID, bytes int64, after ...plan.TaskID) Fragment {
	var frag Fragment
	for _, g := range groups {
		n := len(g)
		in := make([][]plan.TaskID, n)
		for i, a := range g {
			for k := 1; k < n; k++ {
				j := (i + k) % n
				in[j] = append(in[j], p.Transfer("alltoall", a, g[j], chunk(bytes, n), nil, after...))
			}
		}
		for j, d := range g {
			if len(in[j]) > 0 {
				frag.Last = append(frag.Last, p.Delay("alltoall.join", d, 0, in[j]...))
			}
		}
	}
	return frag
}
