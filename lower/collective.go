package lower

import (
	"fmt"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// Fragment is what a builder appended: the tasks that finish it, per die
// (a die may appear more than once across rings), for later work to depend
// on.
type Fragment struct {
	Last []plan.TaskID
}

// Every builder takes the tasks its work comes after (after) and makes a
// die's first tasks wait only for those of them that ended on that die
// (plan.Home): a die's data is where its tasks left it, and a die whose
// predecessors are elsewhere need not wait for other dies' work.

// byDie sorts tasks by their home die.
func byDie(p *plan.Program, tasks []plan.TaskID) map[wafer.DieID][]plan.TaskID {
	m := map[wafer.DieID][]plan.TaskID{}
	for _, id := range tasks {
		d := plan.Home(&p.Tasks[id])
		m[d] = append(m[d], id)
	}
	return m
}

// ringSteps appends steps rounds in which every die of every ring sends
// bytes to its successor over the default route; the first reduce steps
// add what they carry into the receiver's copy. A die's send of step s
// waits for its receive of step s−1 (the data it forwards or reduces) and
// for its own send of step s−1 (one block buffer per neighbour), and step 0
// for its die's tasks of after. Payloads go from HBM to HBM.
func ringSteps(p *plan.Program, name string, rings [][]wafer.DieID, steps, reduce int, bytes int64, after []plan.TaskID) Fragment {
	var frag Fragment
	// Chunk c of every die's tensor is a buffer: position i sends chunk
	// i−s in step s, which its successor adds to (reduce steps) or
	// overwrites with, and forwards in step s+1.
	chunks := make([]int32, size(rings))
	for c := range chunks {
		chunks[c] = p.AddBuffer(fmt.Sprintf("%s@%d.chunk%d", name, len(p.Tasks), c))
	}
	for _, ring := range rings {
		n := len(ring)
		if n < 2 {
			continue
		}
		recv := make([]plan.TaskID, n) // last receive at each position
		sent := make([]plan.TaskID, n) // last send from each position
		on := byDie(p, after)
		for s := 0; s < steps; s++ {
			cur := make([]plan.TaskID, n)
			for i := range ring {
				deps := on[ring[i]]
				if s > 0 {
					deps = []plan.TaskID{recv[i], sent[i]}
				}
				cur[i] = p.Transfer(fmt.Sprintf("%s.step%d", name, s), ring[i], ring[(i+1)%n], bytes, nil, deps...)
				t := &p.Tasks[cur[i]]
				t.Reduce = s < reduce
				c := chunks[((i-s)%n+n)%n]
				t.Reads, t.Writes = []int32{c}, []int32{c}
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
	on := byDie(p, after)
	for _, g := range groups {
		n := len(g)
		in := make([][]plan.TaskID, n)
		for i, a := range g {
			for k := 1; k < n; k++ {
				j := (i + k) % n
				in[j] = append(in[j], p.Transfer("alltoall", a, g[j], chunk(bytes, n), nil, on[a]...))
			}
		}
		for j, d := range g {
			if len(in[j]) > 0 {
				// The join waits for the die's own part too (what it did
				// before): the next work reads both.
				frag.Last = append(frag.Last, p.Delay("alltoall.join", d, 0, append(in[j], on[d]...)...))
			}
		}
	}
	return frag
}
