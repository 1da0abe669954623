// Package wafer describes wafer-scale hardware: a Rows×Cols mesh of dies,
// each joined by a bidirectional die-to-die (D2D) link to its four
// neighbours only, with per-die compute and memory, per-link bandwidth,
// latency and energy, and the dies and links that are defective.
//
// Dies are addressed by DieID (row-major: r·Cols + c) and directed links by
// LinkID (4·die + direction of travel). A route is the list of dies a
// message visits, source first; Spec.Route builds dimension-order routes
// (XY: along the row first, then the column; YX: the other way) and
// Spec.CheckRoute validates explicit ones (adjacent hops only, never
// through a dead die or link).
//
// A Spec with a Cluster describes a row of identical wafers by one of
// them. Spec.Joined turns it into one wide mesh, the wafers side by side,
// whose Seam gives the links between wafers the cluster's figures: links
// then differ, and Spec.LinkFigures gives the figures of each. Every other
// Spec has uniform links (Spec.Link).
//
// Units inside Go are SI base units: bytes, seconds, FLOP/s, bytes/s,
// joules per bit. The JSON file format (wafer.schema.json) uses the units
// people quote: TFLOPS, GB (10^9 bytes), TB/s, ns, pJ/bit.
//
// Invariant: a Spec that passed Validate (every preset, every file ReadJSON
// accepts) has at most 65,536 dies and physical figures within plausible
// ranges some three orders of magnitude either side of today's hardware
// (limits.go), so the arithmetic of its users stays finite.
//
// The package knows nothing about models.
package wafer
