// Package highs is the production ilp.Solver: the HiGHS MIP solver called
// through its C API with cgo (capi.go). It is the only package of tempc
// that needs cgo and the HiGHS library; everything else, the ILP
// formulation included, builds with CGO_ENABLED=0.
//
// github.com/lanl/highs v1.0.3 is not the path to the solver: it returns
// an empty solution whenever HiGHS reports a warning status, as it does
// when a time limit stops a MIP, so the incumbent of a timed-out solve
// would be lost. The tests keep it as an independent cross-check of the
// C API calls.
//
// Solves run one at a time in the process, under a time limit that holds
// even when HiGHS does not look at its clock (runBounded).
package highs
