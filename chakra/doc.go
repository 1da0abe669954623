// Package chakra exports a plan's training step as Chakra execution
// traces (MLCommons Chakra, schema/protobuf/et_def.proto), the workload
// format of the ASTRA-sim simulator, and reads such traces back.
//
// # Files
//
// Write puts into a directory one trace per die of the mesh, named as
// ASTRA-sim's workload layer looks for them, <name>.<rank>.et, where the
// rank is the die's ID r·Cols + c (dead and unused dies get a trace with
// no nodes, since ASTRA-sim wants one per NPU); network.yml, system.json
// and memory.json, ASTRA-sim's configurations to replay them with;
// manifest.json (Manifest: ranks, dies, node counts); and a README. A
// trace is a GlobalMetadata message, then Node messages, each preceded
// by its size as a varint — the framing of Chakra's protolib
// encodeMessage and decodeMessage. The messages are package etpb's,
// generated from a declaration of Chakra's schema with its package,
// field numbers and types.
//
// The export replaces its directory whole and atomically: Stage writes
// it into a staging directory beside the destination, and Publish
// renames the earlier directory aside, the new one in, and removes the
// earlier one, so that an interrupted or failed export leaves the
// earlier one as it was. Since nothing of the earlier directory is kept,
// it must be missing, empty or an earlier export (CheckDir).
//
// # Mapping
//
// The step is replayed as plan.Expand writes it out — every run of every
// block, a run's entry tasks waiting for the previous run's out tasks on
// their die, barriers waiting for everything before them — but streamed:
// the exporter holds one run's tasks and what later runs wait for, and
// writes each die's nodes as it goes (TestStepperMatchesExpand holds the
// replay to plan.Expand). Each task becomes nodes of its die's trace:
//
//   - a compute task: a COMP_NODE with num_ops its FLOPs, tensor_size its
//     HBM bytes and duration_micros its time on the die — its Seconds if
//     fixed, else the die-local roofline max(FLOPs / (PeakFLOPS ×
//     Efficiency), HBM bytes / HBMBandwidth);
//   - a send and its receive: a COMM_SEND_NODE on the sender and a
//     COMM_RECV_NODE on the receiver with comm_src and comm_dst (ranks),
//     comm_size (the bytes; one for an empty message, as ASTRA-sim's
//     analytical network wants a positive size) and a comm_tag they
//     share: tags count from 1
//     per ordered pair of dies, so they stay within Chakra's int32;
//   - a transfer: the same pair, the send waiting for the transfer's
//     dependencies, the receive for nothing (it completes when the bytes
//     arrive);
//   - a barrier: a zero-time COMP_NODE marked is_cpu_op (so that it
//     does not hold the die's compute engine) on the die plan.Expand
//     puts it on.
//
// tempc has no collective task kind: lowering writes all-reduces,
// all-gathers and reduce-scatters out as messages along routes, so the
// traces hold no COMM_COLL_NODE and ASTRA-sim's collective algorithms
// are not used — the plan's own schedule of messages is replayed.
//
// Dependencies become data_deps naming earlier nodes of the same trace
// (node IDs count from 0 in file order, so every trace is acyclic).
// Waiting for a task of another die needs a message. Where the task is
// a message's end, the message carries it: a task waiting for a send or
// a transfer on the receiver waits for the receive, and one waiting for
// a receive on the sender waits for the send (both end when the bytes
// arrive, as in tempc, when the receive waits for nothing its send does
// not); a receive's dependencies that its send shares are dropped, the
// send waiting for them already. Any other dependency across dies — in
// tempc's plans, a barrier's and those on it — is carried by a sync
// message: a one-byte send and receive (tempc_kind sync-send and
// sync-recv), written once per node and die, after a join node (a
// zero-time CPU COMP_NODE) when several nodes of one die are waited for.
// A barrier thus costs at most 2·(dies − 1) sync messages: one from
// each other die whose tasks it waits for, one to each other die whose
// tasks wait for it. What a barrier waits for on each die — the tasks
// nothing of their run waits for — is kept as a list of node IDs, joined
// into one node whenever it reaches 65,536, so that memory stays bounded
// however long the step.
//
// Every node carries a string attribute tempc_kind (KindAttr) saying what
// of the plan it stands for; node names are the block's and the task's.
//
// # Approximations
//
// Time. Chakra records durations in whole microseconds. Each die's
// durations are rounded with error diffusion, so that they add up to the
// exact total within half a microsecond; a short task may get 0 (which
// ASTRA-sim runs as 1 ns) or 1 µs. The die-local roofline leaves out
// what tempc's simulator adds: the HBM port shared with DMA traffic and a
// tile pipeline's fill. With the roofline turned on in system.json,
// ASTRA-sim recomputes compute times from num_ops and tensor_size at the
// die's peak, without the kernel's efficiency, and skips nodes of zero
// tensor_size (fixed delays, compute on SRAM blocks only).
//
// Barriers and sync messages. A dependency tempc carries at no cost
// costs a one-byte message here: its latency delays what waits for it,
// a barrier's by two messages.
//
// Memory and routes. Where payloads live (SRAM or HBM), reductions on
// arrival, buffers allocated and freed, and the routes the plan chose
// are not represented: ASTRA-sim routes by its own topology and tracks
// no memory.
//
// Engines. ASTRA-sim's workload layer runs one compute node and issues
// one send at a time per NPU (receives are not limited); a tempc die has
// Die.DMAEngines engines injecting messages concurrently.
//
// Network. ASTRA-sim's analytical backend has no mesh (NetworkYAML):
// each mesh dimension is a bidirectional Ring, which adds the
// wrap-around link a mesh lacks; its congestion-unaware backend charges a
// message between dies that differ in both coordinates only for the
// first differing dimension, and models no contention; its
// congestion-aware backend takes a single dimension. Bandwidth is one
// link direction's, in ASTRA-sim's GB/s of 2^30 bytes; latency the
// per-hop latency.
package chakra
