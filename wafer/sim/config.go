package sim

import (
	"fmt"
	"math"

	"tempc/wafer"
)

// Config tunes the simulator. The zero value means defaults.
type Config struct {
	// PacketBytes is the packet size (0: DefaultPacketBytes).
	PacketBytes int64
	// BufferPackets is the capacity of each router queue in packets (0:
	// enough to cover the credit round trip of one link, so that a single
	// flow runs at full bandwidth; see BufferFor).
	BufferPackets int
	// Routing routes transfers that carry no explicit route (default XY).
	Routing wafer.Routing
	// MaxEvents stops a run that processes more events (0: no limit).
	MaxEvents int64
}

// DefaultPacketBytes is the default packet size; see the package
// documentation for its effect on accuracy and speed.
const DefaultPacketBytes = 64 << 10

// Validate rejects negative settings.
func (c Config) Validate() error {
	if c.PacketBytes < 0 || c.BufferPackets < 0 || c.MaxEvents < 0 {
		return fmt.Errorf("sim: packet size %d, buffer %d and event limit %d must not be negative",
			c.PacketBytes, c.BufferPackets, c.MaxEvents)
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
	return c
}

// BufferFor is the default queue size: the packets in flight during
// one credit round trip (a packet's head latency plus the credit's return,
// 2·Latency, at full bandwidth), plus two so that a packet can be received
// while one is forwarded.
func BufferFor(s *wafer.Spec, packetBytes int64) int {
	inFlight := 2 * s.Link.Latency * s.Link.Bandwidth / float64(packetBytes)
	return int(math.Ceil(inFlight)) + 2
}
