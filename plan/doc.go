// Package plan is tempc's output IR: what every die of a wafer runs for one
// training step.
//
// A Plan is a list of nodes run in order, each a block — a Program: tasks
// with explicit dependencies, compute slices on a die and transfers (or
// send/receive pairs) between dies over a route, with the bytes they
// allocate and free and the buffers they read and write — or a loop of
// nodes, run a count of times. Runs follow one another without a
// barrier: a run's first tasks on a die wait for the previous run's out
// tasks on that die (its results), and everything else runs on beside
// the runs after it; a node marked Barrier waits for everything before
// it (see Node and Plan.Expand, which writes a step out as one program).
// The bundled simulator (wafer/sim) replays the step so.
//
// Invariants, checked by Plan.Verify: a task depends only on tasks with
// smaller IDs, so the dependency graph is acyclic and ID order is a valid
// execution order; sizes are finite and not negative; routes are paths
// over live links; every receive has exactly one matching send; declared
// buffers are read and written in dependency order
// (Program.CheckDataFlow); a die never frees bytes it does not hold, nor
// holds more than its capacity when its tasks run in program order (the
// simulator measures the peak when they overlap).
// That a plan does the work of the graph it names — every block of every
// op, once per step — only the graph can tell: lower.CheckWork checks it.
//
// A plan also records how it was chosen (schema version 5): the tempc
// that wrote it, its model-parallel groups, each op group's scheme and
// sharding, and the solver's status, bound and gap. WriteJSON writes the
// file format (plan.schema.json, embedded as Schema), WriteTrace a
// Perfetto trace of a replay, WriteDOT the loop structure; package
// chakra writes the step as Chakra execution traces for ASTRA-sim.
package plan
