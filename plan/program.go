package plan

import (
	"fmt"
	"math"

	"github.com/tempc/tempc/wafer"
)

// TaskID indexes Program.Tasks.
type TaskID int32

//go:generate go run github.com/tempc/tempc/internal/enumgen -type "Kind=task kind" -text

// Kind is what a task does. The line comments of its constants are their
// names, in the plan JSON too.
type Kind uint8

// Task kinds.
const (
	// Compute occupies a die's compute engine.
	Compute Kind = iota // compute
	// Transfer moves bytes from one die to another over a route: a send and
	// its receive in one task.
	Transfer // transfer
	// Send injects bytes at Die for Dst over Route; its Recv on Dst has the
	// same Tag. It is done when the bytes have arrived.
	Send // send
	// Recv completes on Die when the Send with its Tag has arrived and its
	// own dependencies are done; Peer is the sender.
	Recv // recv
)

// Task is one unit of work. It starts once all its dependencies are done.
type Task struct {
	ID   TaskID `json:"id"`
	Kind Kind   `json:"kind"`
	// Name labels the task in reports and errors.
	Name string `json:"name,omitempty"`
	// Die runs a compute task or a receive, or is the source of a transfer
	// or send.
	Die wafer.DieID `json:"die"`

	// FLOPs, HBMBytes and SRAMBytes size a compute task: the bytes it
	// reads and writes in its die's HBM, and those it reads from blocks
	// that DMA left in SRAM (a streamed block). Efficiency is the fraction
	// of the die's peak its kernel sustains (0 means 1). How long it takes
	// — next to the DMA traffic that shares the HBM port — is the
	// simulator's to find out; Seconds, when positive, fixes it instead.
	FLOPs      float64 `json:"flops,omitempty"`
	HBMBytes   float64 `json:"hbm_bytes,omitempty"`
	SRAMBytes  float64 `json:"sram_bytes,omitempty"`
	Efficiency float64 `json:"efficiency,omitempty"`
	Seconds    float64 `json:"seconds,omitempty"`

	// Dst and Bytes describe a transfer or send (Peer and Bytes a
	// receive). Route lists the dies it visits, Die first and Dst last; nil
	// means the default routing (XY).
	Dst   wafer.DieID `json:"dst,omitempty"`
	Peer  wafer.DieID `json:"peer,omitempty"`
	Bytes int64       `json:"bytes,omitempty"`
	Route wafer.Route `json:"route,omitempty"`
	// Tag pairs a Send with its Recv.
	Tag int64 `json:"tag,omitempty"`
	// Where a transfer's or send's payload lives: by default it is read
	// from the source's HBM and written to the destination's. SrcSRAM
	// reads it from the source's SRAM (a block received there); DstSRAM
	// lands it in the destination's SRAM, where the tasks that depend on
	// its arrival read it (a streamed block), if there is room. Reduce
	// adds it into the destination's own copy: the destination also reads
	// as many bytes of its own from HBM.
	SrcSRAM bool `json:"src_sram,omitempty"`
	DstSRAM bool `json:"dst_sram,omitempty"`
	Reduce  bool `json:"reduce,omitempty"`

	// Op and Block identify what a compute task computes: block Block of
	// the work Op (blocks of one op are numbered from 0).
	Op    string `json:"op,omitempty"`
	Block int    `json:"block,omitempty"`

	// Alloc bytes become live on Die when the task starts and stay live
	// until some task's Free releases them; Free bytes are released when
	// the task ends; Scratch bytes are live only while it runs.
	Alloc   int64 `json:"alloc,omitempty"`
	Free    int64 `json:"free,omitempty"`
	Scratch int64 `json:"scratch,omitempty"`

	// Reads and Writes name the buffers (indexes into Program.Buffers)
	// the task reads and writes: on Die for a compute task, a send's
	// reads and a receive's writes; a transfer reads on Die and writes on
	// Dst. Adding into a buffer is writing it. Undeclared data is not
	// checked; declared data is (see Program.CheckDataFlow).
	Reads  []int32 `json:"reads,omitempty"`
	Writes []int32 `json:"writes,omitempty"`

	// Out marks the block's results on Die (its last kernels, the receives
	// that bring the next block its operands): the next run's entry tasks
	// on Die wait for them (see Node).
	Out bool `json:"out,omitempty"`

	Deps []TaskID `json:"deps,omitempty"`
}

