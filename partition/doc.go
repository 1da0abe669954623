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
//	fsdp-keep      in S, out S  fsdp, the forward's gathered W kept for the
//	                            backward (FSDP2 reshard_after_forward=False)
//	ring-w, relay-w   in S, out S  W column blocks stream round the group
//	ring-x, relay-x   in S, out C  X row blocks stream round the group
//	ring-y, relay-y   in C, out S  Y's partial sums stream round the group,
//	                               each die adding its K rows' share (a
//	                               streamed reduce-scatter); bwd streams dY
//
// ring-* stream on the group's Hamiltonian cycle when its rectangle has
// one, else on its snake closed by a multi-hop wrap-around (TSPP); relay-*
// stream both ways along the snake (TATP), every hop one link. Attention
// splits heads (heads: in C, out C), the sequence with K/V blocks
// streamed (ring-seq: in S, out S), or the batch (batch: in S, out S, each
// die attending over the whole sequences it holds; valid when the group's
// micro-batch is a multiple of its dies). Embeddings split the vocabulary and
// all-reduce (vocab: out R) or reduce-scatter (vocab-sp: out S).
//
// Families and baselines. A family (Config.Family) restricts the schemes
// and lets the solver tune everything else: the tuned megatron1,
// megatron3 and fsdp families are supersets of what their users run. A
// canonical baseline (Config.Baseline) is what the published code runs,
// one scheme per group, and searches only what its users tune — the
// group shape (TP or shard-group degree), micro-batch and recomputation
// on or off:
//
//	megatron1  Shoeybi et al. 2019: column→row pairs (megatron-col then
//	           megatron-row, attention by heads between), vocab-parallel
//	           embedding and LM head, activations replicated; DP across
//	           groups without a distributed optimizer; recomputation none
//	           or full; attention unfused (scores materialised).
//	megatron3  Korthikanti et al. 2022: sp-col→sp-row pairs, heads,
//	           vocab-sp embedding, sp-col LM head; the distributed
//	           optimizer (ZeRO-1) across DP groups; recomputation none or
//	           selective (which recomputes the unfused attention core).
//	           Context parallelism is not represented: it splits a group
//	           two ways (TP × CP), and a scheme here splits it one way.
//	fsdp       Zhao et al. 2023, FULL_SHARD over the group (HYBRID_SHARD
//	           across groups): fsdp GEMMs, whole sequences per die (batch
//	           attention, PyTorch's fused scaled-dot-product attention),
//	           micro-batches counted per die; recomputation none or full.
//	           The embedding runs vocab-sp (a reduce-scatter of its output
//	           rather than a gather of its table: the bytes are T·h against
//	           V·h, alike at these batch sizes).
//
//	megatron-core  Megatron-Core as run in 2024–25 (modern): megatron3's
//	           pairs with --tp-comm-overlap (each column GEMM may run as
//	           ring-x, its all-gather pipelined into the GEMM, and each row
//	           GEMM as ring-y, its reduce-scatter pipelined out; the solver
//	           picks per op group, a superset of the one switch its users
//	           set), fused attention, the distributed optimizer, and
//	           recomputation none, selective or full. Its pipeline
//	           parallelism on the wafer is planned by the root package
//	           (tempc.PlanOnWafer) over this space's stages. Context
//	           parallelism is not represented (see megatron3).
//
//	fsdp2      PyTorch FSDP2 as run in 2024–25 (modern): fsdp's schemes,
//	           each layer block's GEMMs wrapped with reshard_after_forward
//	           true (fsdp: gathered again for the backward pass) or false
//	           (fsdp-keep: the forward's gathered weights kept for the
//	           backward, which gathers nothing; more memory), the solver
//	           choosing per op group as FSDP2 allows per module; the next
//	           layer's gather prefetched beside the kernels; hybrid
//	           sharding (shard in the group, replicate across groups);
//	           activation checkpointing off or on (full); fused attention,
//	           whole sequences per die.
//
// The first three are historical (Historical), kept as TEMP's evaluation
// ran them; Modern lists what users run today. FlashAttention gives the
// historical Megatron baselines fused attention too.
package partition
