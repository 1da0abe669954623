package sim

import (
	"errors"
	"fmt"
	"math"

	"github.com/tempc/tempc/wafer"
)

// Config tunes the simulator. The zero value means defaults.
type Config struct {
	// PacketBytes is the packet size (0: DefaultPacketBytes).
	PacketBytes int64
	// BufferPackets is the capacity of each router queue in packets (0:
	// enough to cover the credit round trip of any link, so that a single
	// flow runs at full bandwidth; see BufferFor).
	BufferPackets int
	// Routing routes transfers that carry no explicit route (default XY).
	Routing wafer.Routing
	// NetworkOnly moves payloads between ideal buffers: transfers and
	// sends neither read nor write HBM nor take SRAM, whatever their
	// placement says, so that a run measures the links alone (validate's
	// network classes). Compute tasks still use the HBM port.
	NetworkOnly bool
	// MaxEvents bounds the events of a run (0: DefaultMaxEvents). Run
	// counts them before it starts and refuses a program that needs more
	// (*LimitError).
	MaxEvents int64
	// Cancel, when closed, stops a run within cancelEvery (16,384)
	// events (a caller's context ending: Done()); the run fails with
	// ErrCancelled.
	Cancel <-chan struct{}
}

// ErrCancelled is wrapped by the error of a run stopped by Config.Cancel.
var ErrCancelled = errors.New("sim: replay cancelled")

// cancelEvery is how many events a run processes between looks at
// Config.Cancel (a few milliseconds at some 7 million events a second).
const cancelEvery = 1 << 14

// DefaultPacketBytes is the default packet size; see the package
// documentation for its effect on accuracy and speed.
const DefaultPacketBytes = 64 << 10

// DefaultMaxEvents is the default event limit of a run: 2·10⁹ events,
// some minutes of simulation. The blocks of a whole gpt3-76b plan on
// temp48 need some 10⁸ together at the default packet size (165 million
// for their packets' hops alone; HBM accesses add up to two per packet); a
// 1 GiB message from HBM to HBM over 12 hops needs 0.64 million at 64 KiB
// packets (39 per packet) and 42 billion at 1-byte packets.
const DefaultMaxEvents = 2_000_000_000

// maxBufferPackets bounds BufferPackets and BufferFor: a million packets
// per queue is far beyond any credit round trip at sensible packet sizes.
const maxBufferPackets = 1 << 20

// Validate rejects negative settings (zero means the default) and buffers
// beyond a million packets per queue.
func (c Config) Validate() error {
	switch {
	case c.PacketBytes < 0:
		return fmt.Errorf("sim: packet size %d bytes must be positive (0 means %d)", c.PacketBytes, DefaultPacketBytes)
	case c.BufferPackets < 0 || c.BufferPackets > maxBufferPackets:
		return fmt.Errorf("sim: buffer of %d packets must be between 1 and %d (0 means the credit round trip)",
			c.BufferPackets, maxBufferPackets)
	case c.MaxEvents < 0:
		return fmt.Errorf("sim: event limit %d must be positive (0 means %d)", c.MaxEvents, DefaultMaxEvents)
	}
	return nil
}

func (c Config) withDefaults(s *wafer.Spec) Config {
	if c.PacketBytes == 0 {
		c.PacketBytes = DefaultPacketBytes
	}
	if c.BufferPackets == 0 {
		c.BufferPackets = BufferFor(s, c.PacketBytes)
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = DefaultMaxEvents
	}
	return c
}

// BufferFor is the default queue size: the packets in flight during
// one credit round trip (a packet's head latency plus the credit's return,
// 2·Latency, at full bandwidth) on the kind of link where that is most —
// a die-to-die link, or an inter-wafer link of a joined cluster — plus two
// so that a packet can be received while one is forwarded; at most a
// million packets. Every queue has this size, so that a flow runs at full
// bandwidth over any link.
func BufferFor(s *wafer.Spec, packetBytes int64) int {
	var inFlight float64
	for _, f := range linkKinds(s) {
		inFlight = max(inFlight, 2*f.Latency*f.Bandwidth/float64(packetBytes))
	}
	if !(inFlight < maxBufferPackets) { // NaN included
		return maxBufferPackets
	}
	return min(int(math.Ceil(inFlight))+2, maxBufferPackets)
}

// linkKinds lists the figures links of s may have: the die-to-die link's,
// then, on a joined cluster, the inter-wafer link's.
func linkKinds(s *wafer.Spec) []*wafer.Link {
	if s.Seam != nil {
		return []*wafer.Link{&s.Link, &s.Seam.Link}
	}
	return []*wafer.Link{&s.Link}
}