// Program is a set of tasks over the dies of one wafer, and the names of
// the buffers they declare (Task.Reads, Task.Writes).
type Program struct {
	Tasks   []Task   `json:"tasks"`
	Buffers []string `json:"buffers,omitempty"`
}

// Buffer returns the index of the buffer named name, adding it if the
// program has none of that name (a search: for names used again).
func (p *Program) Buffer(name string) int32 {
	for i := len(p.Buffers) - 1; i >= 0; i-- {
		if p.Buffers[i] == name {
			return int32(i)
		}
	}
	return p.AddBuffer(name)
}

// AddBuffer adds a buffer named name, which the program must not have yet,
// and returns its index.
func (p *Program) AddBuffer(name string) int32 {
	p.Buffers = append(p.Buffers, name)
	return int32(len(p.Buffers) - 1)
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
// and not negative, and explicit routes are paths (no die twice) joining
// Die to Dst over live links.
// The error names the task.
func (p *Program) Check(s *wafer.Spec) error {
	for i := range p.Tasks {
		t := &p.Tasks[i]
		if err := t.check(s, TaskID(i), len(p.Buffers)); err != nil {
			return fmt.Errorf("plan: die %s, task %d %q: %w", dieName(s, t.Die), i, t.Name, err)
		}
	}
	return p.checkPairs(s)
}

func dieName(s *wafer.Spec, d wafer.DieID) string {
	if d >= 0 && int(d) < s.NumDies() {
		return s.Coord(d).String()
	}
	return fmt.Sprintf("%d", d)
}

// checkPairs checks that every Recv is matched by exactly one Send of the
// same tag, endpoints and size, and every Send by exactly one Recv.
func (p *Program) checkPairs(s *wafer.Spec) error {
	sends := map[int64]TaskID{}
	recvs := map[int64]TaskID{}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		m := sends
		if t.Kind == Recv {
			m = recvs
		} else if t.Kind != Send {
			continue
		}
		if prev, dup := m[t.Tag]; dup {
			return fmt.Errorf("plan: die %s, task %d %q: tag %d already used by task %d", dieName(s, t.Die), i, t.Name, t.Tag, prev)
		}
		m[t.Tag] = TaskID(i)
	}
	for tag, r := range recvs {
		rt := &p.Tasks[r]
		si, ok := sends[tag]
		if !ok {
			return fmt.Errorf("plan: die %s, task %d %q: receive of tag %d from %s has no matching send",
				dieName(s, rt.Die), r, rt.Name, tag, dieName(s, rt.Peer))
		}
		st := &p.Tasks[si]
		if st.Dst != rt.Die || st.Die != rt.Peer || st.Bytes != rt.Bytes {
			return fmt.Errorf("plan: die %s, task %d %q: receive of %d bytes from %s does not match send task %d (%d bytes %s→%s)",
				dieName(s, rt.Die), r, rt.Name, rt.Bytes, dieName(s, rt.Peer), si, st.Bytes, dieName(s, st.Die), dieName(s, st.Dst))
		}
	}
	for tag, si := range sends {
		if _, ok := recvs[tag]; !ok {
			st := &p.Tasks[si]
			return fmt.Errorf("plan: die %s, task %d %q: send of tag %d to %s has no matching receive",
				dieName(s, st.Die), si, st.Name, tag, dieName(s, st.Dst))
		}
	}
	return nil
}

