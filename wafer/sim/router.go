package sim

import "github.com/tempc/tempc/wafer"

// inPort is the index of input port ip of die d.
func (st *state) inPort(d wafer.DieID, ip int) int { return int(d)*st.nIn + ip }

// nextMessage gives DMA engine e of die d the die's next queued message and
// starts injecting it, or leaves the engine idle.
func (st *state) nextMessage(d wafer.DieID, e int) {
	if len(st.dmaQ[d]) == 0 {
		st.dmaMsg[d][e] = -1
		return
	}
	m := st.dmaQ[d][0]
	st.dmaQ[d] = st.dmaQ[d][1:]
	st.dmaMsg[d][e] = m
	st.timing[st.msgs[m].task].Start = st.now
	st.take(m)
	st.inject(d, e)
}

// inject moves packets of engine e's message into its input buffer while
// there is room, then offers them to the first link. A packet read from
// HBM takes its slot at once and joins the queue when its read is done
// (read); one read from SRAM joins at once.
func (st *state) inject(d wafer.DieID, e int) {
	m := st.dmaMsg[d][e]
	if m < 0 {
		return
	}
	msg := &st.msgs[m]
	ip := st.inPort(d, 4+e)
	first := msg.links[0]
	q := ip*4 + int(first%4)
	for msg.injected < msg.packets && st.occ[ip] < st.cfg.BufferPackets {
		size := st.cfg.PacketBytes
		if msg.injected == msg.packets-1 {
			size = msg.bytes - (msg.packets-1)*st.cfg.PacketBytes
		}
		p := st.newPacket(m, float64(size))
		st.occ[ip]++
		st.peakOcc = max(st.peakOcc, st.occ[ip])
		msg.injected++
		if msg.srcHBM {
			st.access(d, dmaReads, float64(size), evRead, p, int32(q))
			continue
		}
		st.sramBytes += float64(size)
		st.voq[q] = append(st.voq[q], p)
	}
	st.tryPort(first)
	if msg.injected == msg.packets {
		st.nextMessage(d, e)
	}
}

// read: packet p has been read from its source's HBM into DMA queue q.
func (st *state) read(p int32, q int) {
	st.voq[q] = append(st.voq[q], p)
	st.tryPort(st.msgs[st.pkts[p].msg].links[0])
}

func (st *state) newPacket(m int32, size float64) int32 {
	pk := packet{msg: m, hop: -1, size: size}
	if n := len(st.freePkt); n > 0 {
		id := st.freePkt[n-1]
		st.freePkt = st.freePkt[:n-1]
		st.pkts[id] = pk
		return id
	}
	if len(st.pkts) >= maxLivePackets {
		panic("sim: more packets live than checkLimits allows")
	}
	st.pkts = append(st.pkts, pk)
	return int32(len(st.pkts) - 1)
}

// eject is the output index of a router's local ejection port.
const eject = 4

// nextOut is the output packet p takes at the router it reaches after its
// next link: the direction of the link after that, or eject.
func (st *state) nextOut(p int32) int {
	pk := &st.pkts[p]
	links := st.msgs[pk.msg].links
	if int(pk.hop)+2 < len(links) {
		return int(links[pk.hop+2] % 4)
	}
	return eject
}

// tryPort starts sending a packet on link l if l is idle and some input
// buffer of its router holds, at the head of its queue for l, a packet for
// which the next router has a free slot in the queue it will join. Input
// buffers are served round-robin.
func (st *state) tryPort(l wafer.LinkID) {
	if st.portBusy[l] {
		return
	}
	d, dir := wafer.DieID(l/4), int(l%4)
	for k := 0; k < st.nIn; k++ {
		ip := (int(st.rr[l]) + k) % st.nIn
		q := st.inPort(d, ip)*4 + dir
		if len(st.voq[q]) == 0 {
			continue
		}
		p := st.voq[q][0]
		c := int(l)*5 + st.nextOut(p)
		if st.credits[c] == 0 {
			continue
		}
		st.voq[q] = st.voq[q][1:]
		st.rr[l] = int32((ip + 1) % st.nIn)
		st.credits[c]--
		st.send(l, p, ip)
		return
	}
}

