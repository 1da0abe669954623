package chakra

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tempc/tempc/chakra/etpb"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// ref is where a task's completion can be waited for: node na of die
// a's trace and, when b ≥ 0, node nb of die b's. a is the primary place
// (a transfer's receiving end, the die of anything else); b is the
// other end of a message: a send's receive, a receive's send (when the
// receive waits for nothing its send does not: then both end when the
// bytes arrive) or a transfer's send.
type ref struct {
	a, b   wafer.DieID
	na, nb uint32
}

func single(d wafer.DieID, n uint32) ref { return ref{a: d, b: -1, na: n} }

// at returns the node of r on die d, if r has one there.
func (r ref) at(d wafer.DieID) (uint32, bool) {
	switch d {
	case r.a:
		return r.na, true
	case r.b:
		return r.nb, true
	}
	return 0, false
}

// block is what the exporter derives once from a block of the plan: per
// task, the index of its send's receive or its receive's send (−1 for
// other tasks), and whether the pair ends together (the receive waits
// for nothing its send does not).
type block struct {
	partner []int32
	exact   []bool
	// names are the tasks' nodes' names: the block's and the task's.
	names []string
}

func newBlock(n *plan.Node) *block {
	prog := n.Program
	b := &block{partner: make([]int32, len(prog.Tasks)), exact: make([]bool, len(prog.Tasks)), names: make([]string, len(prog.Tasks))}
	for i := range prog.Tasks {
		b.names[i] = validName(n.Name + "/" + prog.Tasks[i].Name)
	}
	byTag := map[int64]int32{}
	for i := range prog.Tasks {
		b.partner[i] = -1
		t := &prog.Tasks[i]
		if t.Kind != plan.Send && t.Kind != plan.Recv {
			continue
		}
		j, ok := byTag[t.Tag]
		if !ok {
			byTag[t.Tag] = int32(i)
			continue
		}
		b.partner[i], b.partner[j] = j, int32(i)
		snd, rcv := &prog.Tasks[j], t
		if t.Kind == plan.Send {
			snd, rcv = t, &prog.Tasks[j]
		}
		ex := subset(rcv.Deps, snd.Deps)
		b.exact[i], b.exact[j] = ex, ex
	}
	return b
}

