// Package validate measures the analytic cost model against the bundled
// simulator: it generates a seeded, deterministic suite of cases —
// transfers, ring collectives, tensor streams, concurrent DP all-reduce
// with TATP streams, random permutations and hotspots — prices each with
// costmodel, replays the same pattern (built by lower) in wafer/sim, and
// summarises the relative errors per class and overall.
package validate
