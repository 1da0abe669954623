// Package costmodel is tempc's analytic wafer cost model: closed-form
// times, link loads and energies of compute slices, transfers, concurrent
// flows, ring collectives and tensor streams on a wafer.Spec. The solvers
// price strategies with it; the bundled simulator (wafer/sim) checks it,
// and `tempc validate` measures the distance between the two.
//
// The formulas, following DESIGN.md §5:
//   - compute of a slice: max(FLOPs/(peak·ComputeEfficiency),
//     bytes/(HBM bandwidth·HBMEfficiency)) — the roofline;
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
//     max(compute, comm) per round, drain;
//   - work that runs at the same time (a DP all-reduce beside TATP streams)
//     takes the longest of its parts, or the load bound of all their bytes
//     together if the shared links are the bottleneck;
//   - energy: FLOPs/(FLOPS per watt) + D2D bits·hops·J/bit + HBM bits·J/bit.
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