// validName returns s with invalid UTF-8 replaced: protobuf strings must
// be valid UTF-8, or readers refuse the message.
func validName(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// subset reports whether every element of a is in b.
func subset(a, b []plan.TaskID) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// exporter is the visitor that writes each die's trace as the stepper
// replays the step.
type exporter struct {
	spec *wafer.Spec
	dies []*dieTrace
	enc  *encoder
	// tags holds, per ordered pair of dies (src·n + dst), the last tag
	// given to a message between them.
	tags []uint32
	// syncs maps a node and a die to the receive of the sync message
	// that already carries the node's completion there.
	syncs  map[syncKey]uint32
	blocks map[*plan.Node]*block
	// cur is the current run's block; tagOf holds the tags of its
	// messages, by task.
	cur   *block
	tagOf []int32
	deps  depSet
	// stats: the step's barriers and tasks.
	barriers, tasks int64
	err             error
}

type syncKey struct {
	src  wafer.DieID
	node uint32
	dst  wafer.DieID
}

func newExporter(s *wafer.Spec, dies []*dieTrace) *exporter {
	n := s.NumDies()
	return &exporter{spec: s, dies: dies, enc: &encoder{}, tags: make([]uint32, n*n),
		syncs: map[syncKey]uint32{}, blocks: map[*plan.Node]*block{}}
}

func (x *exporter) fail(err error) {
	if x.err == nil {
		x.err = err
	}
}

func (x *exporter) block(n *plan.Node) *block {
	b, ok := x.blocks[n]
	if !ok {
		b = newBlock(n)
		x.blocks[n] = b
	}
	return b
}

// tag returns a fresh tag for a message from src to dst. Tags count up
// from 1 per ordered pair of dies, within an int32 (Chakra's comm_tag).
func (x *exporter) tag(src, dst wafer.DieID) int32 {
	k := int(src)*x.spec.NumDies() + int(dst)
	if x.tags[k] == math.MaxInt32 {
		x.fail(fmt.Errorf("chakra: more than 2^31 messages from die %d to die %d", src, dst))
		return 0
	}
	x.tags[k]++
	return int32(x.tags[k])
}

// task writes the nodes of task i of a run of block n.
func (x *exporter) task(n *plan.Node, i int, local []ref, handoff []ref) ref {
	x.tasks++
	if i == 0 {
		x.cur = x.block(n)
		x.tagOf = grow(x.tagOf, len(n.Program.Tasks))
	}
	t := &n.Program.Tasks[i]
	deps := x.taskDeps(n, i, local, handoff)
	name := x.cur.names[i]
	switch t.Kind {
	case plan.Compute:
		return single(t.Die, x.compute(t, name, deps))
	case plan.Transfer:
		tag := x.tag(t.Die, t.Dst)
		s := x.comm(t.Die, name, KindSend, deps, t.Die, t.Dst, t.Bytes, tag)
		r := x.comm(t.Dst, name, KindRecv, nil, t.Die, t.Dst, t.Bytes, tag)
		return ref{a: t.Dst, na: r, b: t.Die, nb: s}
	}
	return x.message(t, i, name, deps, local)
}

// taskDeps returns the dependencies of task i of a run of block n on its
// die: its own and its handoff, but a receive's that its send has.
func (x *exporter) taskDeps(n *plan.Node, i int, local []ref, handoff []ref) []uint64 {
	t := &n.Program.Tasks[i]
	var implied []plan.TaskID
	if t.Kind == plan.Recv {
		implied = n.Program.Tasks[x.cur.partner[i]].Deps
	}
	x.deps.reset()
	for _, d := range t.Deps {
		r := local[d]
		if _, here := r.at(t.Die); !here && slices.Contains(implied, d) {
			continue // the receive's send waits for it already
		}
		x.deps.add(r)
	}
	for _, r := range handoff {
		x.deps.add(r)
	}
	return x.deps.resolve(x, t.Die)
}

// message writes a send or a receive, task i of the current run: the
// first of a pair draws the tag, the second links the two ends.
func (x *exporter) message(t *plan.Task, i int, name string, deps []uint64, local []ref) ref {
	p := int(x.cur.partner[i])
	src, dst, kind := t.Die, t.Dst, KindSend
	if t.Kind == plan.Recv {
		src, dst, kind = t.Peer, t.Die, KindRecv
	}
	if p > i {
		x.tagOf[i] = x.tag(src, dst)
	} else {
		x.tagOf[i] = x.tagOf[p]
	}
	id := x.comm(t.Die, name, kind, deps, src, dst, t.Bytes, x.tagOf[i])
	r := single(t.Die, id)
	if p < i && x.cur.exact[i] {
		// The pair ends when the bytes arrive: each end stands for the
		// other on its die.
		r.b, r.nb = local[p].a, local[p].na
		local[p].b, local[p].nb = t.Die, id
	}
	return r
}

// compute writes a compute task's COMP_NODE. Its duration is the task's
// Seconds if fixed, else the die-local roofline: the longer of its FLOPs
// at PeakFLOPS × Efficiency and its HBM bytes at HBMBandwidth.
func (x *exporter) compute(t *plan.Task, name string, deps []uint64) uint32 {
	d := x.dies[t.Die]
	kind, sec := KindCompute, t.Seconds
	if sec > 0 {
		kind = KindDelay
	} else {
		eff := t.Efficiency
		if eff == 0 {
			eff = 1
		}
		sec = max(t.FLOPs/(x.spec.Die.PeakFLOPS*eff), t.HBMBytes/x.spec.Die.HBMBandwidth)
	}
	if !(t.FLOPs < math.MaxInt64 && t.HBMBytes < math.MaxInt64) {
		x.fail(fmt.Errorf("chakra: die %d, task %q: %g FLOPs and %g HBM bytes exceed Chakra's 64-bit counts", t.Die, t.Name, t.FLOPs, t.HBMBytes))
	}
	d.info.Compute++
	d.info.FLOPs += t.FLOPs
	d.info.ComputeSeconds += sec
	m := x.enc.compNode(d.next, name, kind, deps, false, int64(math.Round(t.FLOPs)), uint64(math.Round(t.HBMBytes)), d.micros(sec))
	return d.emit(m)
}

// comm writes one end of a message on die at: a send (KindSend,
// KindSyncSend) at src or a receive at dst.
func (x *exporter) comm(at wafer.DieID, name string, kind Kind, deps []uint64, src, dst wafer.DieID, bytes int64, tag int32) uint32 {
	d := x.dies[at]
	typ := etpb.NodeType_COMM_RECV_NODE
	switch kind {
	case KindSend:
		typ = etpb.NodeType_COMM_SEND_NODE
		d.info.Sends++
		d.info.BytesSent += bytes
	case KindSyncSend:
		typ = etpb.NodeType_COMM_SEND_NODE
		d.info.SyncSends++
	case KindRecv:
		d.info.Recvs++
	case KindSyncRecv:
		d.info.SyncRecvs++
	}
	// ASTRA-sim's analytical network wants a positive size.
	m := x.enc.commNode(d.next, name, typ, kind, deps, int32(src), int32(dst), max(bytes, 1), tag)
	return d.emit(m)
}
