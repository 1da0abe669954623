package sim

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// budget is a Memory source of b bytes.
func budget(b int64) func() Memory {
	return func() Memory { return Memory{Bytes: b, Source: "the test's budget"} }
}

// pipelinePlan is a two-stage 1F1B pipeline of m micro-batches on a
// joined pair of mesh4x4 wafers: each stage a 1 ms pass each way on die
// (0,3) of wafer 0 or (0,0) of wafer 1, 1 MiB across the seam between
// them per micro-batch and direction, and an optimizer barrier.
func pipelinePlan(t *testing.T, m int) (*plan.Plan, *wafer.Spec) {
	j := joinedPair(t)
	a, b := j.OnWafer(0, 3), j.OnWafer(1, 0)
	pass := func(name string, d wafer.DieID) []plan.Node {
		var p plan.Program
		id := p.Delay(name, d, 1e-3)
		p.Tasks[id].Out = true
		return []plan.Node{{Name: name, Count: 1, Program: &p}}
	}
	move := func(from, to wafer.DieID) *plan.Program {
		var p plan.Program
		p.Transfer("x", from, to, 1<<20, nil)
		p.Tasks[0].Out = true
		q := p.Split(0)
		return &q
	}
	order, err := partition.PipelineOrder(partition.OneFOneB, 2, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	pl := &plan.Pipeline{Schedule: "1f1b", MicroBatches: m}
	for k, d := range []wafer.DieID{a, b} {
		st := plan.Stage{Wafer: k, Dies: []wafer.DieID{d}, Forward: pass("f", d), Backward: pass("b", d), LastBackward: pass("b", d), Finish: pass("adam", d)}
		st.Finish[0].Barrier = true
		for _, r := range order[k] {
			st.Order = append(st.Order, plan.PassRef{Micro: r.Micro, Backward: r.Backward})
		}
		pl.Stages = append(pl.Stages, st)
	}
	pl.Boundaries = []plan.Boundary{{Forward: move(a, b), Backward: move(b, a)}}
	return &plan.Plan{Pipeline: pl}, j
}

// TestReplayMemoryGuard: replays that would take more memory
// than the process may are refused before anything is expanded, with a
// *MemoryError naming the tasks, the estimate and the budget — a
// pipeline replay under ulimit -v once died in the Go runtime instead —;
// a pipeline whose replays fit one after the other but not side by side
// runs them so, to the same figures.
func TestReplayMemoryGuard(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	p := stepPlan(5, 7, false)
	// The full step: 5·7 runs of a, b, the send and its receive.
	const tasks = 5 * 7 * 4
	_, err := Step(s, p, StepConfig{Full: true, Memory: budget(tasks*BytesPerTask + Headroom - 1)})
	var me *MemoryError
	if !errors.As(err, &me) || me.Tasks != tasks || me.Need != tasks*BytesPerTask+Headroom || me.Have.Bytes != tasks*BytesPerTask+Headroom-1 {
		t.Fatalf("Step under a budget one byte short: %v (%+v), want a MemoryError for %d tasks", err, me, tasks)
	}
	for _, want := range []string{"sim: the step's replay would hold 140 tasks and need about 134 MB (1000 B a task and 134 MB besides), more than the 134 MB", "(the test's budget)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := Step(s, p, StepConfig{Full: true, Memory: budget(tasks*BytesPerTask + Headroom)}); err != nil {
		t.Errorf("Step within its budget: %v", err)
	}

	q, j := pipelinePlan(t, 12)
	free, err := PipelineStep(j, q, StepConfig{Memory: budget(-1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(free.Replays) != 2 {
		t.Fatalf("%d replays, want 2 (short and long)", len(free.Replays))
	}
	long := int64(free.Replays[0].Tasks)
	both := long + int64(free.Replays[1].Tasks)
	if got := q.ExpandedMicroBatchTasks(free.Replays[0].Counts[0]); got != long {
		t.Errorf("the long replay counted %d tasks, expanded %d", got, long)
	}
	tight, err := PipelineStep(j, q, StepConfig{Memory: budget((both-1)*BytesPerTask + Headroom)})
	if err != nil {
		t.Fatalf("replays that fit one after the other: %v", err)
	}
	if math.Abs(tight.Makespan-free.Makespan) > 1e-12 {
		t.Errorf("one after the other %.9g s, side by side %.9g s", tight.Makespan, free.Makespan)
	}
	_, err = PipelineStep(j, q, StepConfig{Memory: budget(long*BytesPerTask + Headroom - 1)})
	if !errors.As(err, &me) || me.Tasks != long || !strings.Contains(err.Error(), "the pipeline's replay of") {
		t.Errorf("a replay larger than the budget: %v, want a MemoryError for %d tasks", err, long)
	}
}

// TestAvailableMemory: on Linux at least /proc/meminfo bounds the memory,
// to something positive; the figure names its source.
func TestAvailableMemory(t *testing.T) {
	m := AvailableMemory()
	if _, ok := procField("/proc/meminfo", "MemAvailable:"); !ok {
		t.Skip("no /proc/meminfo here")
	}
	if m.Bytes <= 0 || m.Source == "" {
		t.Errorf("AvailableMemory = %+v, want a positive bound and its source", m)
	}
}
