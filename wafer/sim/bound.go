package sim

import (
	"fmt"
	"math"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// maxLivePackets bounds the packets a run may hold at once (in buffers and
// on links), and so its memory: 2²⁵ packets take about 1 GB with their
// queue entries and events. A run at the default packet and buffer sizes
// holds at most some ten thousand on temp48.
const maxLivePackets = 1 << 25

// Size is the work of a run, known before it starts.
type Size struct {
	// Packets counts the packets of every message.
	Packets int64
	// Events bounds what a run that completes processes: a packet crossing
	// h links takes 3h+1 (h sends, h head arrivals, h credits returned, one
	// delivery), one more if it is read from its source's HBM and one more
	// if its destination accesses HBM for it; a compute task one if it has
	// a fixed duration or no HBM traffic, else two per tile (its load and
	// its compute). The count is exact unless a DstSRAM message fits in
	// SRAM: it is counted as if it spilled (one HBM write per packet, and
	// its bytes in the HBM traffic of the tasks that read it); under
	// Config.NetworkOnly messages make no HBM access and it is a bound.
	Events int64
	// LivePackets bounds the packets held at once: every packet, or what
	// the router queues can hold, whichever is less.
	LivePackets int64
}

// Measure counts the packets and events of a run of p on s under cfg
// without running it (counts saturate at math.MaxInt64). It fails as Run
// would before starting: on an invalid configuration, wafer or program,
// and with a *LimitError when the run exceeds its limits.
func Measure(s *wafer.Spec, p *plan.Program, cfg Config) (Size, error) {
	if err := cfg.Validate(); err != nil {
		return Size{}, err
	}
	if err := checkSpec(s); err != nil {
		return Size{}, err
	}
	if err := p.Check(s); err != nil {
		return Size{}, err
	}
	w, err := workOf(s, p, cfg.Routing)
	if err != nil {
		return Size{}, err
	}
	return measure(s, w, cfg.withDefaults(s)), checkLimits(s, w, cfg)
}

// extent is the size of one message: its bytes, its hops, and how many
// HBM accesses each of its packets may make (0 to 2: a read at the source,
// a write or reduction at the destination).
type extent struct {
	bytes int64
	hops  int
	hbm   int
}

// work is what a run must do: its messages, and a bound on the events of
// its compute tasks.
type work struct {
	msgs          []extent
	computeEvents int64
}

// workOf lists the messages of p (transfers and sends, routed as Run
// routes them) and bounds the events of its compute tasks.
func workOf(s *wafer.Spec, p *plan.Program, routing wafer.Routing) (work, error) {
	var w work
	payload := payloads(p)
	for i := range p.Tasks {
		t := &p.Tasks[i]
		switch t.Kind {
		case plan.Compute:
			w.computeEvents = addSat(w.computeEvents, computeEventsOf(p, payload, t))
		case plan.Transfer, plan.Send:
			route, err := routeOf(s, t, routing)
			if err != nil {
				return work{}, err
			}
			w.msgs = append(w.msgs, extentOf(p, payload, t, len(route)-1))
		}
	}
	return w, nil
}

// extentOf sizes message t over hops, counting every HBM access its
// packets may make: a read unless it is SrcSRAM and forwards no block
// that could have spilled, and a destination access unless it is DstSRAM,
// not a reduction and empty (an empty payload always fits).
func extentOf(p *plan.Program, payload []plan.TaskID, t *plan.Task, hops int) extent {
	e := extent{bytes: t.Bytes, hops: hops}
	if !t.SrcSRAM {
		e.hbm++
	} else {
		for range streams(p, payload, t) {
			e.hbm++
			break
		}
	}
	if !t.DstSRAM || t.Reduce || t.Bytes > 0 {
		e.hbm++
	}
	return e
}

// computeEventsOf bounds the events of compute task t: those it takes if
// every block it reads spills into its HBM traffic. Tiles grow with the
// traffic, so no smaller spill takes more.
func computeEventsOf(p *plan.Program, payload []plan.TaskID, t *plan.Task) int64 {
	var streamed float64
	for m := range streams(p, payload, t) {
		streamed += float64(p.Tasks[m].Bytes)
	}
	return computeEvents(t, t.HBMBytes+streamed)
}

// routeOf is the route of transfer or send t: its own, or the default.
func routeOf(s *wafer.Spec, t *plan.Task, routing wafer.Routing) (wafer.Route, error) {
	if t.Route != nil {
		return t.Route, nil
	}
	r, err := s.Route(t.Die, t.Dst, routing)
	if err != nil {
		return nil, fmt.Errorf("sim: task %d %q: %w", t.ID, t.Name, err)
	}
	return r, nil
}

// packetsOf is how many packets of packetBytes carry a message of bytes
// (at least one), computed without overflow.
func packetsOf(bytes, packetBytes int64) int64 {
	n := bytes / packetBytes
	if bytes%packetBytes != 0 {
		n++
	}
	return max(n, 1)
}

// measure sizes a run of w under cfg (defaults applied).
func measure(s *wafer.Spec, w work, cfg Config) Size {
	sz := Size{Events: w.computeEvents}
	for _, m := range w.msgs {
		if m.hops == 0 {
			continue // to itself: nothing moves
		}
		k := packetsOf(m.bytes, cfg.PacketBytes)
		sz.Packets = addSat(sz.Packets, k)
		sz.Events = addSat(sz.Events, mulSat(k, 3*int64(m.hops)+1+int64(m.hbm)))
	}
	// Each incoming link's queues (one per output, five) and each DMA
	// engine's hold BufferPackets; a packet being read from or written to
	// HBM holds its slot.
	queues := mulSat(int64(s.NumDies()), int64(4*5+s.Die.DMAEngines))
	sz.LivePackets = min(sz.Packets, mulSat(queues, int64(cfg.BufferPackets)))
	return sz
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// mulSat multiplies non-negative a and b, saturating.
func mulSat(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// LimitError reports a run that Run refuses before it starts: it would
// process more than Config.MaxEvents events, or hold more than 2²⁵
// packets at once.
type LimitError struct {
	Size
	// MaxEvents and PacketBytes are the limit and packet size in force.
	MaxEvents, PacketBytes int64
	// Suggest is the smallest power-of-two packet size, at least twice
	// PacketBytes, with which the run fits (the default buffer recomputed
	// for it when the buffer was defaulted), or 0 when none does.
	Suggest int64
}

func (e *LimitError) Error() string {
	msg := fmt.Sprintf("sim: the run needs %d events (%d packets of %d bytes), above the limit of %d",
		e.Events, e.Packets, e.PacketBytes, e.MaxEvents)
	if e.Events <= e.MaxEvents {
		msg = fmt.Sprintf("sim: the run could hold %d packets of %d bytes at once, above the limit of %d",
			e.LivePackets, e.PacketBytes, maxLivePackets)
	}
	if e.Suggest == 0 {
		return msg + "; no packet size fits: raise Config.MaxEvents or simulate less at once"
	}
	return msg + fmt.Sprintf("; packets of %d bytes or more would fit", e.Suggest)
}

// checkLimits returns a *LimitError when a run of w under cfg (as given,
// before defaults) exceeds the limits.
func checkLimits(s *wafer.Spec, w work, cfg Config) error {
	c := cfg.withDefaults(s)
	sz := measure(s, w, c)
	if fits(sz, c) {
		return nil
	}
	e := &LimitError{Size: sz, MaxEvents: c.MaxEvents, PacketBytes: c.PacketBytes}
	var largest int64 = 1
	for _, m := range w.msgs {
		largest = max(largest, m.bytes)
	}
	for p := c.PacketBytes; p < largest && p <= math.MaxInt64/2; {
		p *= 2
		try := cfg
		try.PacketBytes = p
		try = try.withDefaults(s)
		if fits(measure(s, w, try), try) {
			e.Suggest = p
			break
		}
	}
	return e
}

func fits(sz Size, c Config) bool {
	return sz.Events <= c.MaxEvents && sz.LivePackets <= maxLivePackets
}
