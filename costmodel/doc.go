// Package costmodel is tempc's analytic wafer cost model: closed-form
// times, link loads and energies of compute slices, transfers, concurrent
// flows, ring collectives and tensor streams on a wafer.Spec. The solvers
// price strategies with it; the bundled simulator (wafer/sim) checks it,
// and `tempc validate` measures the distance between the two.
//
// What each die moves in each scheme — its kernels' FLOPs, efficiency,
// HBM and SRAM bytes, and its DMA's HBM bytes — is described once, in
// SchemeMove (movement.go), which lowering reads too. The formulas,
// following DESIGN.md §5:
//   - a kernel: max(FLOPs/(peak·efficiency·ComputeEfficiency),
//     (its HBM bytes + concurrent DMA bytes)/(HBM bandwidth·HBMEfficiency))
//     (KernelSeconds): the die's engine or its HBM port, which the kernel
//     shares with the DMA of the streams and gathers running beside it;
//     the efficiency is the wafer's GEMM or attention efficiency times the
//     tile quantisation of the GEMM's shape;
//   - a collective through HBM: the longer of its links' time and its DMA
//     bytes at the HBM port (CollectiveSeconds);
//   - one transfer: hops·latency + bytes/bandwidth;
//   - concurrent flows: the most loaded link's bytes/bandwidth plus the
//     longest route's latency (a link-load bound; flows are assumed to keep
//     the busiest link busy);
//   - a ring collective: its steps, each priced as the concurrent flows of
//     that step (so a ring on a Hamiltonian cycle pays one hop per step and
//     a ring closed over a path pays the multi-hop wrap-around);
//   - a tensor stream (TSPP ring or TATP relay): blocks arrive one round
//     apart, each round priced as that round's concurrent flows, and every
//     die computes blocks in arrival order — fill, steady state
//     max(compute, comm) per round, drain; the planner's streams are paced
//     (a die forwards a block once it has computed the one before), which
//     a recurrence over rounds (and chain positions, for a relay) follows;
//   - work that runs at the same time (a DP all-reduce beside TATP streams)
//     takes the longest of its parts, or the load bound of all their bytes
//     together if the shared links are the bottleneck;
//   - energy: FLOPs/(FLOPS per watt), D2D bits·hops·J/bit, HBM and SRAM
//     bits·J/bit, and static power × time, summed.
//
// Every parameter that is not physics is a field of Params.
//
// Invariants: every loop ends. A pattern the fair-share model cannot drain
// in finite time (a rate that underflows on figures no validated wafer
// has, bytes that are not finite) is an error naming the flow, not a loop;
// pricing a strategy space fails on it and on any price that is not
// finite, and PriceContext stops between layouts and op groups once its
// context is done.
package costmodel
