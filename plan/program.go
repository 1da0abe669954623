package plan

import (
	"fmt"
	"math"

	"tempc/wafer"
)

// TaskID indexes Program.Tasks.
type TaskID int32

// Kind is what a task does.
type Kind uint8

// Task kinds.
const (
	// Compute occupies a die's compute engine.
	Compute Kind = iota
	// Transfer moves bytes from one die to another over a route.
	Transfer
)

func (k Kind) String() string {
	if k == Transfer {
		return "transfer"
	}
	return "compute"
}

// Task is one unit of work. It starts once all its dependencies are done.
type Task struct {
	ID   TaskID
	Kind Kind
	// Name labels the task in reports and errors.
	Name string
	// Die runs a compute task, or is the source of a transfer.
	Die wafer.DieID

	// FLOPs and HBMBytes size a compute task; its time is the roofline
	// max(FLOPs/peak, HBMBytes/HBM bandwidth) unless Seconds is positive,
	// which then fixes it.
	FLOPs, HBMBytes float64
	Seconds         float64

	// Dst and Bytes describe a transfer. Route lists the dies it visits,
	// Die first and Dst last; nil means the simulator's default routing.
	Dst   wafer.DieID
	Bytes int64
	Route wafer.Route

	Deps []TaskID
}

// Program is a set of tasks over the dies of one wafer.
type Program struct {
	Tasks []Task
}

// Compute appends a compute task and returns its ID.
func (p *Program) Compute(name string, die wafer.DieID, flops, hbmBytes float64, deps ...TaskID) TaskID {
	return p.add(Task{Kind: Compute, Name: name, Die: die, FLOPs: flops, HBMBytes: hbmBytes, Deps: deps})
}

// Delay appends a compute task of a fixed duration and returns its ID.
func (p *Program) Delay(name string, die wafer.DieID, seconds float64, deps ...TaskID) TaskID {
	return p.add(Task{Kind: Compute, Name: name, Die: die, Seconds: seconds, Deps: deps})
}

// Transfer appends a transfer over route (nil: default routing) and
// returns its ID.
func (p *Program) Transfer(name string, src, dst wafer.DieID, bytes int64, route wafer.Route, deps ...TaskID) TaskID {
	return p.add(Task{Kind: Transfer, Name: name, Die: src, Dst: dst, Bytes: bytes, Route: route, Deps: deps})
}

func (p *Program) add(t Task) TaskID {
	t.ID = TaskID(len(p.Tasks))
	t.Deps = append([]TaskID(nil), t.Deps...)
	p.Tasks = append(p.Tasks, t)
	return t.ID
}

// Check validates the program against a wafer: IDs match indexes,
// dependencies point to earlier tasks, dies are healthy, sizes are finite
// and not negative, and explicit routes join Die to Dst over live links.
// The error names the task.
func (p *Program) Check(s *wafer.Spec) error {
	for i := range p.Tasks {
		t := &p.Tasks[i]
		if err := t.check(s, TaskID(i)); err != nil {
			return fmt.Errorf("plan: task %d %q: %w", i, t.Name, err)
		}
	}
	return nil
}

func (t *Task) check(s *wafer.Spec, i TaskID) error {
	if t.ID != i {
		return fmt.Errorf("has ID %d", t.ID)
	}
	for _, d := range t.Deps {
		if d < 0 || d >= i {
			return fmt.Errorf("depends on task %d; dependencies must be earlier tasks", d)
		}
	}
	if !s.Alive(t.Die) {
		return fmt.Errorf("runs on dead or missing die %d", t.Die)
	}
	switch t.Kind {
	case Compute:
		for _, v := range []float64{t.FLOPs, t.HBMBytes, t.Seconds} {
			if !(v >= 0) || math.IsInf(v, 0) {
				return fmt.Errorf("has size %g; sizes must be finite and not negative", v)
			}
		}
	case Transfer:
		if !s.Alive(t.Dst) {
			return fmt.Errorf("sends to dead or missing die %d", t.Dst)
		}
		if t.Bytes < 0 {
			return fmt.Errorf("sends %d bytes", t.Bytes)
		}
		if t.Route != nil {
			if len(t.Route) == 0 || t.Route[0] != t.Die || t.Route[len(t.Route)-1] != t.Dst {
				return fmt.Errorf("route %v does not join die %d to die %d", t.Route, t.Die, t.Dst)
			}
			if err := s.CheckRoute(t.Route); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("has unknown kind %d", t.Kind)
	}
	return nil
}
