package plan

import (
	"fmt"
	"sort"

	"github.com/tempc/tempc/wafer"
)

// access is a task's read or write of a buffer on a die.
type access struct {
	task  TaskID
	write bool
}

// CheckDataFlow checks the program's declared data flow (Task.Reads and
// Writes) against its dependencies. ID order is a valid sequential
// execution of a program, and in it a read sees the buffer as the latest
// earlier write left it (or as the block found it, with no earlier
// write); the check holds every run of the program to that: each write
// of a buffer on a die waits (transitively) for the write before it and
// for every read in between, and each read for the write before it. A
// task that reads a block that is still being received or computed — a
// kernel beside the gather of its own weights, a partial sum forwarded
// before the die's addition into it — fails, naming both tasks. The
// error names the first offending pair in task order.
func (p *Program) CheckDataFlow(s *wafer.Spec) error {
	if len(p.Buffers) == 0 {
		return nil
	}
	type key struct {
		buf int32
		die wafer.DieID
	}
	acc := map[key][]access{}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		readDie, writeDie := t.Die, t.Die
		if t.Kind == Transfer {
			writeDie = t.Dst
		}
		for _, b := range t.Reads {
			acc[key{b, readDie}] = append(acc[key{b, readDie}], access{TaskID(i), false})
		}
		for _, b := range t.Writes {
			acc[key{b, writeDie}] = append(acc[key{b, writeDie}], access{TaskID(i), true})
		}
	}
	keys := make([]key, 0, len(acc))
	for k := range acc {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].die != keys[j].die {
			return keys[i].die < keys[j].die
		}
		return keys[i].buf < keys[j].buf
	})
	r := newReach(p)
	var first error
	firstAt := TaskID(len(p.Tasks))
	fail := func(k key, before, after access) {
		if after.task >= firstAt {
			return
		}
		a, b := &p.Tasks[before.task], &p.Tasks[after.task]
		firstAt = after.task
		first = fmt.Errorf("plan: die %s: task %d %q %s buffer %q, which task %d %q %s, without waiting for it",
			dieName(s, k.die), after.task, b.Name, verb(after.write), p.Buffers[k.buf], before.task, a.Name, verb(before.write))
	}
	for _, k := range keys {
		as := acc[k]
		sort.SliceStable(as, func(i, j int) bool { return as[i].task < as[j].task })
		lastWrite := access{task: -1}
		var readsSince []access
		for _, a := range as {
			if lastWrite.task >= 0 && lastWrite.task != a.task && !r.before(lastWrite.task, a.task) {
				fail(k, lastWrite, a)
			}
			if !a.write {
				readsSince = append(readsSince, a)
				continue
			}
			for _, rd := range readsSince {
				if rd.task != a.task && !r.before(rd.task, a.task) {
					fail(k, rd, a)
				}
			}
			lastWrite, readsSince = a, readsSince[:0]
		}
	}
	return first
}

func verb(write bool) string {
	if write {
		return "writes"
	}
	return "reads"
}

// reach answers whether one task of a program waits, transitively, for
// an earlier one: for its dependencies, and a receive for its send.
type reach struct {
	p     *Program
	send  map[TaskID]TaskID // a receive's send
	stamp []uint32
	gen   uint32
	stack []TaskID
}

func newReach(p *Program) *reach {
	r := &reach{p: p, stamp: make([]uint32, len(p.Tasks)), send: map[TaskID]TaskID{}}
	tags := map[int64]TaskID{}
	for i := range p.Tasks {
		if t := &p.Tasks[i]; t.Kind == Send {
			tags[t.Tag] = TaskID(i)
		}
	}
	for i := range p.Tasks {
		if t := &p.Tasks[i]; t.Kind == Recv {
			if s, ok := tags[t.Tag]; ok {
				r.send[TaskID(i)] = s
			}
		}
	}
	return r
}

// before reports whether task b depends on a, directly or not: a search
// back from b that never goes below a's ID (dependencies point to
// earlier tasks).
func (r *reach) before(a, b TaskID) bool {
	if a >= b {
		return false
	}
	r.gen++
	r.stack = append(r.stack[:0], b)
	for len(r.stack) > 0 {
		x := r.stack[len(r.stack)-1]
		r.stack = r.stack[:len(r.stack)-1]
		visit := func(d TaskID) bool {
			if d == a {
				return true
			}
			if d > a && r.stamp[d] != r.gen {
				r.stamp[d] = r.gen
				r.stack = append(r.stack, d)
			}
			return false
		}
		if s, ok := r.send[x]; ok && visit(s) {
			return true
		}
		for _, d := range r.p.Tasks[x].Deps {
			if visit(d) {
				return true
			}
		}
	}
	return false
}
