package plan

import (
	"fmt"
	"math"

	"github.com/tempc/tempc/wafer"
)

// Run is one run of a block in an expanded step: its node, which run of
// it this is (0-based, counting the runs of the loops around it), and its
// tasks' IDs in the expanded program, First to First+len(Node's tasks)−1.
type Run struct {
	Node  *Node
	Index int
	First TaskID
}

// Expansion is a step expanded into one program (Expand).
type Expansion struct {
	Program Program
	Runs    []Run
	// Barriers lists the zero-time tasks that stand for barriers.
	Barriers []TaskID
}

// maxExpanded bounds an expanded program: its task IDs are int32.
const maxExpanded = math.MaxInt32 / 2

// Expand writes the step out as one program with the semantics of Node:
// every run of every block, in Walk order, its tasks' dependencies
// shifted to the run's IDs, its entry tasks given the handoff from the
// runs before, and its send and receive tags renumbered so that they stay
// unique. A barrier becomes one zero-time compute task on the die of the
// barrier node's first task, waiting for every task that nothing else
// waits for; the node's entry tasks wait for it. count, when not nil,
// gives the runs of each node in place of its Count (a shortened step for
// steady-state extrapolation); nodes it gives zero or fewer are left out.
// Expand refuses a step beyond 2^30 tasks.
//
// A pipeline plan expands as Pipeline says, with all its micro-batches
// (count must be nil; see ExpandMicroBatches).
func (p *Plan) Expand(count func(*Node) int) (*Expansion, error) {
	if p.Pipeline != nil {
		if count != nil {
			return nil, fmt.Errorf("plan: a pipeline plan is shortened by its micro-batches, not by node counts")
		}
		return p.Pipeline.expand(p.Pipeline.MicroBatches)
	}
	x := &expander{ex: &Expansion{}, out: map[wafer.DieID][]TaskID{}, count: count, barrier: -1, runs: map[*Node]int{}}
	if err := x.nodes(p.Steps); err != nil {
		return nil, err
	}
	return x.ex, nil
}

type expander struct {
	ex    *Expansion
	count func(*Node) int
	// out: per die, the out tasks of the latest run that had some there.
	out map[wafer.DieID][]TaskID
	// sinks are the tasks since the last barrier that no task waits for
	// (within their run); barrier the latest barrier task, or −1.
	sinks   []TaskID
	barrier TaskID
	tagBase int64
	runs    map[*Node]int // runs so far of each node
}

func (x *expander) runsOf(n *Node) int {
	if x.count != nil {
		return x.count(n)
	}
	return n.Count
}

func (x *expander) nodes(nodes []Node) error {
	for i := range nodes {
		n := &nodes[i]
		for range max(0, x.runsOf(n)) {
			if n.Program != nil {
				if err := x.run(n); err != nil {
					return err
				}
				continue
			}
			if err := x.nodes(n.Body); err != nil {
				return err
			}
		}
	}
	return nil
}

// run appends one run of block n.
func (x *expander) run(n *Node) error {
	tasks := n.Program.Tasks
	if n.Barrier && len(tasks) > 0 && (len(x.sinks) > 0 || x.barrier >= 0) {
		id := x.gate("barrier "+n.Name, tasks[0].Die)
		for d := range x.out {
			x.out[d] = []TaskID{id}
		}
	}
	return x.runWith(n, x.handoff)
}

// handoff is what an entry task of a run waits for: the out tasks on its
// die of the latest run that has any there, else the latest barrier.
func (x *expander) handoff(t *Task) []TaskID {
	if h, ok := x.out[t.Die]; ok {
		return h
	}
	if x.barrier >= 0 {
		return []TaskID{x.barrier}
	}
	return nil
}

// gate appends a zero-time task on die d that waits for everything since
// the latest barrier, and makes it the latest barrier.
func (x *expander) gate(name string, d wafer.DieID) TaskID {
	deps := x.sinks
	if x.barrier >= 0 {
		deps = append(deps, x.barrier)
	}
	id := x.ex.Program.add(Task{Kind: Compute, Name: name, Die: d, Deps: deps})
	x.ex.Barriers = append(x.ex.Barriers, id)
	x.barrier, x.sinks = id, nil
	return id
}

