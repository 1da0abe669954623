package sim

import (
	"fmt"
	"math"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// message is one transfer in flight. Where its payload lives is decided
// when a DMA engine takes it (see take).
type message struct {
	task plan.TaskID
	// arrival is the task whose dependents read the payload: the transfer
	// itself, or a send's receive.
	arrival   plan.TaskID
	links     []wafer.LinkID
	bytes     int64
	packets   int64
	injected  int64
	delivered int64
	// srcHBM: packets are read from the source's HBM; dstHBM: written to
	// the destination's; reduce: the destination also reads its own copy.
	srcHBM, dstHBM, reduce bool
	// reserved: the payload holds stream SRAM at its destination until
	// holders (the arrival task's dependents still running or to run)
	// drop to zero; spilled: it did not fit and lands in HBM.
	reserved, spilled bool
	holders           int32
}

// packet is one packet of a message; hop is the index in msg.links of the
// link it last crossed (−1 while in its source's DMA buffer).
type packet struct {
	msg  int32
	hop  int32
	size float64
	// send is how long its last send held the link it crossed, and tail
	// when its tail reaches the router it is at (0 while it is whole in
	// its source's buffer): a link faster than the one before it cannot
	// finish sending the packet before its tail has arrived (see send).
	send, tail float64
}

// state is one simulation run.
type state struct {
	spec *wafer.Spec
	prog *plan.Program
	cfg  Config

	now     float64
	events  agenda
	seq     uint64
	nEvents int64

	// Tasks.
	waiting    []int32 // unfinished dependencies per task
	dependents [][]plan.TaskID
	timing     []TaskTiming
	done       int
	msgOf      []int32       // message of each transfer or send task, or −1
	payload    []plan.TaskID // see payloads
	// Receives: the task of each tag, whether its message has arrived, and
	// whether the receive's own dependencies are done.
	recvOf    map[int64]plan.TaskID
	arrived   map[int64]bool
	recvReady []bool

	// Compute engines, and how long each ran tasks.
	computeQ [][]plan.TaskID
	eng      []engine
	dieBusy  []float64

	// Memories: the HBM port of each die, the stream SRAM each has
	// reserved (and the most it did), the bytes read or written in SRAM,
	// and the messages that spilled.
	hbm          []hbmPort
	streamSRAM   float64
	sramUsed     []float64
	peakSRAM     []float64
	sramBytes    float64
	spilledMsgs  int
	spilledBytes int64

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

	// Live memory per die (Task.Alloc, Free and Scratch), its peak and
	// when it was reached, and its changes over time.
	live, peakLive, peakAt []float64
	memSamples             []MemorySample

	// err stops the run: an event time that is not finite.
	err error
}

// allocMem makes task id's allocation and scratch live on its die.
func (st *state) allocMem(id plan.TaskID) {
	t := &st.prog.Tasks[id]
	if t.Alloc == 0 && t.Scratch == 0 {
		return
	}
	d := t.Die
	st.live[d] += float64(t.Alloc + t.Scratch)
	st.timing[id].Live = st.live[d]
	if st.live[d] > st.peakLive[d] {
		st.peakLive[d], st.peakAt[d] = st.live[d], st.now
	}
	st.memSamples = append(st.memSamples, MemorySample{Time: st.now, Die: d, Bytes: st.live[d]})
}

// freeMem releases task id's scratch and what it frees.
func (st *state) freeMem(id plan.TaskID) {
	t := &st.prog.Tasks[id]
	if t.Free == 0 && t.Scratch == 0 {
		return
	}
	st.live[t.Die] -= float64(t.Free + t.Scratch)
	st.memSamples = append(st.memSamples, MemorySample{Time: st.now, Die: t.Die, Bytes: st.live[t.Die]})
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
	if err := checkLimits(s, st.work(), cfg); err != nil {
		return nil, err
	}
	for i := range p.Tasks {
		if st.waiting[i] == 0 {
			st.ready(plan.TaskID(i))
		}
	}
	for st.events.len() > 0 && st.err == nil {
		if st.nEvents >= st.cfg.MaxEvents {
			return st.result(), fmt.Errorf("sim: stopped after %d events at t=%.6g s with %d of %d tasks done",
				st.nEvents, st.now, st.done, len(p.Tasks))
		}
		if st.nEvents%cancelEvery == 0 && cancelled(cfg.Cancel) {
			return st.result(), fmt.Errorf("%w at t=%.6g s with %d of %d tasks done", ErrCancelled, st.now, st.done, len(p.Tasks))
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

// cancelled says that cancel (nil: never) is closed.
func cancelled(cancel <-chan struct{}) bool {
	select {
	case <-cancel:
		return true
	default:
		return false
	}
}

// checkSpec rejects wafer figures the simulator cannot work with: rates
// that are not positive and finite, a latency that is negative or not
// finite (of the die-to-die links, and of the inter-wafer links of a
// joined cluster), no stream SRAM (SRAM that is not positive and finite,
// or a GEMM share of it outside [0, 1)), an SRAM energy that is negative
// or not finite, no DMA engine, a seam that does not cut the mesh into
// whole wafers, or router tables beyond 2²⁵ queues (a wafer that passed
// wafer.Spec.Validate never has these).
func checkSpec(s *wafer.Spec) error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"link bandwidth", s.Link.Bandwidth}, {"peak FLOP/s", s.Die.PeakFLOPS}, {"HBM bandwidth", s.Die.HBMBandwidth},
		{"SRAM bytes", s.Die.SRAMBytes}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("sim: wafer %s: %s %g is not a positive finite number", s.Name, f.name, f.v)
		}
	}
	if f := s.Kernel.GEMMSRAMFraction; !(f >= 0 && f < 1) {
		return fmt.Errorf("sim: wafer %s: GEMM SRAM fraction %g is not in [0, 1): no SRAM is left for streamed blocks", s.Name, f)
	}
	if !(s.SRAMJoulesPerBit >= 0) || math.IsInf(s.SRAMJoulesPerBit, 0) {
		return fmt.Errorf("sim: wafer %s: SRAM energy %g J/bit is not a finite number", s.Name, s.SRAMJoulesPerBit)
	}
	if !(s.Link.Latency >= 0) || math.IsInf(s.Link.Latency, 0) {
		return fmt.Errorf("sim: wafer %s: link latency %g s is not a finite number of seconds", s.Name, s.Link.Latency)
	}
	if s.Rows <= 0 || s.Cols <= 0 || s.Die.DMAEngines < 1 {
		return fmt.Errorf("sim: wafer %s: %d×%d mesh with %d DMA engines per die", s.Name, s.Rows, s.Cols, s.Die.DMAEngines)
	}
	if err := checkSeam(s); err != nil {
		return err
	}
	if q := mulSat(int64(s.NumDies()), int64(4*(4+s.Die.DMAEngines))); q > 1<<25 {
		return fmt.Errorf("sim: wafer %s: %d dies with %d DMA engines need %d router queues, more than %d",
			s.Name, s.NumDies(), s.Die.DMAEngines, q, 1<<25)
	}
	return nil
}

