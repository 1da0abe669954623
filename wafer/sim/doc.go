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
// sending a packet of b bytes occupies it for b/Bandwidth. Each router has
// one input buffer per incoming link and per DMA engine, of
// Config.BufferPackets packets, organised as virtual output queues (one
// FIFO per output link, so a blocked packet never holds up one bound
// elsewhere). An output link arbitrates round-robin over the input buffers
// that hold a packet for it. Flow control is credit-based: a packet is sent
// only if the next router's input buffer has a free slot; the slot frees
// when the packet's tail leaves it, and the credit travels back to the
// sender in Link.Latency. Switching is virtual cut-through: a packet's head
// reaches the next router Link.Latency after it starts and may be
// forwarded at once; a packet at its destination is consumed as its tail
// arrives (ejection is not a bottleneck).
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
package sim
