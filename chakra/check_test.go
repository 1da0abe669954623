package chakra

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tempc/tempc/chakra/etpb"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// counts is what a die's trace holds, by kind of node.
type counts struct {
	Compute, Barriers, Sends, Recvs, SyncSends, SyncRecvs, Joins int64
	BytesSent                                                    int64
}

// wantCounts counts, per die, the tasks of the step as plan.Expand writes
// it out: compute tasks (barriers apart), messages leaving and entering
// the die (a transfer leaves its source and enters its destination), and
// the bytes leaving it.
func wantCounts(t *testing.T, p *plan.Plan, s *wafer.Spec) []counts {
	t.Helper()
	x, err := p.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	barrier := map[plan.TaskID]bool{}
	for _, b := range x.Barriers {
		barrier[b] = true
	}
	c := make([]counts, s.NumDies())
	for _, tk := range x.Program.Tasks {
		switch {
		case barrier[tk.ID]:
			c[tk.Die].Barriers++
		case tk.Kind == plan.Compute:
			c[tk.Die].Compute++
		case tk.Kind == plan.Send || tk.Kind == plan.Transfer:
			c[tk.Die].Sends++
			c[tk.Die].BytesSent += tk.Bytes
			if tk.Kind == plan.Transfer {
				c[tk.Dst].Recvs++
			}
		case tk.Kind == plan.Recv:
			c[tk.Die].Recvs++
		}
	}
	return c
}

// msgKey identifies a message: its ranks and tag.
type msgKey struct{ src, dst, tag int64 }

// checkExport reads back every trace Write put in dir and checks it
// against the plan and the manifest: one trace per die of the mesh, each
// rank's metadata; node IDs counting from 0, every dependency on an
// earlier node, each trace acyclic; the attributes ASTRA-sim reads, of
// the types Chakra's feeder reads; per die the plan's compute tasks,
// barriers, sends and receives, and bytes sent; every send matched by
// exactly one receive on its peer of the same tag and size, and the
// other way round; the whole step acyclic with messages as edges (no
// rank waits for itself through another); FLOPs and durations adding up
// to the manifest's. It returns the sync messages.
func checkExport(t *testing.T, dir string, m *Manifest, p *plan.Plan, s *wafer.Spec) int64 {
	t.Helper()
	want := wantCounts(t, p, s)
	files, err := filepath.Glob(filepath.Join(dir, m.Workload+".*.et"))
	if err != nil || len(files) != s.NumDies() {
		t.Fatalf("%d trace files (%v), want one per die: %d", len(files), err, s.NumDies())
	}
	sends := map[msgKey][]int64{}
	recvs := map[msgKey][]int64{}
	traces := make([][]*etpb.Node, s.NumDies())
	var syncs int64
	for rank := range s.NumDies() {
		meta, nodes, err := Read(filepath.Join(dir, TraceFile(m.Workload, rank)))
		if err != nil {
			t.Fatal(err)
		}
		traces[rank] = nodes
		if r, ok := IntAttr(meta.GetAttr(), "rank"); meta.GetVersion() != metadataVersion || !ok || r != int64(rank) {
			t.Errorf("rank %d: metadata version %q, rank %d", rank, meta.GetVersion(), r)
		}
		got, ri := checkTrace(t, rank, nodes, sends, recvs), m.Ranks[rank]
		syncs += got.SyncSends
		if d := cmp.Diff(want[rank], counts{Compute: got.Compute, Barriers: got.Barriers, Sends: got.Sends, Recvs: got.Recvs,
			BytesSent: got.BytesSent}); d != "" {
			t.Errorf("rank %d: nodes by kind (-plan +trace):\n%s", rank, d)
		}
		fromManifest := counts{ri.Compute, ri.Barriers, ri.Sends, ri.Recvs, ri.SyncSends, ri.SyncRecvs, ri.Joins, ri.BytesSent}
		if d := cmp.Diff(fromManifest, got); d != "" {
			t.Errorf("rank %d: nodes by kind (-manifest +trace):\n%s", rank, d)
		}
		if ri.Nodes != int64(len(nodes)) {
			t.Errorf("rank %d: %d nodes, manifest says %d", rank, len(nodes), ri.Nodes)
		}
		checkTimes(t, rank, nodes, ri)
	}
	checkPairs(t, sends, recvs)
	checkGlobalAcyclic(t, traces)
	return syncs
}

