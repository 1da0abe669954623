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
// bytes to its successor over the default route. A die's send of step s
// waits for its receive of step s−1 (the data it forwards or reduces) and
// for its own send of step s−1 (one block buffer per neighbour), and step 0
// waits for after.
func ringSteps(p *plan.Program, name string, rings [][]wafer.DieID, steps int, bytes int64, after []plan.TaskID) Fragment {
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
// reductions themselves are not modelled as compute.
func AllReduce(p *plan.Program, rings [][]wafer.DieID, bytes int64, after ...plan.TaskID) Fragment {
	n := size(rings)
	return ringSteps(p, "allreduce", rings, 2*(n-1), chunk(bytes, n), after)
}

// AllGather appends a ring all-gather after which every die holds bytes:
// P−1 steps of bytes/P.
func AllGather(p *plan.Program, rings [][]wafer.DieID, bytes int64, after ...plan.TaskID) Fragment {
	n := size(rings)
	return ringSteps(p, "allgather", rings, n-1, chunk(bytes, n), after)
}

// ReduceScatter appends a ring reduce-scatter of bytes per die: P−1 steps
// of bytes/P.
func ReduceScatter(p *plan.Program, rings [][]wafer.DieID, bytes int64, after ...plan.TaskID) Fragment {
	n := size(rings)
	return ringSteps(p, "reducescatter", rings, n-1, chunk(bytes, n), after)
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
// incoming messages and ends the fragment there.
func AllToAll(p *plan.Program, groups [][]wafer.DieID, bytes int64, after ...plan.TaskID) Fragment {
	var frag Fragment
	for _, g := range groups {
		n := len(g)
		in := make([][]plan.TaskID, n)
		for i, a := range g {
			for j, b := range g {
				if i != j {
					in[j] = append(in[j], p.Transfer("alltoall", a, b, chunk(bytes, n), nil, after...))
				}
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
