// Package ilp is tempc's global planning level: it formulates the choice of
// one wafer layout and one partition scheme per op group of a priced
// strategy space (costmodel.Table) as a mixed-integer linear program and
// solves it through the Solver interface.
//
// Formulate builds the program: one binary per layout and per (group,
// option, layout), resharding variables on the edges between groups,
// memory rows per layout (weights, optimizer states, the activations and
// gathered weights options hold, the largest transient), the DP
// all-reduce's exposure beside the last backward pass, and the objective
// (step time or energy); dominated options and layouts are left out.
// Solve runs it, confirms an infeasible verdict with presolve off and
// explains it (the least memory any assignment needs, by term); it
// returns the assignment, the solver's status, bound and relative gap, so
// a caller always knows how far from optimal an answer can be. Evaluate
// prices an assignment directly, BruteForce enumerates a small space (the
// tests' oracle), and Config.LeastMemory (with WithinBound) makes the
// second solve that takes the plan with least memory within a tolerance
// of the best objective.
//
// The package is pure Go and builds with CGO_ENABLED=0. The production
// Solver, HiGHS through its C API, is package ilp/highs, the one package
// of tempc that needs cgo. The tests that solve are in package ilp_test
// (highs imports ilp) behind the cgo build tag.
package ilp
