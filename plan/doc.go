// Package plan is tempc's output IR: what every die of a wafer runs for one
// training step.
//
// A Plan is a list of nodes run in order, each a block — a Program: tasks
// with explicit dependencies, compute slices on a die and transfers (or
// send/receive pairs) between dies over a route, with the bytes they
// allocate and free — or a loop of nodes, run a count of times with a
// barrier between runs. The bundled simulator (wafer/sim) replays it.
//
// Invariants, checked by Plan.Verify: a task depends only on tasks with
// smaller IDs, so the dependency graph is acyclic and ID order is a valid
// execution order; sizes are finite and not negative; routes are paths
// over live links; every receive has exactly one matching send; a die
// never frees bytes it does not hold, nor holds more than its capacity.
// That a plan does the work of the graph it names — every block of every
// op, once per step — only the graph can tell: lower.CheckWork checks it.
package plan
