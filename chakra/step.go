package chakra

import (
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// A visitor receives a plan's step run by run from a stepper. R is what
// the visitor makes of a task (for the exporter, where the task's
// completion can be waited for; for tests, the task's ID in
// plan.Expand's program).
type visitor[R any] interface {
	// task is called for task i of a run of block n, in task order.
	// local holds what task returned for the run's earlier tasks (a
	// visitor may update local[j] for j < i; the stepper reads local
	// again only after the run); handoff is what the task waits for
	// beyond its own dependencies: the out tasks of the run before on
	// its die, or the latest barrier.
	task(n *plan.Node, i int, local []R, handoff []R) R
	// sink is called after each run for every task of it that no task
	// of the run waits for: what a barrier waits for.
	sink(r R)
	// barrier is called before a run of a Barrier node that has
	// something to wait for: every sink since the previous barrier and
	// prev, that barrier, if hasPrev. die is the die of the node's first
	// task, where plan.Expand puts its barrier task.
	barrier(n *plan.Node, die wafer.DieID, prev R, hasPrev bool) R
}

// A stepper replays a plan's step with the semantics of plan.Expand —
// every run of every block in Walk order, a run's entry tasks handed off
// to the out tasks of the latest earlier run on their die, barriers
// waiting for every sink — without writing the step out: it keeps only
// the handoff (per die, the latest run's out tasks) and one run's tasks
// at a time. TestStepperMatchesExpand holds it to plan.Expand.
type stepper[R any] struct {
	v visitor[R]
	// out: per die, what the latest run with out tasks there left.
	out map[wafer.DieID][]R
	// nsinks counts the sinks since the latest barrier; bar is that
	// barrier if hasBar.
	nsinks int64
	bar    []R // one element when hasBar
	hasBar bool
	// Buffers reused from run to run.
	local  []R
	waited []bool
	// stop, when set, is asked before each run whether to give up the
	// replay (a cancelled export).
	stop func() bool
}

func newStepper[R any](v visitor[R]) *stepper[R] {
	return &stepper[R]{v: v, out: map[wafer.DieID][]R{}}
}

// step replays the whole step.
func (s *stepper[R]) step(p *plan.Plan) { s.nodes(p.Steps) }

func (s *stepper[R]) nodes(nodes []plan.Node) {
	for i := range nodes {
		n := &nodes[i]
		for range max(0, n.Count) {
			if s.stop != nil && s.stop() {
				return
			}
			if n.Program != nil {
				s.run(n)
				continue
			}
			s.nodes(n.Body)
		}
	}
}

// run replays one run of block n.
func (s *stepper[R]) run(n *plan.Node) {
	tasks := n.Program.Tasks
	if n.Barrier && len(tasks) > 0 && (s.nsinks > 0 || s.hasBar) {
		var prev R
		if s.hasBar {
			prev = s.bar[0]
		}
		b := s.v.barrier(n, tasks[0].Die, prev, s.hasBar)
		// Every die's handoff becomes the barrier: those that have one
		// share the slice, those that have none fall back to it.
		s.bar, s.hasBar, s.nsinks = []R{b}, true, 0
		for d := range s.out { // assignments only: the order does not matter
			s.out[d] = s.bar
		}
	}
	local := grow(s.local, len(tasks))
	waited := grow(s.waited, len(tasks))
	clear(waited)
	for i := range tasks {
		t := &tasks[i]
		var handoff []R
		if len(t.Deps) == 0 && t.Kind != plan.Recv {
			if h, ok := s.out[t.Die]; ok {
				handoff = h
			} else if s.hasBar {
				handoff = s.bar
			}
		}
		local[i] = s.v.task(n, i, local, handoff)
		for _, d := range t.Deps {
			waited[d] = true
		}
	}
	for i := range tasks {
		if !waited[i] {
			s.v.sink(local[i])
			s.nsinks++
		}
	}
	s.handOff(tasks, local)
	s.local, s.waited = local, waited
}

// handOff records the run's out tasks, per die in task order, as the
// handoff of the dies that have some.
func (s *stepper[R]) handOff(tasks []plan.Task, local []R) {
	var fresh map[wafer.DieID][]R
	for i := range tasks {
		if !tasks[i].Out {
			continue
		}
		if fresh == nil {
			fresh = map[wafer.DieID][]R{}
		}
		d := tasks[i].Die
		fresh[d] = append(fresh[d], local[i])
	}
	for d, rs := range fresh { // assignments only
		s.out[d] = rs
	}
}

// grow returns buf resized to n elements, reallocated if too small.
func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}