// checkSeam rejects the inter-wafer links of a joined cluster when their
// bandwidth is not positive and finite, their latency negative or not
// finite, or the seam does not cut the mesh into whole wafers.
func checkSeam(s *wafer.Spec) error {
	m := s.Seam
	if m == nil {
		return nil
	}
	if !(m.Link.Bandwidth > 0) || math.IsInf(m.Link.Bandwidth, 0) {
		return fmt.Errorf("sim: wafer %s: inter-wafer link bandwidth %g is not a positive finite number", s.Name, m.Link.Bandwidth)
	}
	if !(m.Link.Latency >= 0) || math.IsInf(m.Link.Latency, 0) {
		return fmt.Errorf("sim: wafer %s: inter-wafer link latency %g s is not a finite number of seconds", s.Name, m.Link.Latency)
	}
	if m.Cols < 1 || s.Cols%m.Cols != 0 {
		return fmt.Errorf("sim: wafer %s: wafers of %d columns do not tile its %d columns", s.Name, m.Cols, s.Cols)
	}
	return nil
}

// work is what the run must do, as Measure counts it.
func (st *state) work() work {
	w := work{msgs: make([]extent, len(st.msgs))}
	for i, m := range st.msgs {
		w.msgs[i] = extentOf(st.prog, st.payload, &st.prog.Tasks[m.task], len(m.links))
	}
	for i := range st.prog.Tasks {
		if t := &st.prog.Tasks[i]; t.Kind == plan.Compute {
			w.computeEvents = addSat(w.computeEvents, computeEventsOf(st.prog, st.payload, t))
		}
	}
	return w
}

