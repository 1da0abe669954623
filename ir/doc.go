// Package ir is tempc's operator-graph intermediate representation of one
// LLM training step: forward, backward and optimizer.
//
// A Graph owns its tensors and operators, addressed by the typed indices
// TensorID and OpID; side tables in later stages are slices indexed by these
// IDs. Every tensor has a shape, an element type and a Role (activation,
// weight, gradient, optimizer state, ...); every operator has a Kind, a
// Phase, the layer it belongs to and a block-class tag, so that identical
// transformer blocks can later share one decision.
//
// Invariants, checked by Verify:
//   - every tensor has at most one producer and every operand refers to an
//     existing tensor; weights, inputs and optimizer states are produced by no
//     operator in forward/backward (only the optimizer updates them in place,
//     which is modelled as reading and writing the same tensor);
//   - operand shapes agree with each operator's attributes (M/N/K of a matmul,
//     heads of an attention, ...);
//   - the producer–consumer graph is acyclic (gonum topo), and op IDs are a
//     topological order of it.
//
// The IR knows nothing about wafers. Graphs have one canonical text form
// (Graph.Text), a DOT rendering (Graph.DOT), and summary figures
// (Graph.Summary).
package ir