// runWith appends one run of block n whose entry tasks (no dependencies
// in the block, receives excepted) wait for entry(task).
func (x *expander) runWith(n *Node, entry func(*Task) []TaskID) error {
	prog := &x.ex.Program
	tasks := n.Program.Tasks
	if len(prog.Tasks)+len(tasks)+1 > maxExpanded {
		return fmt.Errorf("plan: the expanded step has more than %d tasks", maxExpanded)
	}
	first := TaskID(len(prog.Tasks))
	x.ex.Runs = append(x.ex.Runs, Run{Node: n, Index: x.runs[n], First: first})
	x.runs[n]++
	minTag, maxTag := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range tasks {
		if k := tasks[i].Kind; k == Send || k == Recv {
			minTag, maxTag = min(minTag, tasks[i].Tag), max(maxTag, tasks[i].Tag)
		}
	}
	waited := make([]bool, len(tasks))
	newOut := map[wafer.DieID][]TaskID{}
	for i := range tasks {
		t := tasks[i]
		deps := make([]TaskID, 0, len(t.Deps)+2)
		for _, d := range t.Deps {
			deps = append(deps, first+d)
			waited[d] = true
		}
		if len(t.Deps) == 0 && t.Kind != Recv {
			deps = append(deps, entry(&t)...)
		}
		t.Deps = deps
		t.ID = first + TaskID(i)
		t.Reads, t.Writes = nil, nil // the expanded program names no buffers
		if t.Kind == Send || t.Kind == Recv {
			t.Tag += x.tagBase - minTag
		}
		prog.Tasks = append(prog.Tasks, t)
		if t.Out {
			newOut[t.Die] = append(newOut[t.Die], t.ID)
		}
	}
	for i := range tasks {
		if !waited[i] {
			x.sinks = append(x.sinks, first+TaskID(i))
		}
	}
	for d, ids := range newOut {
		x.out[d] = ids
	}
	if maxTag >= minTag {
		if maxTag-minTag >= math.MaxInt64/4-x.tagBase {
			return fmt.Errorf("plan: block %q: tags %d..%d leave no room to renumber them", n.Name, minTag, maxTag)
		}
		x.tagBase += maxTag - minTag + 1
	}
	return nil
}

// Closed reports whether every task of the program leads to an out task
// (through dependencies, and from a send to its receive): nothing a run
// of it does outlasts its handoff but through the runs after it waiting
// for it. A block with background work — a gradient bucket's all-reduce,
// a reduce-scatter nobody in the step reads — is open.
func (p *Program) Closed() bool {
	n := len(p.Tasks)
	reaches := make([]bool, n)
	recvOf := map[int64]int{}
	for i := range p.Tasks {
		if p.Tasks[i].Kind == Recv {
			recvOf[p.Tasks[i].Tag] = i
		}
	}
	// Dependencies point to earlier tasks: one backward sweep settles it.
	for i := n - 1; i >= 0; i-- {
		t := &p.Tasks[i]
		if t.Out {
			reaches[i] = true
		}
		if t.Kind == Send {
			if r, ok := recvOf[t.Tag]; ok && reaches[r] {
				reaches[i] = true
			}
		}
		if reaches[i] {
			for _, d := range t.Deps {
				reaches[d] = true
			}
		}
	}
	for i := range reaches {
		if !reaches[i] {
			return false
		}
	}
	return true
}

// ExpandedTasks counts the tasks Expand(count) writes, without writing
// them: every run of every block, and one task per run of a barrier node
// (an upper bound: a barrier with nothing before it needs none). It lets
// a replay's memory be estimated before the step is expanded. A pipeline
// plan counts as ExpandedMicroBatchTasks with all its micro-batches.
// Counts past 2^62 saturate.
func (p *Plan) ExpandedTasks(count func(*Node) int) int64 {
	if p.Pipeline != nil {
		return p.ExpandedMicroBatchTasks(p.Pipeline.MicroBatches)
	}
	return nodeTasks(p.Steps, count)
}

// ExpandedMicroBatchTasks counts the tasks ExpandMicroBatches(micro)
// writes, without writing them (see ExpandedTasks): every stage's step
// for micro micro-batches, a run of each boundary's programs per
// micro-batch, Tied and its two gates.
func (p *Plan) ExpandedMicroBatchTasks(micro int) int64 {
	pl := p.Pipeline
	if pl == nil {
		return p.ExpandedTasks(nil)
	}
	var n int64
	for k := range pl.Stages {
		n = satAdd(n, nodeTasks(pl.Stages[k].Steps(micro), nil))
	}
	for _, b := range pl.Boundaries {
		for _, prog := range []*Program{b.Forward, b.Backward} {
			if prog != nil {
				n = satAdd(n, satMul(int64(micro), int64(len(prog.Tasks))))
			}
		}
	}
	if pl.Tied != nil {
		n = satAdd(n, int64(len(pl.Tied.Tasks))+2)
	}
	return n
}

// nodeTasks counts the tasks of the runs of nodes, count giving each
// node's runs (nil: its Count).
func nodeTasks(nodes []Node, count func(*Node) int) int64 {
	var total int64
	for i := range nodes {
		n := &nodes[i]
		runs := n.Count
		if count != nil {
			runs = count(n)
		}
		if runs <= 0 {
			continue
		}
		one := nodeTasks(n.Body, count)
		if n.Program != nil {
			one = satAdd(one, int64(len(n.Program.Tasks)))
			if n.Barrier {
				one = satAdd(one, 1)
			}
		}
		total = satAdd(total, satMul(int64(runs), one))
	}
	return total
}

// maxCount is where task counts saturate.
const maxCount = 1 << 62

func satAdd(a, b int64) int64 { return min(a+b, maxCount) } // a, b ≤ 2^62: no overflow

func satMul(a, b int64) int64 {
	if a != 0 && b > maxCount/a {
		return maxCount
	}
	return min(a*b, maxCount)
}
