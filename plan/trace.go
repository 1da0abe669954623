package plan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/tempc/tempc/wafer"
)

// Timing is when a task started and ended, in seconds from the start of
// the step.
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

// Counter is a counter track of a die's process: a value over time
// (memory held, a link's utilisation), each point holding until the next.
type Counter struct {
	Die    wafer.DieID
	Name   string
	Points []CounterPoint
}

// CounterPoint is a counter's value from Time (seconds) on.
type CounterPoint struct {
	Time, Value float64
}

// StepTrace is a simulated step for WriteTrace: its expansion, each
// task's timing (indexed like Expansion.Program.Tasks), counter tracks,
// and the window of seconds to draw ([from, to); to 0 means the end).
type StepTrace struct {
	Expansion *Expansion
	Timings   []Timing
	Counters  []Counter
	Window    [2]float64
}

// WriteTrace writes a Chrome/Perfetto trace of a simulated step: one
// process per die, a track for its compute engine, lanes for its sends
// and receives, and lanes for each outgoing link direction (a message
// occupies every link of its route for its whole transfer); a flow arrow
// joins each send to its receive; and the counter tracks. Only tasks
// that overlap the window are drawn (a flow whose other end lies outside
// it is left out).
func WriteTrace(w io.Writer, s *wafer.Spec, st StepTrace) error {
	ex := st.Expansion
	if len(st.Timings) != len(ex.Program.Tasks) {
		return fmt.Errorf("plan: trace: %d timings for %d tasks", len(st.Timings), len(ex.Program.Tasks))
	}
	from, to := st.Window[0], st.Window[1]
	if to <= 0 {
		to = math.Inf(1)
	}
	in := func(t Timing) bool { return t.End >= from && t.Start < to }
	tw := &tracer{spec: s, lanes: map[[2]int][]float64{}}
	names := map[int]bool{}
	// A flow is drawn when both its ends are.
	sends, recvs := map[int64]bool{}, map[int64]bool{}
	for i := range ex.Program.Tasks {
		if t := &ex.Program.Tasks[i]; t.Kind == Send && in(st.Timings[i]) {
			sends[t.Tag] = true
		} else if t.Kind == Recv && in(st.Timings[i]) {
			recvs[t.Tag] = true
		}
	}
	ri := 0
	for i := range ex.Program.Tasks {
		for ri+1 < len(ex.Runs) && int(ex.Runs[ri+1].First) <= i {
			ri++
		}
		tm := st.Timings[i]
		if !in(tm) {
			continue
		}
		node := "barrier"
		if len(ex.Runs) > 0 && int(ex.Runs[ri].First) <= i {
			node = fmt.Sprintf("%s #%d", ex.Runs[ri].Node.Name, ex.Runs[ri].Index)
		}
		t := &ex.Program.Tasks[i]
		tw.task(node, t, tm, sends, recvs)
		names[int(t.Die)] = true
	}
	for _, c := range st.Counters {
		names[int(c.Die)] = true
		for _, pt := range c.Points {
			if pt.Time >= from && pt.Time < to {
				tw.events = append(tw.events, traceEvent{Name: c.Name, Ph: "C", Ts: pt.Time * us, Pid: int(c.Die),
					Args: map[string]any{"value": pt.Value}})
			}
		}
	}
	var dies []int
	for d := range names {
		dies = append(dies, d)
	}
	sort.Ints(dies)
	for _, d := range dies {
		tw.meta(d, -1, "process_name", fmt.Sprintf("die %d %s", d, s.Coord(wafer.DieID(d))))
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

func (tw *tracer) task(node string, t *Task, tm Timing, sends, recvs map[int64]bool) {
	start, end := tm.Start, tm.End
	die := int(t.Die)
	switch t.Kind {
	case Compute:
		tw.slice(t.Name, "compute", die, tw.mark(die, tidCompute), start, end,
			map[string]any{"op": t.Op, "block": t.Block, "flops": t.FLOPs, "node": node})
	case Send, Transfer:
		tid := tw.lane(die, tidSend, start, end)
		tw.slice(t.Name, "send", die, tid, start, end, map[string]any{"bytes": t.Bytes, "to": t.Dst, "node": node})
		if t.Kind == Send && recvs[t.Tag] {
			tw.events = append(tw.events, traceEvent{Name: "message", Cat: "flow", Ph: "s", Ts: start * us, Pid: die, Tid: tid, ID: fmt.Sprint(t.Tag)})
		}
	case Recv:
		tid := tw.lane(die, tidRecv, start, end)
		tw.slice(t.Name, "recv", die, tid, start, end, map[string]any{"bytes": t.Bytes, "from": t.Peer, "node": node})
		if sends[t.Tag] {
			tw.events = append(tw.events, traceEvent{Name: "message", Cat: "flow", Ph: "f", BP: "e", Ts: end * us, Pid: die, Tid: tid, ID: fmt.Sprint(t.Tag)})
		}
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
