package chakra

import (
	"fmt"
	"slices"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// This file carries dependencies across dies: sync messages, join
// nodes, barriers.

// sync returns the node on die dst that ends when node n of die src
// has: the receive of a one-byte message that src sends once n has
// ended, written the first time it is asked for.
func (x *exporter) sync(src wafer.DieID, n uint32, dst wafer.DieID) uint32 {
	k := syncKey{src, n, dst}
	if r, ok := x.syncs[k]; ok {
		return r
	}
	tag := x.tag(src, dst)
	name := fmt.Sprintf("sync %d->%d", src, dst)
	x.comm(src, name, KindSyncSend, []uint64{uint64(n)}, src, dst, 1, tag)
	r := x.comm(dst, name, KindSyncRecv, nil, src, dst, 1, tag)
	x.syncs[k] = r
	return r
}

// joinFanIn bounds the dependencies of a join node: more are gathered by
// a tree of joins.
const joinFanIn = 1024

// join returns a node of die d that ends when all of nodes have: the
// node itself if there is one, else a tree of zero-time join nodes.
func (x *exporter) join(d wafer.DieID, nodes []uint32) uint32 {
	if len(nodes) == 1 {
		return nodes[0]
	}
	if len(nodes) > joinFanIn {
		var level []uint32
		for c := range slices.Chunk(nodes, joinFanIn) {
			level = append(level, x.join(d, c))
		}
		return x.join(d, level)
	}
	deps := make([]uint64, len(nodes))
	for i, n := range nodes {
		deps[i] = uint64(n)
	}
	slices.Sort(deps)
	deps = slices.Compact(deps)
	t := x.dies[d]
	t.info.Joins++
	return t.emit(x.enc.compNode(t.next, "join", KindJoin, deps, true, 0, 0, 0))
}

// sinkCompact bounds a die's list of sinks: when it reaches this many
// they are joined into one node (a zero-time join tree), so that memory
// stays bounded whatever the step's length.
const sinkCompact = 1 << 16

// sink records a task nothing of its run waits for, on its primary die.
func (x *exporter) sink(r ref) {
	d := x.dies[r.a]
	d.sinks = append(d.sinks, r.na)
	if len(d.sinks) >= sinkCompact {
		j := x.join(r.a, d.sinks)
		d.sinks = append(d.sinks[:0], j)
	}
}

// barrier writes a barrier on die at that waits for every sink since
// the previous barrier, on every die — those of another die through a
// join and one sync message —, and for that barrier.
func (x *exporter) barrier(n *plan.Node, at wafer.DieID, prev ref, hasPrev bool) ref {
	x.barriers++
	deps := x.deps.out[:0]
	for di, d := range x.dies {
		switch die := wafer.DieID(di); {
		case len(d.sinks) == 0:
		case die == at && len(d.sinks) <= joinFanIn:
			for _, s := range d.sinks {
				deps = append(deps, uint64(s))
			}
		case die == at:
			deps = append(deps, uint64(x.join(die, d.sinks)))
		default:
			deps = append(deps, uint64(x.sync(die, x.join(die, d.sinks), at)))
		}
		d.sinks = d.sinks[:0]
	}
	if hasPrev {
		if p, ok := prev.at(at); ok {
			deps = append(deps, uint64(p))
		} else {
			deps = append(deps, uint64(x.sync(prev.a, prev.na, at)))
		}
	}
	slices.Sort(deps)
	deps = slices.Compact(deps)
	x.deps.out = deps
	d := x.dies[at]
	d.info.Barriers++
	return single(at, d.emit(x.enc.compNode(d.next, validName("barrier "+n.Name), KindBarrier, deps, true, 0, 0, 0)))
}

// depSet gathers the dependencies of a node about to be written on one
// die: the nodes there, and per other die the nodes whose completion a
// sync message must carry.
type depSet struct {
	refs []ref
	out  []uint64
	far  []farDeps
}

type farDeps struct {
	die   wafer.DieID
	nodes []uint32
}

func (s *depSet) reset()    { s.refs = s.refs[:0] }
func (s *depSet) add(r ref) { s.refs = append(s.refs, r) }

// resolve returns the dependencies as node IDs of die d, sorted: a node
// on d as itself, the nodes of another die through one sync message per
// die (joined first when there are several), writing what it needs.
func (s *depSet) resolve(x *exporter, d wafer.DieID) []uint64 {
	if len(s.refs) == 0 {
		return nil
	}
	s.out = s.out[:0]
	for i := range s.far {
		s.far[i].nodes = s.far[i].nodes[:0]
	}
	s.far = s.far[:0]
	for _, r := range s.refs {
		if n, ok := r.at(d); ok {
			s.out = append(s.out, uint64(n))
			continue
		}
		s.addFar(r.a, r.na)
	}
	for i := range s.far {
		f := &s.far[i]
		slices.Sort(f.nodes)
		f.nodes = slices.Compact(f.nodes)
		s.out = append(s.out, uint64(x.sync(f.die, x.join(f.die, f.nodes), d)))
	}
	slices.Sort(s.out)
	return slices.Compact(s.out)
}

func (s *depSet) addFar(d wafer.DieID, n uint32) {
	for i := range s.far {
		if s.far[i].die == d {
			s.far[i].nodes = append(s.far[i].nodes, n)
			return
		}
	}
	if len(s.far) < cap(s.far) {
		s.far = s.far[:len(s.far)+1]
		f := &s.far[len(s.far)-1]
		f.die, f.nodes = d, append(f.nodes[:0], n)
		return
	}
	s.far = append(s.far, farDeps{die: d, nodes: []uint32{n}})
}
