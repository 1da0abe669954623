package lower

import (
	"fmt"

	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// CheckPipeline checks a pipeline plan's communication, as CheckComm a
// single-wafer plan's: s is the cluster's joined mesh the plan runs on
// (wafer.Spec.Joined), spaces[k] stage k's strategy space (over its stage
// graph, on one wafer, with the stage's micro-batch), activation the
// bytes of one micro-batch's activation between two stages (its
// sequences' hidden states) and tied the bytes of the tied embedding's
// gradient per replica (zero when the model ties none). All come from the
// model, not from the plan. It checks:
//
//   - each stage's step (plan.Stage.Steps) as CheckComm a plan's, with the
//     stage's layout, groups and strategies;
//   - each boundary, per micro-batch and each way: every transfer ends on
//     a die of the receiving stage and starts on the sending stage or, to
//     spread the data within a replica, on the receiving one; each
//     receiving die gets at least its share of the activation (of n
//     receiving dies, ⌊activation/n⌋), and each receiving replica at
//     least its replica's part from the sending stage's dies;
//   - with tied > 0, the tied exchange: every transfer goes between the
//     first and the last stage's dies, and each replica of either stage
//     receives at least tied bytes from the other; with tied = 0 there is
//     none.
//
// Errors name the stage, boundary or task at fault.
func CheckPipeline(p *plan.Plan, s *wafer.Spec, spaces []*partition.Space, activation, tied int64) error {
	pl := p.Pipeline
	if pl == nil {
		return fmt.Errorf("lower: %s is a single-wafer plan; CheckComm checks its communication", p.Model)
	}
	if len(spaces) != len(pl.Stages) {
		return fmt.Errorf("lower: %d strategy spaces for the pipeline's %d stages", len(spaces), len(pl.Stages))
	}
	pc := pipeCheck{s: s, pl: pl, stageOf: map[wafer.DieID]int{}}
	for k := range pl.Stages {
		st := &pl.Stages[k]
		for _, d := range st.Dies {
			pc.stageOf[d] = k
		}
		where := fmt.Sprintf("stage %d: ", k)
		l, err := planLayout(st.Layout, spaces[k])
		if err != nil {
			return fmt.Errorf("%s%w", where, err)
		}
		if len(st.Strategies) == 0 {
			return fmt.Errorf("lower: %sthe stage records no strategies, so what it must communicate is unknown", where)
		}
		steps := &plan.Plan{Steps: st.Steps(pl.MicroBatches)}
		cp := commPlan{where: where, spec: s, layout: l, groups: st.Groups, strategies: st.Strategies, walk: steps.Walk}
		if err := cp.check(spaces[k]); err != nil {
			return err
		}
	}
	for k, b := range pl.Boundaries {
		if err := pc.boundary(b.Forward, k, k+1, activation); err != nil {
			return err
		}
		if err := pc.boundary(b.Backward, k+1, k, activation); err != nil {
			return err
		}
	}
	return pc.tied(tied)
}

type pipeCheck struct {
	s       *wafer.Spec
	pl      *plan.Pipeline
	stageOf map[wafer.DieID]int
}

// stage is the stage of die d, -1 when it is on none.
func (pc pipeCheck) stage(d wafer.DieID) int {
	if k, ok := pc.stageOf[d]; ok {
		return k
	}
	return -1
}

// boundary checks one boundary's program, which moves bytes from stage
// from to stage to (see CheckPipeline).
func (pc pipeCheck) boundary(prog *plan.Program, from, to int, bytes int64) error {
	name := fmt.Sprintf("boundary %d→%d", from, to)
	if prog == nil {
		return fmt.Errorf("lower: %s has no program", name)
	}
	recv := map[wafer.DieID]float64{}
	crossed := map[wafer.DieID]float64{}
	for i := range prog.Tasks {
		t := &prog.Tasks[i]
		if t.Kind != plan.Transfer && t.Kind != plan.Send {
			continue
		}
		ks, kd := pc.stage(t.Die), pc.stage(t.Dst)
		if kd != to || (ks != from && ks != to) {
			return fmt.Errorf("lower: %s, task %d %q: moves data from die %s (stage %d) to die %s (stage %d); a boundary moves it from stage %d to stage %d",
				name, i, t.Name, dieName(pc.s, t.Die), ks, dieName(pc.s, t.Dst), kd, from, to)
		}
		recv[t.Dst] += float64(t.Bytes)
		if ks == from {
			crossed[t.Dst] += float64(t.Bytes)
		}
	}
	st := &pc.pl.Stages[to]
	n := float64(len(st.Dies))
	share := float64(bytes / int64(len(st.Dies)))
	for _, d := range st.Dies {
		if short(recv[d], share) {
			return fmt.Errorf("lower: %s: die %s receives %s per micro-batch; its share of the %s activation is %s",
				name, dieName(pc.s, d), fileio.Bytes(recv[d]), fileio.Bytes(bytes), fileio.Bytes(share))
		}
	}
	for j, g := range st.Groups {
		got := 0.0
		for _, d := range g {
			got += crossed[d]
		}
		if want := float64(bytes)*float64(len(g))/n - 1; short(got, want) {
			return fmt.Errorf("lower: %s: replica %d receives %s from stage %d per micro-batch; its part of the %s activation is %s",
				name, j, fileio.Bytes(got), from, fileio.Bytes(bytes), fileio.Bytes(want))
		}
	}
	return nil
}

// tied checks the tied exchange (see CheckPipeline).
func (pc pipeCheck) tied(bytes int64) error {
	last := len(pc.pl.Stages) - 1
	switch {
	case bytes > 0 && pc.pl.Tied == nil:
		return fmt.Errorf("lower: the pipeline exchanges no tied embedding gradient; the model's first and last stage both hold its tied table (%s of gradient per replica)", fileio.Bytes(bytes))
	case bytes <= 0 && pc.pl.Tied != nil:
		return fmt.Errorf("lower: the pipeline exchanges a tied gradient, but the model ties no weight across its first and last stage")
	case bytes <= 0:
		return nil
	}
	recv := map[wafer.DieID]float64{}
	for i := range pc.pl.Tied.Tasks {
		t := &pc.pl.Tied.Tasks[i]
		if t.Kind != plan.Transfer && t.Kind != plan.Send {
			continue
		}
		ks, kd := pc.stage(t.Die), pc.stage(t.Dst)
		if !(ks == 0 && kd == last || ks == last && kd == 0) {
			return fmt.Errorf("lower: tied, task %d %q: moves data from die %s (stage %d) to die %s (stage %d); the tied gradient goes between the first and the last stage (0 and %d) only",
				i, t.Name, dieName(pc.s, t.Die), ks, dieName(pc.s, t.Dst), kd, last)
		}
		recv[t.Dst] += float64(t.Bytes)
	}
	for _, k := range []int{0, last} {
		for j, g := range pc.pl.Stages[k].Groups {
			got := 0.0
			for _, d := range g {
				got += recv[d]
			}
			if short(got, float64(bytes)) {
				return fmt.Errorf("lower: tied: replica %d of stage %d receives %s of the tied gradient; the other end's is %s",
					j, k, fileio.Bytes(got), fileio.Bytes(bytes))
			}
		}
	}
	return nil
}

// CheckPipelineRoutes reports whether a pipeline's boundaries and tied
// exchange can be routed on joined (a cluster's joined mesh,
// wafer.Spec.Joined): dies[k] lists stage k's dies on its own wafer (die
// IDs of one wafer, as the stage was planned), stage k on wafer k, as
// Pipeline places them. Each boundary joins every die of a stage to every
// die of the next, so the stages must lie in one part of the mesh that
// live dies and links connect; then Pipeline finds a route (a detour
// around faults) for every transfer. It costs one search of the mesh,
// and a planner calls it before reporting a split's throughput. The
// error names a die cut off from the stage before it.
func CheckPipelineRoutes(joined *wafer.Spec, dies [][]wafer.DieID) error {
	if len(dies) > joined.Wafers() {
		return fmt.Errorf("lower: %d stages on the %d wafers of %s: one stage per wafer", len(dies), joined.Wafers(), joined.Name)
	}
	comp := joined.Components()
	part := -1
	for k, ds := range dies {
		for _, local := range ds {
			d := joined.OnWafer(k, local)
			if !joined.Alive(d) {
				return fmt.Errorf("lower: stage %d: die %s of wafer %d is dead or off the mesh", k, dieName(joined, d), k)
			}
			if part < 0 {
				part = comp[d]
			}
			if comp[d] != part {
				return fmt.Errorf("lower: stage %d: faults cut die %s of wafer %d off from the stages before it: no route carries its boundary", k, dieName(joined, d), k)
			}
		}
	}
	return nil
}
