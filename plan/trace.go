package plan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"tempc/wafer"
)

// Timing is when a task of a block started and ended, in seconds from the
// start of the block's run.
type Timing struct {
	Start, End float64
}

// traceEvent is one Chrome trace event (the format Perfetto reads).
type traceEvent struct {
	Name string         `json:"name,omitempty"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  *float64       `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	ID   string         `json:"id,omitempty"`
	BP   string         `json:"bp,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// Track numbers within a die's process: the compute engine, then lanes of
// sends (DMA), receives, and each outgoing link direction. Messages that
// overlap in time take separate lanes so that every track's slices nest.
const (
	tidCompute = 0
	tidSend    = 1000
	tidRecv    = 2000
	tidLink    = 3000 // + 100·direction + lane
)

// WriteTrace writes a Chrome/Perfetto trace of one run of every block of
// the plan, laid end to end in execution order, from per-block task
// timings: one process per die, a track for its compute engine, lanes for
// its sends and receives, and lanes for each outgoing link direction (a
// message occupies every link of its route for its whole transfer); a flow
// arrow joins each send to its receive.
func WriteTrace(w io.Writer, p *Plan, s *wafer.Spec, timings map[*Node][]Timing) error {
	tw := &tracer{spec: s, lanes: map[[2]int][]float64{}}
	names := map[int]bool{}
	offset := 0.0
	err := p.Walk(func(n *Node, _ int) error {
		t := timings[n]
		if len(t) != len(n.Program.Tasks) {
			return fmt.Errorf("plan: trace: block %q has %d timings for %d tasks", n.Name, len(t), len(n.Program.Tasks))
		}
		end := 0.0
		for i := range n.Program.Tasks {
			tw.task(n, &n.Program.Tasks[i], t[i], offset)
			names[int(n.Program.Tasks[i].Die)] = true
			end = max(end, t[i].End)
		}
		offset += end
		return nil
	})
	if err != nil {
		return err
	}
	var dies []int
	for d := range names {
		dies = append(dies, d)
	}
	sort.Ints(dies)
	for _, d := range dies {
		tw.meta(d, -1, "process_name", fmt.Sprintf("die %d", d))
	}
	for _, k := range tw.tracks() {
		tw.meta(k[0], k[1], "thread_name", trackName(k[1]))
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(struct {
		Events []traceEvent `json:"traceEvents"`
		Unit   string       `json:"displayTimeUnit"`
	}{tw.events, "ns"}); err != nil {
		return err
	}
	return bw.Flush()
}

func trackName(tid int) string {
	switch {
	case tid == tidCompute:
		return "compute"
	case tid < tidRecv:
		return fmt.Sprintf("dma send %d", tid-tidSend)
	case tid < tidLink:
		return fmt.Sprintf("recv %d", tid-tidRecv)
	}
	d := (tid - tidLink) / 100
	return fmt.Sprintf("link %s lane %d", wafer.Dir(d), (tid-tidLink)%100)
}

type tracer struct {
	spec   *wafer.Spec
	events []traceEvent
	lanes  map[[2]int][]float64 // (die, base track) → end time of each lane
	used   map[[2]int]bool
}

const us = 1e6 // trace timestamps are in microseconds

// lane returns a track of die at base free from start on, and books it
// until end.
func (tw *tracer) lane(die, base int, start, end float64) int {
	k := [2]int{die, base}
	ls := tw.lanes[k]
	for i, e := range ls {
		if e <= start {
			ls[i] = end
			return tw.mark(die, base+i)
		}
	}
	tw.lanes[k] = append(ls, end)
	return tw.mark(die, base+len(ls))
}

func (tw *tracer) mark(die, tid int) int {
	if tw.used == nil {
		tw.used = map[[2]int]bool{}
	}
	tw.used[[2]int{die, tid}] = true
	return tid
}

func (tw *tracer) tracks() [][2]int {
	var out [][2]int
	for k := range tw.used {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return out[i][1] < out[j][1]
	})
	return out
}

func (tw *tracer) slice(name, cat string, die, tid int, start, end float64, args map[string]any) {
	dur := (end - start) * us
	tw.events = append(tw.events, traceEvent{Name: name, Cat: cat, Ph: "X", Ts: start * us, Dur: &dur, Pid: die, Tid: tid, Args: args})
}

func (tw *tracer) meta(die, tid int, kind, name string) {
	ev := traceEvent{Name: kind, Ph: "M", Pid: die, Tid: max(tid, 0), Args: map[string]any{"name": name}}
	tw.events = append(tw.events, ev)
}

func (tw *tracer) task(n *Node, t *Task, tm Timing, off float64) {
	start, end := off+tm.Start, off+tm.End
	die := int(t.Die)
	switch t.Kind {
	case Compute:
		tw.slice(t.Name, "compute", die, tw.mark(die, tidCompute), start, end,
			map[string]any{"op": t.Op, "block": t.Block, "flops": t.FLOPs, "node": n.Name})
	case Send, Transfer:
		tid := tw.lane(die, tidSend, start, end)
		tw.slice(t.Name, "send", die, tid, start, end, map[string]any{"bytes": t.Bytes, "to": t.Dst})
		id := fmt.Sprintf("%s/%d", n.Name, t.Tag)
		tw.events = append(tw.events, traceEvent{Name: "message", Cat: "flow", Ph: "s", Ts: start * us, Pid: die, Tid: tid, ID: id})
	case Recv:
		tid := tw.lane(die, tidRecv, start, end)
		tw.slice(t.Name, "recv", die, tid, start, end, map[string]any{"bytes": t.Bytes, "from": t.Peer})
		id := fmt.Sprintf("%s/%d", n.Name, t.Tag)
		tw.events = append(tw.events, traceEvent{Name: "message", Cat: "flow", Ph: "f", BP: "e", Ts: end * us, Pid: die, Tid: tid, ID: id})
	}
	if t.Kind == Send || t.Kind == Transfer {
		tw.links(t, start, end)
	}
}

// links books the send on each link of its route (the default XY route
// when it has none).
func (tw *tracer) links(t *Task, start, end float64) {
	route := t.Route
	if route == nil {
		r, err := tw.spec.Route(t.Die, t.Dst, wafer.XY)
		if err != nil {
			return // Verify rejects such plans; the trace just omits the links
		}
		route = r
	}
	for _, l := range tw.spec.Links(route) {
		from, _ := tw.spec.LinkEnds(l)
		tid := tw.lane(int(from), tidLink+100*int(l%4), start, end)
		tw.slice(t.Name, "link", int(from), tid, start, end, map[string]any{"bytes": t.Bytes, "link": tw.spec.LinkName(l)})
	}
}
