package chakra

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// expandVisitor numbers tasks as plan.Expand does and records each one's
// die, kind and dependencies: the stepper's step written out.
type expandVisitor struct {
	tasks    []expanded
	sinks    []plan.TaskID
	barriers []plan.TaskID
}

type expanded struct {
	Die  wafer.DieID
	Kind plan.Kind
	Deps []plan.TaskID
}

func (v *expandVisitor) task(n *plan.Node, i int, local, handoff []plan.TaskID) plan.TaskID {
	t := &n.Program.Tasks[i]
	e := expanded{Die: t.Die, Kind: t.Kind, Deps: []plan.TaskID{}}
	for _, d := range t.Deps {
		e.Deps = append(e.Deps, local[d])
	}
	e.Deps = append(e.Deps, handoff...)
	v.tasks = append(v.tasks, e)
	return plan.TaskID(len(v.tasks) - 1)
}

func (v *expandVisitor) sink(r plan.TaskID) { v.sinks = append(v.sinks, r) }

func (v *expandVisitor) barrier(n *plan.Node, die wafer.DieID, prev plan.TaskID, hasPrev bool) plan.TaskID {
	deps := append([]plan.TaskID{}, v.sinks...)
	if hasPrev {
		deps = append(deps, prev)
	}
	v.sinks = nil
	v.tasks = append(v.tasks, expanded{Die: die, Kind: plan.Compute, Deps: deps})
	id := plan.TaskID(len(v.tasks) - 1)
	v.barriers = append(v.barriers, id)
	return id
}

// TestStepperMatchesExpand: the stepper replays a step exactly as
// plan.Expand writes it out — the same tasks in the same order, on the
// same dies, with the same dependencies (handoffs and barriers
// included) — on the hand-made step and on gpt2's.
func TestStepperMatchesExpand(t *testing.T) {
	cases := []struct {
		name  string
		build func(testing.TB) (*plan.Plan, *wafer.Spec)
	}{
		{"tiny", tinyPlan},
	}
	for _, l := range gpt2Layouts {
		cases = append(cases, struct {
			name  string
			build func(testing.TB) (*plan.Plan, *wafer.Spec)
		}{"gpt2 " + l, func(t testing.TB) (*plan.Plan, *wafer.Spec) { return gpt2Plan(t, l) }})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := tc.build(t)
			x, err := p.Expand(nil)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]expanded, len(x.Program.Tasks))
			for i, tk := range x.Program.Tasks {
				want[i] = expanded{Die: tk.Die, Kind: tk.Kind, Deps: append([]plan.TaskID{}, tk.Deps...)}
			}
			v := &expandVisitor{}
			newStepper[plan.TaskID](v).step(p)
			if d := cmp.Diff(want, v.tasks); d != "" {
				t.Errorf("stepper vs plan.Expand (-want +got):\n%s", d)
			}
			if d := cmp.Diff(x.Barriers, v.barriers); d != "" {
				t.Errorf("barriers (-want +got):\n%s", d)
			}
		})
	}
}
