package sim

import (
	"iter"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// An HBM port's requesters. The port is shared fairly among them, and
// each is served in the order its requests came.
const (
	computeLoads = iota // the compute engine's tile loads and stores
	dmaReads            // the DMA engines' reads of payloads
	arrivals            // writes of arriving payloads, and reductions' reads
	requesters
)

// request is an access queued at an HBM port: its bytes, its start tag,
// and the event handled when it completes.
type request struct {
	start, bytes float64
	kind         eventKind
	a, b         int32
}

// hbmPort is a die's HBM port: one server of Die.HBMBandwidth shared by
// its requesters with start-time fair queuing (Goyal, Vin and Cheng,
// SIGCOMM 1996): a request's start tag is the later of the virtual time
// and its requester's previous finish tag, its finish tag that plus its
// bytes, and the port serves the queued request of smallest start tag,
// taking its start tag as the virtual time (and, once idle, the largest
// finish tag). Requesters that keep requests queued share the bandwidth
// equally, byte for byte.
type hbmPort struct {
	queues [requesters][]request
	finish [requesters]float64
	v      float64 // virtual time
	busy   bool    // serving cur
	cur    request
	bytes  float64 // bytes read and written
	served float64 // seconds spent serving
}

// access queues a request of bytes from requester src at die d's HBM
// port; when it completes, the event (kind, a, b) is handled at once.
func (st *state) access(d wafer.DieID, src int, bytes float64, kind eventKind, a, b int32) {
	p := &st.hbm[d]
	start := max(p.v, p.finish[src])
	p.finish[src] = start + bytes
	p.queues[src] = append(p.queues[src], request{start: start, bytes: bytes, kind: kind, a: a, b: b})
	if !p.busy {
		st.serve(d)
	}
}

// serve starts the queued request of smallest start tag at die d's port
// (ties go to the requester listed first), or leaves the port idle.
func (st *state) serve(d wafer.DieID) {
	p := &st.hbm[d]
	best := -1
	for i := range p.queues {
		if q := p.queues[i]; len(q) > 0 && (best < 0 || q[0].start < p.queues[best][0].start) {
			best = i
		}
	}
	if best < 0 {
		for _, f := range p.finish {
			p.v = max(p.v, f)
		}
		return
	}
	r := p.queues[best][0]
	p.queues[best] = p.queues[best][1:]
	p.v, p.busy, p.cur = r.start, true, r
	dur := r.bytes / st.spec.Die.HBMBandwidth
	p.bytes += r.bytes
	p.served += dur
	st.schedule(dur, evHBMDone, int32(d), 0)
}

// hbmDone: die d's port has completed its request. Its event is handled
// first, so that the requests it causes compete for the port at once.
func (st *state) hbmDone(d wafer.DieID) {
	r := st.hbm[d].cur
	st.fire(event{t: st.now, kind: r.kind, a: r.a, b: r.b})
	st.hbm[d].busy = false
	st.serve(d)
}

// payloads maps every task to the message task whose arrival it marks: a
// transfer to itself, a receive to its send, any other task to −1. The
// program must have passed plan.Program.Check (every receive has its
// send).
func payloads(p *plan.Program) []plan.TaskID {
	sends := map[int64]plan.TaskID{}
	for i := range p.Tasks {
		if t := &p.Tasks[i]; t.Kind == plan.Send {
			sends[t.Tag] = t.ID
		}
	}
	out := make([]plan.TaskID, len(p.Tasks))
	for i := range p.Tasks {
		switch t := &p.Tasks[i]; t.Kind {
		case plan.Transfer:
			out[i] = t.ID
		case plan.Recv:
			out[i] = sends[t.Tag]
		default:
			out[i] = -1
		}
	}
	return out
}

// streams yields the messages (transfer or send tasks) whose blocks task c
// reads where they landed: its direct dependencies that are DstSRAM
// messages to c's die, or receives of such sends. A compute task reads
// them in its kernel; a SrcSRAM transfer or send forwards them.
func streams(p *plan.Program, payload []plan.TaskID, c *plan.Task) iter.Seq[plan.TaskID] {
	return func(yield func(plan.TaskID) bool) {
		for _, d := range c.Deps {
			m := payload[d]
			if m < 0 {
				continue
			}
			if mt := &p.Tasks[m]; mt.DstSRAM && mt.Dst == c.Die && !yield(m) {
				return
			}
		}
	}
}

// spilledInto is the bytes of the blocks task c reads that spilled to HBM.
func (st *state) spilledInto(c *plan.Task) float64 {
	var b float64
	for m := range streams(st.prog, st.payload, c) {
		if st.msgs[st.msgOf[m]].spilled {
			b += float64(st.prog.Tasks[m].Bytes)
		}
	}
	return b
}

// take places message m's payload when a DMA engine takes it. The
// payload is read from the source's HBM unless the task is SrcSRAM and
// none of the blocks it forwards spilled. A DstSRAM payload reserves its
// bytes in the destination's stream SRAM if they fit now, and spills to
// the destination's HBM otherwise: a message never waits for SRAM, so
// SRAM cannot deadlock a run.
func (st *state) take(m int32) {
	msg := &st.msgs[m]
	t := &st.prog.Tasks[msg.task]
	if st.cfg.NetworkOnly {
		return // ideal buffers at both ends
	}
	msg.srcHBM = !t.SrcSRAM || st.spilledInto(t) > 0
	msg.reduce = t.Reduce
	if !t.DstSRAM {
		msg.dstHBM = true
		return
	}
	b := float64(t.Bytes)
	if st.sramUsed[t.Dst]+b <= st.streamSRAM {
		st.sramUsed[t.Dst] += b
		st.peakSRAM[t.Dst] = max(st.peakSRAM[t.Dst], st.sramUsed[t.Dst])
		msg.reserved = true
		msg.holders = int32(len(st.dependents[msg.arrival]))
		return
	}
	msg.spilled, msg.dstHBM = true, true
	st.spilledMsgs++
	st.spilledBytes += t.Bytes
}

// release frees message m's SRAM reservation once the last task that
// depends on its arrival has ended, or at its arrival if none does:
// dependentEnded says that one such task has just ended (false: the
// message has just arrived).
func (st *state) release(m int32, dependentEnded bool) {
	msg := &st.msgs[m]
	if !msg.reserved {
		return
	}
	if dependentEnded {
		msg.holders--
	}
	if msg.holders > 0 {
		return
	}
	msg.reserved = false
	d := st.prog.Tasks[msg.task].Dst
	st.sramUsed[d] -= float64(msg.bytes)
}

// ended releases the reservations that task id held: those of the
// messages whose arrival it depended on.
func (st *state) ended(id plan.TaskID) {
	for _, d := range st.prog.Tasks[id].Deps {
		if m := st.payload[d]; m >= 0 {
			st.release(st.msgOf[m], true)
		}
	}
}
