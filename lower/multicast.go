package lower

import (
	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// Multicast appends every tree's multicast of bytes at once: the payload
// goes in costmodel.MulticastChunks chunks down each edge of its tree (over
// the edge's route), a die passing chunk c on once it has it and once
// chunk c−1 has crossed that edge. Every transfer carries its edge's
// route, so the mapping's fixed routes never move it. The fragment ends at
// every die that received the payload, when its last chunk is in.
func Multicast(p *plan.Program, trees []wafer.Tree, bytes int64, after ...plan.TaskID) Fragment {
	var frag Fragment
	k := costmodel.MulticastChunks(float64(bytes))
	on := byDie(p, after)
	for _, t := range trees {
		in := map[wafer.DieID]plan.TaskID{}         // the chunk last received at a die
		sent := make([][]plan.TaskID, len(t.Edges)) // per edge, per chunk
		for c := 0; c < k; c++ {
			size := chunkOf(bytes, k, c)
			for ei, e := range t.Edges {
				deps := on[t.Src]
				if e[0] != t.Src {
					deps = []plan.TaskID{in[e[0]]}
				}
				if c > 0 {
					deps = append(append([]plan.TaskID(nil), deps...), sent[ei][c-1])
				}
				id := p.Transfer("multicast", e[0], e[len(e)-1], size, e, deps...)
				sent[ei] = append(sent[ei], id)
				in[e[len(e)-1]] = id // a parent's edge comes before its children's
			}
		}
		for _, e := range t.Edges {
			frag.Last = append(frag.Last, in[e[len(e)-1]])
		}
	}
	return frag
}

// Reduce appends the reverse of Multicast on every tree at once: partial
// sums of bytes flow from the destinations to the source, each die that
// holds a part adding what its subtree sends before passing chunk c up
// (chunks cross an edge one after another, as in Multicast). The fragment
// ends at every tree's source when its last chunk is in.
func Reduce(p *plan.Program, trees []wafer.Tree, bytes int64, after ...plan.TaskID) Fragment {
	var frag Fragment
	k := costmodel.MulticastChunks(float64(bytes))
	on := byDie(p, after)
	for _, t := range trees {
		sent := make([][]plan.TaskID, len(t.Edges))
		var last []plan.TaskID
		for c := 0; c < k; c++ {
			size := chunkOf(bytes, k, c)
			up := map[wafer.DieID][]plan.TaskID{} // chunk c arriving at a die from below
			last = last[:0]
			for ei := len(t.Edges) - 1; ei >= 0; ei-- { // children before parents
				e := t.Edges[ei]
				from, to := e[len(e)-1], e[0]
				deps := append(append([]plan.TaskID(nil), on[from]...), up[from]...)
				if c > 0 {
					deps = append(deps, sent[ei][c-1])
				}
				rev := make(wafer.Route, len(e))
				for i, d := range e {
					rev[len(e)-1-i] = d
				}
				id := p.Transfer("reduce", from, to, size, rev, deps...)
				p.Tasks[id].Reduce = true
				sent[ei] = append(sent[ei], id)
				up[to] = append(up[to], id)
			}
			last = append(last, up[t.Src]...)
		}
		frag.Last = append(frag.Last, last...)
	}
	return frag
}

// chunkOf is the size of chunk c of bytes cut into k chunks.
func chunkOf(bytes int64, k, c int) int64 {
	base := bytes / int64(k)
	if c == k-1 {
		return bytes - base*int64(k-1)
	}
	return base
}
