package sim

import (
	"fmt"
	"math"

	"tempc/plan"
	"tempc/wafer"
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
	// Events is what a run that completes processes: a packet crossing h
	// links takes 3h+1 (h sends, h head arrivals, h credits returned, one
	// delivery) and a compute task one.
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
	ms, computes, err := messagesOf(s, p, cfg.Routing)
	if err != nil {
		return Size{}, err
	}
	return measure(s, ms, computes, cfg.withDefaults(s)), checkLimits(s, ms, computes, cfg)
}

// extent is the size of one message: its bytes and its hops.
type extent struct {
	bytes int64
	hops  int
}

// messagesOf lists the messages of p (transfers and sends, routed as Run
// routes them) and counts its compute tasks.
func messagesOf(s *wafer.Spec, p *plan.Program, routing wafer.Routing) ([]extent, int, error) {
	var ms []extent
	computes := 0
	for i := range p.Tasks {
		t := &p.Tasks[i]
		switch t.Kind {
		case plan.Compute:
			computes++
		case plan.Transfer, plan.Send:
			route, err := routeOf(s, t, routing)
			if err != nil {
				return nil, 0, err
			}
			ms = append(ms, extent{t.Bytes, len(route) - 1})
		}
	}
	return ms, computes, nil
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

// measure sizes a run of messages ms and computes compute tasks under cfg
// (defaults applied).
func measure(s *wafer.Spec, ms []extent, computes int, cfg Config) Size {
	sz := Size{Events: int64(computes)}
	for _, m := range ms {
		if m.hops == 0 {
			continue // to itself: nothing moves
		}
		k := packetsOf(m.bytes, cfg.PacketBytes)
		sz.Packets = addSat(sz.Packets, k)
		sz.Events = addSat(sz.Events, mulSat(k, 3*int64(m.hops)+1))
	}
	// Each incoming link's queues (one per output, five) and each DMA
	// engine's hold BufferPackets.
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

// checkLimits returns a *LimitError when a run of ms and computes under
// cfg (as given, before defaults) exceeds the limits.
func checkLimits(s *wafer.Spec, ms []extent, computes int, cfg Config) error {
	c := cfg.withDefaults(s)
	sz := measure(s, ms, computes, c)
	if fits(sz, c) {
		return nil
	}
	e := &LimitError{Size: sz, MaxEvents: c.MaxEvents, PacketBytes: c.PacketBytes}
	var largest int64 = 1
	for _, m := range ms {
		largest = max(largest, m.bytes)
	}
	for p := c.PacketBytes; p < largest && p <= math.MaxInt64/2; {
		p *= 2
		try := cfg
		try.PacketBytes = p
		try = try.withDefaults(s)
		if fits(measure(s, ms, computes, try), try) {
			e.Suggest = p
			break
		}
	}
	return e
}

func fits(sz Size, c Config) bool {
	return sz.Events <= c.MaxEvents && sz.LivePackets <= maxLivePackets
}
