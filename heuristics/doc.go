// Package heuristics is tempc's local level: given a layout, it decides
// where each model-parallel group sits and in which order its dies and the
// data-parallel rings run, and routes the flows between groups — scored by
// the analytic cost model, never by a solver, and never changing the
// strategies the global level chose except through the dual-level loop
// (DualLevel), which re-prices a layout on its refined mapping and solves
// again.
//
// Mappers (all deterministic; the annealing one takes a seed):
//
//	smap   TEMP's sequential baseline: groups in row-major order, every ring
//	       a snake closed over a multi-hop wrap-around (no Hamiltonian
//	       cycles), DP rings in tile order, XY routes.
//	gmap   a hop-bytes mapper after Gemini (Cai et al., HPCA 2024): rings on
//	       Hamiltonian cycles, and the DP ring order and group orientations
//	       that minimise total hop-bytes, blind to link contention; XY routes.
//	temp   TEMP's traffic-conscious mapping (TCME): from gmap's mapping (or
//	       the canonical one when it scores better), simulated annealing
//	       over DP ring order and group orientations scored by the cost
//	       model's DP synchronisation time (contention included), then
//	       re-routing DP flows and the groups' ring flows off the most
//	       loaded links (XY, YX, two-bend minimal routes, or the shortest
//	       live route around the hot link).
package heuristics
