// Package plan is tempc's output IR: the programs dies execute.
//
// This first version holds Program, a flat list of tasks with explicit
// dependencies — compute slices on a die and transfers between dies over a
// route — which the bundled simulator (wafer/sim) replays. Later stages
// extend it with per-die ordering, buffers and loop structure.
//
// Invariant (checked by Program.Check): a task depends only on tasks with
// smaller IDs, so the dependency graph is acyclic and ID order is a valid
// execution order.
package plan
