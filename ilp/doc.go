// Package ilp is tempc's global planning level: it formulates the choice of
// one partition strategy per operator group as a mixed-integer linear
// program and solves it through the Solver interface.
//
// This file set currently holds the solver side: Problem, a MIP in the form
// HiGHS takes; Solver; and HiGHS, the production implementation on
// github.com/lanl/highs. Every solve runs under a time limit and reports
// its status, objective, best bound and relative gap, so a caller always
// knows how far from optimal an answer can be.
package ilp
