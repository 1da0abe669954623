package lower

import (
	"fmt"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// Stage lowers the global level's choice for one pipeline stage (a space
// over a stage graph, frontend.BuildStage, whose layouts run the
// pipeline's micro-batch count) into its passes: one micro-batch's
// forward pass (the blocks' forward, and on the last stage the head's
// forward and the loss), its backward pass, the last backward pass, which
// carries the DP gradient buckets as the last micro-batch's does in
// Lower, and the optimizer. Dies are the stage's wafer's; Pipeline moves
// them onto the cluster. The head's backward is the backward pass's first
// block, so that under 1F1B the last stage runs it where Megatron-LM does.
func Stage(t *costmodel.Table, a ilp.Assignment) (*plan.Stage, error) {
	lw, p, err := newLowerer(t, a)
	if err != nil {
		return nil, err
	}
	st := &plan.Stage{Model: p.Model, GraphSHA256: p.GraphSHA256, Layout: p.Layout, MicroBatch: p.MicroBatch,
		Dies: p.Dies, Groups: p.Groups, Strategies: p.Strategies, StaticBytes: p.StaticBytes, PredictedMemory: p.PredictedMemory}
	layers := lw.layers()
	st.Forward = []plan.Node{lw.block("fwd.pre", lw.pre, fwd, edgesPre, false)}
	if len(lw.blk) > 0 {
		st.Forward = append(st.Forward, lw.block("fwd.layer0", lw.blk, fwd, edgesFirst, false))
		if layers > 1 {
			st.Forward = append(st.Forward, count(lw.block("fwd.layers", lw.blk, fwd, edgesRest, false), layers-1))
		}
	}
	st.Forward = append(st.Forward, lw.block("post.fwd", lw.post, fwd, edgesPost, false))
	backward := func(sync bool) []plan.Node {
		out := []plan.Node{lw.block("post.bwd", lw.post, bwd, edgesPost, sync)}
		if len(lw.blk) > 0 {
			if layers > 1 {
				out = append(out, count(lw.block("bwd.layers", lw.blk, bwd, edgesRest, sync), layers-1))
			}
			out = append(out, lw.block("bwd.layer0", lw.blk, bwd, edgesFirst, sync))
		}
		return append(out, lw.block("bwd.pre", lw.pre, bwd, edgesPre, sync))
	}
	st.Forward, st.Backward, st.LastBackward = nonEmpty(st.Forward), nonEmpty(backward(false)), nonEmpty(backward(true))
	st.Finish = []plan.Node{lw.optimizer()}
	return st, nil
}

// nonEmpty drops the blocks without tasks (a middle stage has no
// embedding and no head).
func nonEmpty(nodes []plan.Node) []plan.Node {
	out := nodes[:0]
	for _, n := range nodes {
		if len(n.Program.Tasks) > 0 {
			out = append(out, n)
		}
	}
	return out
}

// PipelineStage is one stage for Pipeline: its passes (Stage), with dies
// on its own wafer, and the sharding of the activation it receives (In,
// its first op group's input) and sends (Out, its last group's output).
type PipelineStage struct {
	Stage   *plan.Stage
	In, Out partition.Act
}

// Pipeline assembles the stages into a cluster pipeline on joined (a
// cluster's joined mesh, wafer.Spec.Joined): stage k on wafer k, its dies
// moved there (the stages' passes are moved in place); order[k] its passes (partition.PipelineOrder); between
// neighbouring stages, per micro-batch, the boundary activation of
// activation bytes (the micro-batch's sequences' hidden states) forward
// and its gradient backward; and, when tied is positive, the exchange of
// the tied table's gradient (tied bytes per replica) between the first
// and last stage.
//
// A boundary moves the data as Megatron-LM's scatter–gather does: the
// micro-batch's sequences are spread over the sender's replicas and, in
// each replica, evenly over its dies (a die holding a replicated copy
// sends only its share), and each receiving die gets the bytes its
// replica and position hold in the same spread, straight from the dies
// that have them, over the default (XY) route, across the wafers' seam
// in the sender's row (a detour around dead dies and links where that
// route is blocked, as single-wafer flows take). A receiver whose first group reads the activation
// replicated (R) then all-gathers it over its group's ring. Payloads
// move from HBM to HBM.
//
// The tied exchange pairs replica j of the first stage with replica j of
// the last (modulo the smaller DP degree): each sends the other its
// gradient, spread over its dies as above, and adds what it receives
// (Task.Reduce), as Megatron-LM's all-reduce of the embedding gradients
// across the first and last stage does.
func Pipeline(joined *wafer.Spec, stages []PipelineStage, order [][]partition.Pass, schedule partition.Schedule, m int, activation, tied int64) (*plan.Pipeline, error) {
	p := len(stages)
	if joined.Seam == nil {
		return nil, fmt.Errorf("lower: a pipeline needs a joined cluster mesh; %s is one wafer", joined.Name)
	}
	if len(order) != p {
		return nil, fmt.Errorf("lower: %d stages, %d orders", p, len(order))
	}
	if p > joined.Wafers() {
		return nil, fmt.Errorf("lower: %d stages on the %d wafers of %s: one stage per wafer", p, joined.Wafers(), joined.Name)
	}
	if activation <= 0 {
		return nil, fmt.Errorf("lower: a boundary activation of %d bytes", activation)
	}
	pl := &plan.Pipeline{Schedule: schedule.String(), MicroBatches: m}
	seen := map[*plan.Program]bool{}
	for k, s := range stages {
		st := *s.Stage
		st.Wafer = k
		mv := func(d wafer.DieID) wafer.DieID { return joined.OnWafer(k, d) }
		st.Dies = moveDies(st.Dies, mv)
		st.Groups = make([][]wafer.DieID, len(s.Stage.Groups))
		for i, g := range s.Stage.Groups {
			st.Groups[i] = moveDies(g, mv)
		}
		for _, nodes := range [][]plan.Node{st.Forward, st.Backward, st.LastBackward, st.Finish} {
			moveNodes(nodes, mv, seen)
			nameNodes(nodes, fmt.Sprintf("stage %d ", k))
		}
		st.Order = make([]plan.PassRef, len(order[k]))
		for i, w := range order[k] {
			if w.Chunk != 0 {
				return nil, fmt.Errorf("lower: stage %d runs model chunk %d; interleaved pipelines are not lowered", k, w.Chunk)
			}
			st.Order[i] = plan.PassRef{Micro: w.Micro, Backward: w.Backward}
		}
		pl.Stages = append(pl.Stages, st)
	}
	for k := range p - 1 {
		a, b := &pl.Stages[k], &pl.Stages[k+1]
		fwd, err := handOver(joined, a.Groups, b.Groups, stages[k+1].In == partition.Rep, activation, "activation")
		if err != nil {
			return nil, fmt.Errorf("lower: boundary %d→%d: %w", k, k+1, err)
		}
		bwd, err := handOver(joined, b.Groups, a.Groups, stages[k].Out == partition.Rep, activation, "gradient")
		if err != nil {
			return nil, fmt.Errorf("lower: boundary %d→%d: %w", k+1, k, err)
		}
		pl.Boundaries = append(pl.Boundaries, plan.Boundary{Forward: fwd, Backward: bwd})
	}
	if tied > 0 && p > 1 {
		first, last := pl.Stages[0].Groups, pl.Stages[p-1].Groups
		n := max(len(first), len(last))
		prog := &plan.Program{}
		for j := range n {
			src, dst := [][]wafer.DieID{first[j%len(first)]}, [][]wafer.DieID{last[j%len(last)]}
			if err := spread(joined, prog, src, dst, tied, true, "tied grad"); err != nil {
				return nil, fmt.Errorf("lower: tied gradient: %w", err)
			}
			if err := spread(joined, prog, dst, src, tied, true, "tied grad"); err != nil {
				return nil, fmt.Errorf("lower: tied gradient: %w", err)
			}
		}
		pl.Tied = prog
	}
	return pl, nil
}

// handOver is one boundary's program: bytes spread over the sending
// groups' dies moved to the receiving groups' (spread), then, when the
// receivers read it replicated, all-gathered over each receiving group's
// ring. Its results (out tasks) are what the receiving dies end with.
func handOver(s *wafer.Spec, from, to [][]wafer.DieID, replicated bool, bytes int64, what string) (*plan.Program, error) {
	prog := &plan.Program{}
	if err := spread(s, prog, from, to, bytes, false, what); err != nil {
		return nil, err
	}
	last := make([]plan.TaskID, len(prog.Tasks))
	for i := range last {
		last[i] = plan.TaskID(i)
	}
	if replicated && len(to[0]) > 1 {
		frag := AllGather(prog, to, bytes/int64(len(to)), last...)
		last = frag.Last
		if err := detours(s, prog); err != nil {
			return nil, err
		}
	}
	for _, id := range last {
		prog.Tasks[id].Out = true
	}
	return prog, nil
}

// spread appends the transfers that move bytes held spread over from's
// dies (replica j holding the j-th of len(from) equal parts, each of its
// dies an equal share of that in ring order) to the same spread over
// to's: one transfer per overlap of a sending and a receiving die's
// shares, over the default route, or a detour around faults when that
// is blocked (detours).
func spread(s *wafer.Spec, prog *plan.Program, from, to [][]wafer.DieID, bytes int64, reduce bool, what string) error {
	src, dst := flat(from), flat(to)
	// Share i of n dies is [bytes·i/n, bytes·(i+1)/n).
	at := func(i, n int) int64 { return bytes * int64(i) / int64(n) }
	i, j := 0, 0
	for i < len(src) && j < len(dst) {
		lo := max(at(i, len(src)), at(j, len(dst)))
		hi := min(at(i+1, len(src)), at(j+1, len(dst)))
		if hi > lo {
			id := prog.Transfer(what, src[i], dst[j], hi-lo, nil)
			prog.Tasks[id].Reduce = reduce
		}
		if at(i+1, len(src)) <= at(j+1, len(dst)) {
			i++
		} else {
			j++
		}
	}
	return detours(s, prog)
}

// detours gives every transfer of prog whose default (XY) route crosses a
// dead die or link a fault-aware one (wafer.Spec.Detour: YX, else a
// shortest path over live dies and links), as single-wafer flows get
// theirs; it fails only when faults cut a destination off from its
// source (CheckPipelineRoutes tells that beforehand).
func detours(s *wafer.Spec, prog *plan.Program) error {
	for i := range prog.Tasks {
		t := &prog.Tasks[i]
		if t.Kind != plan.Transfer || t.Route != nil {
			continue
		}
		if _, err := s.Route(t.Die, t.Dst, wafer.XY); err == nil {
			continue
		}
		r, err := s.Detour(t.Die, t.Dst)
		if err != nil {
			return fmt.Errorf("%s from die %s to die %s: %w", t.Name, dieName(s, t.Die), dieName(s, t.Dst), err)
		}
		t.Route = r
	}
	return nil
}

func flat(groups [][]wafer.DieID) []wafer.DieID {
	var out []wafer.DieID
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func moveDies(ds []wafer.DieID, mv func(wafer.DieID) wafer.DieID) []wafer.DieID {
	out := make([]wafer.DieID, len(ds))
	for i, d := range ds {
		out[i] = mv(d)
	}
	return out
}

// moveNodes moves every task of the nodes' programs (once each) onto the
// dies mv gives.
func moveNodes(nodes []plan.Node, mv func(wafer.DieID) wafer.DieID, seen map[*plan.Program]bool) {
	for i := range nodes {
		n := &nodes[i]
		moveNodes(n.Body, mv, seen)
		if n.Program == nil || seen[n.Program] {
			continue
		}
		seen[n.Program] = true
		for t := range n.Program.Tasks {
			task := &n.Program.Tasks[t]
			task.Die = mv(task.Die)
			switch task.Kind {
			case plan.Transfer, plan.Send:
				task.Dst = mv(task.Dst)
			case plan.Recv:
				task.Peer = mv(task.Peer)
			}
			if task.Route != nil {
				task.Route = moveDies(task.Route, mv)
			}
		}
	}
}

// nameNodes prefixes the nodes' names (the stage's, in reports).
func nameNodes(nodes []plan.Node, prefix string) {
	for i := range nodes {
		nodes[i].Name = prefix + nodes[i].Name
		nameNodes(nodes[i].Body, prefix)
	}
}
