package sim

import (
	"fmt"

	"tempc/plan"
	"tempc/wafer"
)

// message is one transfer in flight.
type message struct {
	task      plan.TaskID
	links     []wafer.LinkID
	bytes     int64
	packets   int32
	injected  int32
	delivered int32
}

// packet is one packet of a message; hop is the index in msg.links of the
// link it last crossed (−1 while in its source's DMA buffer).
type packet struct {
	msg  int32
	hop  int32
	size float64
}

// state is one simulation run.
type state struct {
	spec *wafer.Spec
	prog *plan.Program
	cfg  Config

	now     float64
	events  eventHeap
	seq     uint64
	nEvents int64

	// Tasks.
	waiting    []int32 // unfinished dependencies per task
	dependents [][]plan.TaskID
	timing     []TaskTiming
	done       int
	msgOf      []int32 // message of each transfer or send task, or −1
	// Receives: the task of each tag, whether its message has arrived, and
	// whether the receive's own dependencies are done.
	recvOf    map[int64]plan.TaskID
	arrived   map[int64]bool
	recvReady []bool

	// Compute engines.
	computeQ    [][]plan.TaskID
	computeBusy []bool
	dieBusy     []float64

	// DMA engines: the message each engine injects (−1: idle), and the
	// queue of messages waiting for an engine.
	dmaMsg [][]int32
	dmaQ   [][]int32

	msgs    []message
	pkts    []packet
	freePkt []int32

	// Routers. Input port ip of die d is (d·nIn + ip); ports 0..3 receive
	// from the link travelling in that direction, 4.. are DMA engines.
	nIn       int
	voq       [][]int32 // (d·nIn + ip)·4 + out direction → FIFO of packets
	occ       []int     // packets held per input port
	credits   []int     // free slots downstream, per link·5 + the packet's next output there (4: eject)
	portBusy  []bool    // per link
	portFrom  []int32   // input port of the packet a link is sending
	rr        []int32   // next input port to consider, per link
	linkBytes []float64
	linkBusy  []float64
	peakOcc   int
}

// Run replays p on s and returns what happened. It fails on an invalid
// program, a transfer with no fault-free default route, a deadlock
// (*DeadlockError) or the event limit.
func Run(s *wafer.Spec, p *plan.Program, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := p.Check(s); err != nil {
		return nil, err
	}
	st, err := newState(s, p, cfg.withDefaults(s))
	if err != nil {
		return nil, err
	}
	for i := range p.Tasks {
		if st.waiting[i] == 0 {
			st.ready(plan.TaskID(i))
		}
	}
	for len(st.events) > 0 {
		if cfg.MaxEvents > 0 && st.nEvents >= cfg.MaxEvents {
			return st.result(), fmt.Errorf("sim: stopped after %d events at t=%.6g s with %d of %d tasks done",
				st.nEvents, st.now, st.done, len(p.Tasks))
		}
		ev := st.events.pop()
		st.now = ev.t
		st.nEvents++
		st.fire(ev)
	}
	res := st.result()
	if st.done < len(p.Tasks) {
		return res, st.deadlock()
	}
	return res, nil
}

func newState(s *wafer.Spec, p *plan.Program, cfg Config) (*state, error) {
	n, nl := s.NumDies(), s.NumLinks()
	st := &state{spec: s, prog: p, cfg: cfg, nIn: 4 + s.Die.DMAEngines,
		waiting: make([]int32, len(p.Tasks)), dependents: make([][]plan.TaskID, len(p.Tasks)),
		timing: make([]TaskTiming, len(p.Tasks)), msgOf: make([]int32, len(p.Tasks)),
		recvOf: map[int64]plan.TaskID{}, arrived: map[int64]bool{}, recvReady: make([]bool, len(p.Tasks)),
		computeQ: make([][]plan.TaskID, n), computeBusy: make([]bool, n), dieBusy: make([]float64, n),
		dmaMsg: make([][]int32, n), dmaQ: make([][]int32, n),
		credits: make([]int, 5*nl), portBusy: make([]bool, nl), portFrom: make([]int32, nl), rr: make([]int32, nl),
		linkBytes: make([]float64, nl), linkBusy: make([]float64, nl)}
	st.voq = make([][]int32, n*st.nIn*4)
	st.occ = make([]int, n*st.nIn)
	for l := range st.credits {
		st.credits[l] = cfg.BufferPackets
	}
	for d := range st.dmaMsg {
		st.dmaMsg[d] = make([]int32, s.Die.DMAEngines)
		for e := range st.dmaMsg[d] {
			st.dmaMsg[d][e] = -1
		}
	}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		st.waiting[i] = int32(len(t.Deps))
		for _, d := range t.Deps {
			st.dependents[d] = append(st.dependents[d], t.ID)
		}
		st.msgOf[i] = -1
		switch t.Kind {
		case plan.Transfer, plan.Send:
			if err := st.addMessage(t); err != nil {
				return nil, err
			}
		case plan.Recv:
			st.recvOf[t.Tag] = t.ID
		}
	}
	return st, nil
}