// send puts packet p from input port ip on link l. Sending takes the
// packet's bytes at l's bandwidth, or longer when the packet came over a
// slower link whose tail has not arrived yet: cut-through forwards the
// bytes as they come, so l finishes no earlier than the tail arrives.
// (With links alike the tail always arrives in time, and the send takes
// exactly size/Bandwidth.)
func (st *state) send(l wafer.LinkID, p int32, ip int) {
	pk := &st.pkts[p]
	f := st.spec.LinkFigures(l)
	dur := pk.size / f.Bandwidth
	if pk.tail > st.now+dur {
		dur = pk.tail - st.now
	}
	pk.send = dur
	st.portBusy[l] = true
	st.portFrom[l] = int32(ip)
	st.linkBytes[l] += pk.size
	st.linkBusy[l] += dur
	st.schedule(dur, evPortFree, int32(l), 0)
	st.schedule(f.Latency, evHeadArrive, p, int32(l))
}

// portFree ends a packet's transmission on l: its slot in the input buffer
// it left frees (a credit goes upstream, or the DMA engine injects more),
// and l takes its next packet.
func (st *state) portFree(l wafer.LinkID) {
	st.portBusy[l] = false
	d := wafer.DieID(l / 4)
	ip := int(st.portFrom[l])
	st.occ[st.inPort(d, ip)]--
	if ip < 4 {
		// The slot was in the queue for l of the buffer fed by the link
		// entering d in direction ip; its credit goes back to that link.
		up := st.upstream(d, wafer.Dir(ip))
		st.schedule(st.spec.LinkFigures(up).Latency, evCredit, int32(up), int32(l%4))
	} else {
		st.inject(d, ip-4)
	}
	st.tryPort(l)
}

// upstream is the link that enters die d travelling in direction dir: the
// link leaving d's neighbour on the opposite side, in direction dir.
func (st *state) upstream(d wafer.DieID, dir wafer.Dir) wafer.LinkID {
	back, ok := st.spec.LinkFrom(d, (dir+2)%4)
	if !ok {
		panic("sim: buffer fed by a link that does not exist")
	}
	_, n := st.spec.LinkEnds(back)
	return wafer.LinkID(4*int(n) + int(dir))
}

// headArrive: packet p's head has crossed link l; its tail follows as long
// after as its send took. At its destination it is consumed once its tail
// arrives; elsewhere it queues for its next link.
func (st *state) headArrive(p int32, l wafer.LinkID) {
	pk := &st.pkts[p]
	msg := &st.msgs[pk.msg]
	pk.hop++
	_, n := st.spec.LinkEnds(l)
	ip := st.inPort(n, int(l%4))
	st.occ[ip]++
	st.peakOcc = max(st.peakOcc, st.occ[ip])
	if int(pk.hop) == len(msg.links)-1 {
		st.schedule(pk.send, evDelivered, p, int32(l))
		return
	}
	pk.tail = st.now + pk.send
	next := msg.links[pk.hop+1]
	q := ip*4 + int(next%4)
	st.voq[q] = append(st.voq[q], p)
	st.tryPort(next)
}

// delivered: packet p's tail has reached its destination over link l. A
// payload that lands in SRAM is there; one that lands in HBM, or is added
// to the destination's own copy there, goes through the HBM port first,
// keeping its ejection slot until it is done (ejected).
func (st *state) delivered(p int32, l wafer.LinkID) {
	pk := &st.pkts[p]
	msg := &st.msgs[pk.msg]
	var bytes float64
	if msg.dstHBM {
		bytes += pk.size
	} else {
		st.sramBytes += pk.size
	}
	if msg.reduce {
		bytes += pk.size
	}
	if msg.dstHBM || msg.reduce {
		_, n := st.spec.LinkEnds(l)
		st.access(n, arrivals, bytes, evWritten, p, int32(l))
		return
	}
	st.ejected(p, l)
}

// ejected: packet p, delivered over link l, leaves its ejection slot.
func (st *state) ejected(p int32, l wafer.LinkID) {
	pk := st.pkts[p]
	st.freePkt = append(st.freePkt, p)
	_, n := st.spec.LinkEnds(l)
	st.occ[st.inPort(n, int(l%4))]--
	st.schedule(st.spec.LinkFigures(l).Latency, evCredit, int32(l), eject)
	msg := &st.msgs[pk.msg]
	msg.delivered++
	if msg.delivered == msg.packets {
		st.arrive(msg.task)
	}
}
