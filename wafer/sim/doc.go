// Package sim is tempc's bundled packet-level simulator of a wafer: it
// replays a plan.Program on a wafer.Spec with discrete events and reports
// what happened. It is the independent check of the analytic cost model
// and must never use it.
//
// # Model
//
// Dies. Each die has one compute engine, which runs ready compute tasks one
// at a time in the order they became ready, for max(FLOPs/peak, HBM
// bytes/HBM bandwidth) (the roofline) or the task's fixed duration; and
// Die.DMAEngines DMA engines, each injecting one message at a time.
//
// Messages and packets. A transfer becomes one message cut into packets of
// Config.PacketBytes (the last may be shorter). A DMA engine injects the
// packets of its message into its own input buffer at the local router as
// fast as that buffer has room (memory-to-router copying is not a
// bottleneck); it takes the die's next queued message once all packets of
// the current one are injected.
//
// Routers and links. Every directed link is a resource of Link.Bandwidth:
// sending a packet of b bytes occupies it for b/Bandwidth. Each router
// keeps, for every incoming link, one FIFO queue per output (the four links
// and local ejection: virtual output queues), each of Config.BufferPackets
// packets, and one queue per DMA engine. An output link arbitrates
// round-robin over the router's input ports (incoming links and DMA
// engines) whose queue for it is not empty. Flow control is credit-based
// per queue: a packet is sent only if the queue it will join at the next
// router has a free slot, so a packet blocked on one output never takes
// space from packets bound elsewhere (packets behind it in the same queue
// do wait: queues are FIFO). The slot frees when the packet's tail leaves
// it, and the credit travels back to the sender in Link.Latency. Switching
// is virtual cut-through: a packet's head reaches the next router
// Link.Latency after it starts and may be forwarded at once; a packet at
// its destination is consumed as its tail arrives (ejection is not a
// bottleneck).
//
// Consequences worth knowing. An uncontended message of N bytes over h
// hops takes exactly h·Latency + N/Bandwidth, whatever the packet size,
// provided the buffers cover the credit round trip (the default does):
// cut-through adds no per-hop serialisation. Packet size sets the
// granularity of arbitration between competing flows and the event count
// (about three events per packet per hop): the default of 64 KiB keeps a
// 1 GiB message to 16,384 packets, while flows that share a link still
// interleave finely enough that their finishing times differ from a
// perfectly fair share by at most one packet time (16 ns at 4 TB/s).
//
// Deadlock. With bounded buffers, a cyclic set of routes can block for
// ever. When no event is left while tasks remain, Run returns a
// *DeadlockError naming the links whose packets wait for credits; it never
// hangs.
//
// # Limits
//
// Before it starts, Run counts the packets and events the program needs
// (Measure: exactly 3h+1 events per packet over h hops, one per compute)
// and refuses, with a *LimitError suggesting a packet size that fits, a
// run beyond Config.MaxEvents (default DefaultMaxEvents) or one that could
// hold more than 2²⁵ packets at once in its buffers. Packet counts are
// int64 throughout. Wafer figures that are not positive and finite are
// refused, and an event time that overflows (a hand-built wafer whose
// bandwidth is 1e-300 B/s) ends the run with an error.
package sim
