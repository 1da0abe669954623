package sim

import (
	"fmt"
	"math"

	"tempc/plan"
	"tempc/wafer"
)

// message is one transfer in flight.
type message struct {
	task      plan.TaskID
	links     []wafer.LinkID
	bytes     int64
	packets   int64
	injected  int64
	delivered int64
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

	// err stops the run: an event time that is not finite.
	err error
}

// Run replays p on s and returns what happened. It fails on an invalid
// configuration, wafer figures it cannot simulate (not positive and
// finite), an invalid program, a transfer with no fault-free default
// route, a run larger than its limits (*LimitError, before it starts), an
// event time that overflows, or a deadlock (*DeadlockError).
func Run(s *wafer.Spec, p *plan.Program, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkSpec(s); err != nil {
		return nil, err
	}
	if len(p.Tasks) > math.MaxInt32 {
		return nil, fmt.Errorf("sim: %d tasks, more than %d", len(p.Tasks), math.MaxInt32)
	}
	if err := p.Check(s); err != nil {
		return nil, err
	}
	st, err := newState(s, p, cfg.withDefaults(s))
	if err != nil {
		return nil, err
	}
	if err := checkLimits(s, st.extents(), st.computes(), cfg); err != nil {
		return nil, err
	}
	for i := range p.Tasks {
		if st.waiting[i] == 0 {
			st.ready(plan.TaskID(i))
		}
	}
	for len(st.events) > 0 && st.err == nil {
		if st.nEvents >= st.cfg.MaxEvents {
			return st.result(), fmt.Errorf("sim: stopped after %d events at t=%.6g s with %d of %d tasks done",
				st.nEvents, st.now, st.done, len(p.Tasks))
		}
		ev := st.events.pop()
		st.now = ev.t
		st.nEvents++
		st.fire(ev)
	}
	res := st.result()
	if st.err != nil {
		return res, st.err
	}
	if st.done < len(p.Tasks) {
		return res, st.deadlock()
	}
	return res, nil
}

// checkSpec rejects wafer figures the simulator cannot work with: rates
// that are not positive and finite, a latency that is negative or not
// finite, no DMA engine, or router tables beyond 2²⁵ queues (a wafer that
// passed wafer.Spec.Validate never has these).
func checkSpec(s *wafer.Spec) error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"link bandwidth", s.Link.Bandwidth}, {"peak FLOP/s", s.Die.PeakFLOPS}, {"HBM bandwidth", s.Die.HBMBandwidth}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("sim: wafer %s: %s %g is not a positive finite number", s.Name, f.name, f.v)
		}
	}
	if !(s.Link.Latency >= 0) || math.IsInf(s.Link.Latency, 0) {
		return fmt.Errorf("sim: wafer %s: link latency %g s is not a finite number of seconds", s.Name, s.Link.Latency)
	}
	if s.Rows <= 0 || s.Cols <= 0 || s.Die.DMAEngines < 1 {
		return fmt.Errorf("sim: wafer %s: %d×%d mesh with %d DMA engines per die", s.Name, s.Rows, s.Cols, s.Die.DMAEngines)
	}
	if q := mulSat(int64(s.NumDies()), int64(4*(4+s.Die.DMAEngines))); q > 1<<25 {
		return fmt.Errorf("sim: wafer %s: %d dies with %d DMA engines need %d router queues, more than %d",
			s.Name, s.NumDies(), s.Die.DMAEngines, q, 1<<25)
	}
	return nil
}

// extents lists the size of every message of the run.
func (st *state) extents() []extent {
	ms := make([]extent, len(st.msgs))
	for i, m := range st.msgs {
		ms[i] = extent{m.bytes, len(m.links)}
	}
	return ms
}

// computes counts the compute tasks of the run.
func (st *state) computes() int {
	n := 0
	for i := range st.prog.Tasks {
		if st.prog.Tasks[i].Kind == plan.Compute {
			n++
		}
	}
	return n
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
	route, err := routeOf(st.spec, t, st.cfg.Routing)
	if err != nil {
		return err
	}
	st.msgOf[t.ID] = int32(len(st.msgs))
	st.msgs = append(st.msgs, message{task: t.ID, links: st.spec.Links(route), bytes: t.Bytes,
		packets: packetsOf(t.Bytes, st.cfg.PacketBytes)})
	return nil
}

// schedule adds an event at time t. A time that is not finite (a packet
// or compute that takes for ever on absurd wafer figures) stops the run
// with an error instead.
func (st *state) schedule(t float64, kind eventKind, a, b int32) {
	if math.IsInf(t, 0) || math.IsNaN(t) {
		if st.err == nil {
			figures := fmt.Sprintf("link bandwidth %g B/s, latency %g s", st.spec.Link.Bandwidth, st.spec.Link.Latency)
			if kind == evComputeDone {
				figures = fmt.Sprintf("peak %g FLOP/s, HBM bandwidth %g B/s", st.spec.Die.PeakFLOPS, st.spec.Die.HBMBandwidth)
			}
			st.err = fmt.Errorf("sim: %s at t=%.6g s would end at t=%g s (%s): not a finite time", kindNames[kind], st.now, t, figures)
		}
		return
	}
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
