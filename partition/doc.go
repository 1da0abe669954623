// Package partition is tempc's strategy space: the ways each operator group
// of a training graph can be split over the dies of a wafer, and the wafer
// layouts (data-parallel degree × model-parallel group rectangle ×
// micro-batch × recomputation × optimizer-state sharding) they run in. It
// states, as data, what each choice implies — the activation layouts it
// consumes and produces, the collectives or streams it runs, what it keeps
// in memory — and prices nothing: costmodel does.
//
// Op groups. Every forward GEMM, attention and embedding op heads a group
// that also holds its backward ops; with aliasing (the default) the ops of
// all identical transformer blocks with the same key form one group, so a
// decision is taken once for all layers. Pointwise ops (norms, residual
// adds, activations, the loss) run in the layout of the group whose output
// they consume (see Space.Pointwise); where two groups' outputs meet (a
// residual add) an Edge asks for their layouts to agree.
//
// Activation layouts (Act): replicated on every die of the group, split by
// rows (tokens: sequence/batch), or split by columns (hidden/heads).
//
// Schemes, for a GEMM Y[T×N] = X[T×K]·W[K×N] on P dies (Megatron-LM:
// Shoeybi et al. 2019, Korthikanti et al. 2022; FSDP: Zhao et al. 2023;
// TSPP and TATP: TEMP, HPCA 2026):
//
//	megatron-col   in R, out C  W split by columns; bwd all-reduces dX
//	megatron-row   in C, out R  W split by rows; fwd all-reduces Y
//	sp-col         in S, out C  all-gather X first; bwd reduce-scatters dX
//	sp-row         in C, out S  fwd reduce-scatters Y; bwd all-gathers dY
//	fsdp           in S, out S  W sharded at rest, all-gathered before use
//	ring-w, relay-w   in S, out S  W column blocks stream round the group
//	ring-x, relay-x   in S, out C  X row blocks stream round the group
//
// ring-* stream on the group's Hamiltonian cycle when its rectangle has
// one, else on its snake closed by a multi-hop wrap-around (TSPP); relay-*
// stream both ways along the snake (TATP), every hop one link. Attention
// splits heads (heads: in C, out C) or the sequence with K/V blocks
// streamed (ring-seq: in S, out S). Embeddings split the vocabulary and
// all-reduce (vocab: out R) or reduce-scatter (vocab-sp: out S).
package partition