// checkTrace checks one trace's nodes and returns what it holds,
// recording its messages' sizes by key.
func checkTrace(t *testing.T, rank int, nodes []*etpb.Node, sends, recvs map[msgKey][]int64) counts {
	t.Helper()
	var c counts
	for i, n := range nodes {
		if n.GetId() != uint64(i) {
			t.Fatalf("rank %d: node %d has ID %d", rank, i, n.GetId())
		}
		for _, d := range n.GetDataDeps() {
			if d >= n.GetId() {
				t.Fatalf("rank %d: node %d depends on node %d, not an earlier one", rank, i, d)
			}
		}
		switch kind := NodeKind(n); kind {
		case KindCompute, KindDelay, KindBarrier, KindJoin:
			checkComp(t, rank, n, kind)
			switch kind {
			case KindBarrier:
				c.Barriers++
			case KindJoin:
				c.Joins++
			default:
				c.Compute++
			}
		case KindSend, KindSyncSend, KindRecv, KindSyncRecv:
			k, size := checkComm(t, rank, n, kind)
			switch kind {
			case KindSend:
				c.Sends++
				c.BytesSent += size
			case KindSyncSend:
				c.SyncSends++
			case KindRecv:
				c.Recvs++
			case KindSyncRecv:
				c.SyncRecvs++
			}
			if kind == KindSend || kind == KindSyncSend {
				sends[k] = append(sends[k], size)
			} else {
				recvs[k] = append(recvs[k], size)
			}
		default:
			t.Fatalf("rank %d: node %d has kind %q", rank, i, kind)
		}
	}
	if !acyclic(len(nodes), func(i int, f func(int)) {
		for _, d := range nodes[i].GetDataDeps() {
			f(int(d))
		}
	}) {
		t.Errorf("rank %d: the trace has a cycle", rank)
	}
	return c
}

// checkComp checks a COMP_NODE's attributes: is_cpu_op a bool (true for
// the zero-time barrier and join), num_ops an int64, tensor_size a
// uint64.
func checkComp(t *testing.T, rank int, n *etpb.Node, kind Kind) {
	t.Helper()
	cpu := kind == KindBarrier || kind == KindJoin
	a, _ := Attr(n.GetAttr(), attrIsCPUOp)
	if _, ok := a.GetValue().(*etpb.AttributeProto_BoolVal); n.GetType() != etpb.NodeType_COMP_NODE || !ok || a.GetBoolVal() != cpu {
		t.Fatalf("rank %d: node %d (%s) is a %v with is_cpu_op %v", rank, n.GetId(), kind, n.GetType(), a)
	}
	if cpu {
		return
	}
	ops, _ := Attr(n.GetAttr(), attrNumOps)
	ts, _ := Attr(n.GetAttr(), attrTensorSize)
	_, ok1 := ops.GetValue().(*etpb.AttributeProto_Int64Val)
	_, ok2 := ts.GetValue().(*etpb.AttributeProto_Uint64Val)
	if !ok1 || !ok2 {
		t.Fatalf("rank %d: node %d: num_ops %v, tensor_size %v", rank, n.GetId(), ops, ts)
	}
}

// checkComm checks a message end's attributes — comm_src, comm_dst and
// comm_tag int32s, comm_size an int64 — and that the node's rank is its
// sender or receiver; it returns the message's key and size.
func checkComm(t *testing.T, rank int, n *etpb.Node, kind Kind) (msgKey, int64) {
	t.Helper()
	typ := etpb.NodeType_COMM_RECV_NODE
	if kind == KindSend || kind == KindSyncSend {
		typ = etpb.NodeType_COMM_SEND_NODE
	}
	var v [3]int64
	for i, name := range []string{attrCommSrc, attrCommDst, attrCommTag} {
		a, _ := Attr(n.GetAttr(), name)
		if _, ok := a.GetValue().(*etpb.AttributeProto_Int32Val); !ok {
			t.Fatalf("rank %d: node %d: %s is %v", rank, n.GetId(), name, a)
		}
		v[i] = int64(a.GetInt32Val())
	}
	sz, _ := Attr(n.GetAttr(), attrCommSize)
	if _, ok := sz.GetValue().(*etpb.AttributeProto_Int64Val); !ok || sz.GetInt64Val() <= 0 {
		t.Fatalf("rank %d: node %d: comm_size %v", rank, n.GetId(), sz)
	}
	me := v[1]
	if typ == etpb.NodeType_COMM_SEND_NODE {
		me = v[0]
	}
	if n.GetType() != typ || me != int64(rank) || v[0] == v[1] {
		t.Fatalf("rank %d: node %d (%s) is a %v from %d to %d", rank, n.GetId(), kind, n.GetType(), v[0], v[1])
	}
	return msgKey{v[0], v[1], v[2]}, sz.GetInt64Val()
}

