// Package sim is tempc's bundled packet-level simulator of a wafer: it
// replays a plan.Program on a wafer.Spec with discrete events and reports
// what happened. It is the independent check of the analytic cost model
// and must never use it.
//
// # Model
//
// The simulator models a die as resources whose contention makes time
// emerge: a compute engine, an HBM port, stream SRAM and DMA engines. It
// never evaluates a cost formula for a task.
//
// HBM port. Each die's HBM is one server of Die.HBMBandwidth, shared by
// three requesters: the compute engine's tile loads and stores, the DMA
// engines' reads of payloads that live in HBM at their source, and the
// network's writes of arriving payloads that land in HBM (with, for a
// Reduce message, the destination's read of its own operand). The port
// shares itself fairly among them by bytes, with start-time fair queuing
// (Goyal, Vin and Cheng, SIGCOMM 1996), and serves each requester's
// requests in order: a GEMM and the stream DMA beside it each get half the
// port while both wait on it, and either gets all of it alone. Fairness
// by requester rather than first come, first served matters: under FCFS
// a requester's share grows with the requests it keeps queued, and in an
// all-to-all the DMA engines' reads crowd out the writes of arriving
// packets, whose backpressure then jams the network (a 48-die all-to-all
// took 2.4 times the port-bound time; with fair queuing, the port bound).
// Requests are small — a packet for DMA, a tile (about 256 KiB) for
// compute — and each is served whole.
//
// Compute engine. Each die runs ready compute tasks one at a time in the
// order they became ready. A task with a fixed duration (Seconds) takes
// it and uses no HBM. Any other is cut into n equal tiles, n = ⌈HBM
// bytes / 256 KiB⌉ capped at 1,024 (one tile without HBM traffic): each
// tile loads its share of the task's HBM bytes (reads and writes alike)
// through the port, then computes its share of FLOPs at PeakFLOPS ×
// Efficiency. Two tile buffers let tile i+1 load while tile i computes.
// Alone, a task with loads L and computes C in total takes exactly
// max(L, C) + min(L, C)/n: the pipeline fills with one tile of the shorter
// phase. Beside DMA traffic its loads take longer, and so does it. The
// bytes it reads from streamed blocks in SRAM (SRAMBytes) cost energy but
// no time: SRAM bandwidth, many times HBM's, is assumed not to bind.
//
// Stream SRAM. Each die keeps Spec.StreamSRAM bytes for arriving blocks.
// A DstSRAM message reserves its bytes at its destination when a DMA
// engine takes it. If they do not fit at that moment it spills: it lands
// in the destination's HBM, and the compute tasks on that die that depend
// on its arrival (on the transfer, or on a send's receive) read its bytes
// from HBM instead of SRAM, as do SrcSRAM messages that forward it. A
// message never waits for SRAM, so SRAM cannot deadlock a run. A
// reservation is released when every task that depends on the message's
// arrival has ended, or at its arrival if none does.
//
// DMA engines. Die.DMAEngines engines per die each inject one message at
// a time, in the order messages became ready.
//
// Config.NetworkOnly takes memory out of the picture for transfers: no
// HBM read or write, no SRAM reservation, whatever a task's placement
// says (compute tasks keep the port). It isolates the network, as the
// validation suite's link classes need.
//
// Messages and packets. A transfer becomes one message cut into packets of
// Config.PacketBytes (the last may be shorter). A DMA engine moves the
// packets of its message into its own input buffer at the local router as
// fast as that buffer has room: a packet whose payload lives in the
// source's HBM (not SrcSRAM) takes its slot at once and joins the queue
// once the port has read it; one in SRAM joins at once (SRAM-to-router
// copying is not a bottleneck). The engine takes the die's next queued
// message once all packets of the current one are in its buffer.
//
// Routers and links. Every directed link is a resource with figures of its
// own (wafer.Spec.LinkFigures): on one wafer all are Spec.Link's, while the
// inter-wafer links of a joined cluster (wafer.Spec.Joined) carry the
// cluster's bandwidth, latency and energy per bit. Sending a packet of b
// bytes occupies a link for b/Bandwidth, its own. Each router keeps, for
// every incoming link, one FIFO queue per output (the four links and local
// ejection: virtual output queues), each of Config.BufferPackets packets,
// and one queue per DMA engine. An output link arbitrates round-robin over
// the router's input ports (incoming links and DMA engines) whose queue for
// it is not empty. Flow control is credit-based per queue: a packet is sent
// only if the queue it will join at the next router has a free slot, so a
// packet blocked on one output never takes space from packets bound
// elsewhere (packets behind it in the same queue do wait: queues are FIFO).
// The slot frees when the packet's tail leaves it, and the credit travels
// back to the sender in the link's Latency. Switching is virtual
// cut-through: a packet's head reaches the next router the link's Latency
// after it starts and may be forwarded at once, but a link cannot send
// faster than the bytes arrive: after a slower link, a send lasts until the
// packet's tail has arrived, and a link held so is busy meanwhile. A packet
// at its destination is consumed as its tail arrives, unless it lands in
// HBM (or is a reduction): then it keeps its slot in the ejection queue,
// and its credit, until the port has written it, so a slow HBM backs the
// network up.
//
// Consequences worth knowing. An uncontended message of N bytes over h hops
// from SRAM to SRAM takes exactly h·Latency + N/Bandwidth, whatever the
// packet size, provided the buffers cover the credit round trip (the
// default does): cut-through adds no per-hop serialisation. Over links that
// differ it takes the sum of their latencies plus N over the slowest
// bandwidth, which paces the rest: across one seam of a joined cluster,
// h·Latency + Latency_seam + N/Bandwidth_seam when the seam is the slower,
// with h the die-to-die hops. From HBM to HBM, when HBM is slower than a
// link, it takes N/HBM + h·Latency + P/Bandwidth + P/HBM with packets of P
// bytes: reads, hops and writes pipeline packet by packet. Packet size sets
// the granularity of arbitration between competing flows and the event
// count (about three events per packet per hop, and one per HBM access):
// the default of 64 KiB keeps a 1 GiB message to 16,384 packets, while
// flows that share a link still interleave finely enough that their
// finishing times differ from a perfectly fair share by at most one packet
// time (16 ns at 4 TB/s).
//
// Deadlock. With bounded buffers, a cyclic set of routes can block for
// ever. When no event is left while tasks remain, Run returns a
// *DeadlockError naming the links whose packets wait for credits; it never
// hangs.
//
// # Limits
//
// Before it starts, Run counts the packets and events the program needs
// (Measure: 3h+1 events per packet over h hops, one per HBM access, one
// per compute task without HBM traffic and two per tile of the others;
// exact, or an upper bound when a DstSRAM message may fit or spill) and
// refuses, with a *LimitError suggesting a packet size that fits, a run
// beyond Config.MaxEvents (default DefaultMaxEvents) or one that could
// hold more than 2²⁵ packets at once in its buffers. Packet counts are
// int64 throughout. Wafer figures that are not positive and finite are
// refused, and an event time that overflows (a hand-built wafer whose
// bandwidth is 1e-300 B/s) ends the run with an error.
//
// Step and PipelineStep also bound memory: before expanding anything they
// count the tasks their replays will hold (plan.Plan.ExpandedTasks), at
// BytesPerTask each plus Headroom, and refuse with a *MemoryError when
// that exceeds what the process may still take (AvailableMemory: the
// cgroup's memory.max, MemAvailable, RLIMIT_AS; StepConfig.Memory
// replaces it). A pipeline's replays that fit only one after the other
// run so.
package sim