func (t *Task) check(s *wafer.Spec, i TaskID, nbuf int) error {
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
	for _, v := range []float64{t.FLOPs, t.HBMBytes, t.SRAMBytes, t.Seconds} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("has size %g; sizes must be finite and not negative", v)
		}
	}
	if !(t.Efficiency >= 0 && t.Efficiency <= 1) {
		return fmt.Errorf("has efficiency %g; it must be in (0, 1] (0 means 1)", t.Efficiency)
	}
	for _, b := range append(t.Reads[:len(t.Reads):len(t.Reads)], t.Writes...) {
		if b < 0 || int(b) >= nbuf {
			return fmt.Errorf("names buffer %d; the block declares %d", b, nbuf)
		}
	}
	if t.Bytes < 0 || t.Alloc < 0 || t.Free < 0 || t.Scratch < 0 {
		return fmt.Errorf("has negative bytes or memory %d, %d/%d/%d", t.Bytes, t.Alloc, t.Free, t.Scratch)
	}
	if t.Kind != Compute && (t.FLOPs != 0 || t.HBMBytes != 0 || t.SRAMBytes != 0 || t.Efficiency != 0 || t.Seconds != 0 || t.Op != "") {
		return fmt.Errorf("is a %s with FLOPs, memory bytes, an efficiency, seconds or an op, which only compute tasks have", t.Kind)
	}
	if t.Kind != Transfer && t.Kind != Send && (t.SrcSRAM || t.DstSRAM || t.Reduce) {
		return fmt.Errorf("is a %s with a payload placement (src_sram, dst_sram, reduce), which only transfers and sends have", t.Kind)
	}
	switch t.Kind {
	case Compute:
		if t.Block < 0 {
			return fmt.Errorf("computes block %d of %s; blocks are numbered from 0", t.Block, t.Op)
		}
	case Recv:
		if !s.Alive(t.Peer) {
			return fmt.Errorf("receives from dead or missing die %d", t.Peer)
		}
		if t.Peer == t.Die {
			return fmt.Errorf("receives from itself")
		}
	case Transfer, Send:
		if !s.Alive(t.Dst) {
			return fmt.Errorf("sends to dead or missing die %d", t.Dst)
		}
		if t.Dst == t.Die {
			return fmt.Errorf("sends to itself")
		}
		if t.Route != nil {
			if len(t.Route) == 0 || t.Route[0] != t.Die || t.Route[len(t.Route)-1] != t.Dst {
				return fmt.Errorf("route %v does not join die %d to die %d", t.Route, t.Die, t.Dst)
			}
			if err := s.CheckRoute(t.Route); err != nil {
				return err
			}
			seen := make(map[wafer.DieID]bool, len(t.Route))
			for _, d := range t.Route {
				if seen[d] {
					return fmt.Errorf("route %v visits die %s twice; a route is a path", t.Route, dieName(s, d))
				}
				seen[d] = true
			}
		}
	default:
		return fmt.Errorf("has unknown kind %d", t.Kind)
	}
	return nil
}

// Split returns p with every Transfer replaced by a Send on its source and
// a Recv on its destination (same tag: the transfer's ID offset by base);
// tasks that depended on the transfer depend on its Recv, which is an out
// task if the transfer was (its payload is a result on Dst).
func (p *Program) Split(base int64) Program {
	out := Program{Buffers: p.Buffers}
	newID := make([]TaskID, len(p.Tasks))
	for i := range p.Tasks {
		t := p.Tasks[i]
		deps := make([]TaskID, len(t.Deps))
		for k, d := range t.Deps {
			deps[k] = newID[d]
		}
		t.Deps = deps
		if t.Kind != Transfer {
			newID[i] = out.add(t)
			continue
		}
		tag := base + int64(i)
		snd := t
		snd.Kind, snd.Tag, snd.Out, snd.Writes = Send, tag, false, nil
		out.add(snd)
		rcv := Task{Kind: Recv, Name: t.Name, Die: t.Dst, Peer: t.Die, Bytes: t.Bytes, Tag: tag, Out: t.Out, Writes: t.Writes, Deps: deps}
		newID[i] = out.add(rcv)
	}
	return out
}