// addMessage prepares the message of transfer t, routing it by default when
// it carries no route.
func (st *state) addMessage(t *plan.Task) error {
	route := t.Route
	if route == nil {
		r, err := st.spec.Route(t.Die, t.Dst, st.cfg.Routing)
		if err != nil {
			return fmt.Errorf("sim: task %d %q: %w", t.ID, t.Name, err)
		}
		route = r
	}
	pk := (t.Bytes + st.cfg.PacketBytes - 1) / st.cfg.PacketBytes
	st.msgOf[t.ID] = int32(len(st.msgs))
	st.msgs = append(st.msgs, message{task: t.ID, links: st.spec.Links(route), bytes: t.Bytes, packets: int32(max(pk, 1))})
	return nil
}

func (st *state) schedule(t float64, kind eventKind, a, b int32) {
	st.seq++
	st.events.push(event{t: t, seq: st.seq, kind: kind, a: a, b: b})
}

func (st *state) fire(ev event) {
	switch ev.kind {
	case evComputeDone:
		st.computeDone(plan.TaskID(ev.a))
	case evPortFree:
		st.portFree(wafer.LinkID(ev.a))
	case evHeadArrive:
		st.headArrive(ev.a, wafer.LinkID(ev.b))
	case evDelivered:
		st.delivered(ev.a, wafer.LinkID(ev.b))
	case evCredit:
		st.credits[int(ev.a)*5+int(ev.b)]++
		st.tryPort(wafer.LinkID(ev.a))
	}
}

// ready hands a task whose dependencies are done to its engine.
func (st *state) ready(id plan.TaskID) {
	t := &st.prog.Tasks[id]
	st.timing[id].Ready = st.now
	if t.Kind == plan.Compute {
		st.computeQ[t.Die] = append(st.computeQ[t.Die], id)
		if !st.computeBusy[t.Die] {
			st.startCompute(t.Die)
		}
		return
	}
	if t.Kind == plan.Recv {
		st.timing[id].Start = st.now
		st.recvReady[id] = true
		if st.arrived[t.Tag] {
			st.complete(id)
		}
		return
	}
	m := st.msgOf[id]
	if len(st.msgs[m].links) == 0 { // to itself: nothing moves
		st.timing[id].Start = st.now
		st.arrive(id)
		return
	}
	st.dmaQ[t.Die] = append(st.dmaQ[t.Die], m)
	for e, cur := range st.dmaMsg[t.Die] {
		if cur < 0 {
			st.nextMessage(t.Die, e)
			break
		}
	}
}

func (st *state) startCompute(d wafer.DieID) {
	q := st.computeQ[d]
	id := q[0]
	st.computeQ[d] = q[1:]
	t := &st.prog.Tasks[id]
	dur := t.Seconds
	if dur <= 0 {
		dur = st.spec.ComputeSeconds(t.FLOPs, t.HBMBytes)
	}
	st.computeBusy[d] = true
	st.dieBusy[d] += dur
	st.timing[id].Start = st.now
	st.schedule(st.now+dur, evComputeDone, int32(id), 0)
}

func (st *state) computeDone(id plan.TaskID) {
	d := st.prog.Tasks[id].Die
	st.computeBusy[d] = false
	st.complete(id)
	if len(st.computeQ[d]) > 0 && !st.computeBusy[d] {
		st.startCompute(d)
	}
}

// arrive completes the transfer or send id whose bytes have all arrived,
// and its receive if that is waiting for them.
func (st *state) arrive(id plan.TaskID) {
	st.complete(id)
	t := &st.prog.Tasks[id]
	if t.Kind != plan.Send {
		return
	}
	st.arrived[t.Tag] = true
	if r, ok := st.recvOf[t.Tag]; ok && st.recvReady[r] {
		st.complete(r)
	}
}

// complete marks a task done now and readies the tasks waiting on it.
func (st *state) complete(id plan.TaskID) {
	st.timing[id].End = st.now
	st.done++
	for _, dep := range st.dependents[id] {
		st.waiting[dep]--
		if st.waiting[dep] == 0 {
			st.ready(dep)
		}
	}
}