func newState(s *wafer.Spec, p *plan.Program, cfg Config) (*state, error) {
	n, nl := s.NumDies(), s.NumLinks()
	st := &state{spec: s, prog: p, cfg: cfg, nIn: 4 + s.Die.DMAEngines,
		waiting: make([]int32, len(p.Tasks)), dependents: make([][]plan.TaskID, len(p.Tasks)),
		timing: make([]TaskTiming, len(p.Tasks)), msgOf: make([]int32, len(p.Tasks)),
		recvOf: map[int64]plan.TaskID{}, arrived: map[int64]bool{}, recvReady: make([]bool, len(p.Tasks)),
		payload:  payloads(p),
		computeQ: make([][]plan.TaskID, n), eng: make([]engine, n), dieBusy: make([]float64, n),
		hbm: make([]hbmPort, n), streamSRAM: s.StreamSRAM(), sramUsed: make([]float64, n), peakSRAM: make([]float64, n),
		dmaMsg: make([][]int32, n), dmaQ: make([][]int32, n),
		live: make([]float64, n), peakLive: make([]float64, n), peakAt: make([]float64, n),
		credits: make([]int, 5*nl), portBusy: make([]bool, nl), portFrom: make([]int32, nl), rr: make([]int32, nl),
		linkBytes: make([]float64, nl), linkBusy: make([]float64, nl)}
	for _, f := range linkKinds(s) {
		st.events.fix(f.Latency)
		st.events.fix(float64(cfg.PacketBytes) / f.Bandwidth)
	}
	st.voq = make([][]int32, n*st.nIn*4)
	st.occ = make([]int, n*st.nIn)
	for l := range st.credits {
		st.credits[l] = cfg.BufferPackets
	}
	for d := range st.dmaMsg {
		st.eng[d].task = -1
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
	for i := range st.msgs {
		if t := &p.Tasks[st.msgs[i].task]; t.Kind == plan.Send {
			st.msgs[i].arrival = st.recvOf[t.Tag]
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
	st.msgs = append(st.msgs, message{task: t.ID, arrival: t.ID, links: st.spec.Links(route), bytes: t.Bytes,
		packets: packetsOf(t.Bytes, st.cfg.PacketBytes)})
	return nil
}

// schedule adds an event delay seconds from now. A time that is not
// finite (a packet, an HBM access or a compute that takes for ever on
// absurd wafer figures) stops the run with an error instead.
func (st *state) schedule(delay float64, kind eventKind, a, b int32) {
	t := st.now + delay
	if math.IsInf(t, 0) || math.IsNaN(t) {
		if st.err == nil {
			st.err = st.overflow(t, kind, a)
		}
		return
	}
	st.seq++
	st.events.push(event{t: t, seq: st.seq, kind: kind, a: a, b: b}, delay)
}

// overflow describes an event of kind (with first argument a) that would
// fire at a time t that is not finite. An HBM access is described by the
// request it serves; a compute task's, by the task.
func (st *state) overflow(t float64, kind eventKind, a int32) error {
	s := st.spec
	var die wafer.DieID
	if kind == evHBMDone {
		die = wafer.DieID(a)
		r := st.hbm[a].cur
		kind, a = r.kind, r.a
	}
	what := kindNames[kind]
	figures := fmt.Sprintf("link bandwidth %g B/s, latency %g s", s.Link.Bandwidth, s.Link.Latency)
	if m := s.Seam; m != nil {
		figures += fmt.Sprintf("; inter-wafer link bandwidth %g B/s, latency %g s", m.Link.Bandwidth, m.Link.Latency)
	}
	switch kind {
	case evComputeDone, evTileLoaded, evTileDone:
		id := plan.TaskID(a)
		if kind != evComputeDone {
			id = st.eng[a].task
		}
		task := &st.prog.Tasks[id]
		what = fmt.Sprintf("compute task %d %q on die %s", id, task.Name, s.Coord(task.Die))
		figures = fmt.Sprintf("%g FLOPs at peak %g FLOP/s × efficiency %g, %g HBM bytes at %g B/s",
			task.FLOPs, s.Die.PeakFLOPS, efficiency(task), task.HBMBytes, s.Die.HBMBandwidth)
	case evRead, evWritten:
		what += " on die " + s.Coord(die).String()
		figures = fmt.Sprintf("HBM bandwidth %g B/s", s.Die.HBMBandwidth)
	}
	return fmt.Errorf("sim: %s at t=%.6g s would end at t=%g s (%s): not a finite time", what, st.now, t, figures)
}

func (st *state) fire(ev event) {
	switch ev.kind {
	case evComputeDone:
		st.computeDone(plan.TaskID(ev.a))
	case evTileLoaded:
		st.tileLoaded(wafer.DieID(ev.a))
	case evTileDone:
		st.tileDone(wafer.DieID(ev.a))
	case evRead:
		st.read(ev.a, int(ev.b))
	case evWritten:
		st.ejected(ev.a, wafer.LinkID(ev.b))
	case evHBMDone:
		st.hbmDone(wafer.DieID(ev.a))
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
	if t.Kind != plan.Compute {
		st.allocMem(id) // a message's buffers exist once it may go
	}
	if t.Kind == plan.Compute {
		st.computeQ[t.Die] = append(st.computeQ[t.Die], id)
		if st.eng[t.Die].task < 0 {
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

// arrive completes the transfer or send id whose bytes have all arrived,
// and its receive if that is waiting for them. If no task depends on
// their arrival, bytes that landed in SRAM leave it at once.
func (st *state) arrive(id plan.TaskID) {
	st.complete(id)
	st.release(st.msgOf[id], false)
	t := &st.prog.Tasks[id]
	if t.Kind != plan.Send {
		return
	}
	st.arrived[t.Tag] = true
	if r, ok := st.recvOf[t.Tag]; ok && st.recvReady[r] {
		st.complete(r)
	}
}

// complete marks a task done now, releases the SRAM of the blocks it was
// the last to need, and readies the tasks waiting on it.
func (st *state) complete(id plan.TaskID) {
	st.timing[id].End = st.now
	st.done++
	st.ended(id)
	st.freeMem(id)
	for _, dep := range st.dependents[id] {
		st.waiting[dep]--
		if st.waiting[dep] == 0 {
			st.ready(dep)
		}
	}
}