// checkTimes checks that the compute nodes' num_ops and durations add up
// to the manifest's FLOPs (within half an op per node, the rounding) and
// duration, and that the duration is the exact compute time within half
// a microsecond (the error diffusion).
func checkTimes(t *testing.T, rank int, nodes []*etpb.Node, ri RankInfo) {
	t.Helper()
	var ops float64
	var us uint64
	var comp int
	for _, n := range nodes {
		if k := NodeKind(n); k == KindCompute || k == KindDelay {
			o, _ := IntAttr(n.GetAttr(), attrNumOps)
			ops += float64(o)
			comp++
		}
		us += n.GetDurationMicros()
	}
	if math.Abs(ops-ri.FLOPs) > 0.5*float64(comp)+1e-9*ri.FLOPs {
		t.Errorf("rank %d: num_ops add up to %g, the plan's FLOPs to %g", rank, ops, ri.FLOPs)
	}
	if us != ri.DurationMicros || math.Abs(float64(us)-ri.ComputeSeconds*1e6) > 0.5+1e-9*float64(us) {
		t.Errorf("rank %d: durations add up to %d µs, manifest %d µs, exact %.3f µs", rank, us, ri.DurationMicros, ri.ComputeSeconds*1e6)
	}
}

// checkPairs checks that every message has exactly one send and one
// receive, of the same size.
func checkPairs(t *testing.T, sends, recvs map[msgKey][]int64) {
	t.Helper()
	for k, s := range sends {
		r := recvs[k]
		if len(s) != 1 || len(r) != 1 || s[0] != r[0] {
			t.Errorf("message %d→%d tag %d: sends of %v bytes, receives of %v", k.src, k.dst, k.tag, s, r)
		}
	}
	for k, r := range recvs {
		if _, ok := sends[k]; !ok {
			t.Errorf("message %d→%d tag %d: receive of %v bytes, no send", k.src, k.dst, k.tag, r)
		}
	}
}

// checkGlobalAcyclic checks that the traces together, with each message
// an edge from its send to its receive, have no cycle: no rank ends up
// waiting for itself through others, so a replay cannot deadlock.
func checkGlobalAcyclic(t *testing.T, traces [][]*etpb.Node) {
	t.Helper()
	base := make([]int, len(traces)+1)
	for r, nodes := range traces {
		base[r+1] = base[r] + len(nodes)
	}
	recvAt := map[msgKey]int{}
	for r, nodes := range traces {
		for i, n := range nodes {
			if n.GetType() == etpb.NodeType_COMM_RECV_NODE {
				src, _ := IntAttr(n.GetAttr(), attrCommSrc)
				tag, _ := IntAttr(n.GetAttr(), attrCommTag)
				recvAt[msgKey{src, int64(r), tag}] = base[r] + i
			}
		}
	}
	// Edges point from a node to what waits for it: reverse them by
	// listing, per node, what it waits for (its deps, and for a receive
	// its send).
	sendOf := make(map[int]int)
	for r, nodes := range traces {
		for i, n := range nodes {
			if n.GetType() == etpb.NodeType_COMM_SEND_NODE {
				dst, _ := IntAttr(n.GetAttr(), attrCommDst)
				tag, _ := IntAttr(n.GetAttr(), attrCommTag)
				sendOf[recvAt[msgKey{int64(r), dst, tag}]] = base[r] + i
			}
		}
	}
	rankOf := func(g int) int {
		r := 0
		for base[r+1] <= g {
			r++
		}
		return r
	}
	if !acyclic(base[len(traces)], func(g int, f func(int)) {
		r := rankOf(g)
		n := traces[r][g-base[r]]
		for _, d := range n.GetDataDeps() {
			f(base[r] + int(d))
		}
		if s, ok := sendOf[g]; ok {
			f(s)
		}
	}) {
		t.Error("the traces have a cycle through their messages: a replay would deadlock")
	}
}

// acyclic reports whether the graph of n nodes, in which preds lists
// what node i waits for, has no cycle (Kahn's algorithm).
func acyclic(n int, preds func(i int, f func(int))) bool {
	indeg := make([]int, n)
	succ := make([][]int32, n)
	for i := range n {
		preds(i, func(p int) {
			indeg[i]++
			succ[p] = append(succ[p], int32(i))
		})
	}
	var ready []int32
	for i := range n {
		if indeg[i] == 0 {
			ready = append(ready, int32(i))
		}
	}
	done := 0
	for len(ready) > 0 {
		i := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		done++
		for _, s := range succ[i] {
			if indeg[s]--; indeg[s] == 0 {
				ready = append(ready, s)
			}
		}
	}
	return done == n
}
