// Package validate measures the analytic cost model against the bundled
// simulator: it generates a seeded, deterministic suite of cases —
// transfers, ring collectives, tensor streams, concurrent DP all-reduce
// with TATP streams, random permutations and hotspots, which measure the
// links alone (sim.Config.NetworkOnly); kernels, collectives beside
// kernels and the benchmark models' streams, which run with each die's HBM
// port and SRAM — prices each with costmodel, replays the same pattern
// (built by lower) in wafer/sim, and summarises the relative errors per
// class and overall.
package validate
