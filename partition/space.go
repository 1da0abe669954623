package partition

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tempc/tempc/ir"
	"github.com/tempc/tempc/wafer"
)

//go:generate go run github.com/tempc/tempc/internal/enumgen -type "Act=activation layout,Scheme"

// Act is the layout of an activation over the dies of a group. The line
// comments of its constants (and of Scheme's) are their names.
type Act uint8

// Activation layouts.
const (
	// Rep: every die holds the whole tensor.
	Rep Act = iota // R
	// Rows: split by tokens (sequence or batch).
	Rows // S
	// Cols: split by the hidden dimension (or attention heads).
	Cols // C
	NumActs
)

// Kind is the kind of an op group.
type Kind uint8

// Op group kinds.
const (
	GEMM Kind = iota
	Attention
	Embedding
)

// Scheme is one way of running an op group over a group of dies.
type Scheme uint8

// Schemes; see the package documentation.
const (
	MegatronCol Scheme = iota // megatron-col
	MegatronRow               // megatron-row
	SPCol                     // sp-col
	SPRow                     // sp-row
	FSDP                      // fsdp
	RingW                     // ring-w
	RingX                     // ring-x
	RelayW                    // relay-w
	RelayX                    // relay-x
	Heads                     // heads
	RingSeq                   // ring-seq
	Vocab                     // vocab
	VocabSP                   // vocab-sp
	Batch                     // batch
	RingY                     // ring-y
	RelayY                    // relay-y
	// FSDPKeep is fsdp with PyTorch FSDP2's reshard_after_forward=False:
	// a layer's weights, gathered for its forward pass, stay gathered
	// until its backward pass, which gathers nothing (layer blocks of an
	// aliased space only).
	FSDPKeep // fsdp-keep
	numSchemes
)

// io gives each scheme's input and output activation layouts.
var io = [...][2]Act{
	MegatronCol: {Rep, Cols}, MegatronRow: {Cols, Rep}, SPCol: {Rows, Cols}, SPRow: {Cols, Rows},
	FSDP: {Rows, Rows}, RingW: {Rows, Rows}, RingX: {Rows, Cols}, RelayW: {Rows, Rows}, RelayX: {Rows, Cols},
	Heads: {Cols, Cols}, RingSeq: {Rows, Rows}, Vocab: {Rep, Rep}, VocabSP: {Rep, Rows},
	Batch: {Rows, Rows}, RingY: {Cols, Rows}, RelayY: {Cols, Rows}, FSDPKeep: {Rows, Rows},
}

// Streamed says a scheme streams blocks round its group (TSPP rings, TATP
// relays, ring attention) instead of running collectives before or after
// its kernels.
func (s Scheme) Streamed() bool {
	switch s {
	case RingW, RingX, RingY, RelayW, RelayX, RelayY, RingSeq:
		return true
	}
	return false
}

// StreamDegrees are the sub-chain lengths a relay-w stream may run on
// inside a larger group (TEMP's TATP degree; its best is 8–16 dies).
var StreamDegrees = []int{4, 6, 8, 12, 16, 24}

// SubChainDegrees lists the degrees a relay-w stream may take in a layout
// besides its whole group: those of StreamDegrees that divide the group's
// P dies into sub-chains of consecutive snake dies, when the layout has
// one DP group. (The sub-chains' weight gradients are reduce-scattered
// among them before the optimizer and the updated weights all-gathered
// after it; beside a DP all-reduce that would have to come first.)
func SubChainDegrees(l *Layout) []int {
	P := l.P()
	if l.DP != 1 {
		return nil
	}
	var out []int
	for _, d := range StreamDegrees {
		if d < P && P%d == 0 {
			out = append(out, d)
		}
	}
	return out
}

// SubChains splits every group's chain into sub-chains of degree
// consecutive dies (neighbours, as a chain's are), group after group.
func SubChains(chains [][]wafer.DieID, degree int) [][]wafer.DieID {
	var out [][]wafer.DieID
	for _, chain := range chains {
		for i := 0; i+degree <= len(chain); i += degree {
			out = append(out, chain[i:i+degree:i+degree])
		}
	}
	return out
}

// SubChainPeers lists, for each group and each position along its
// sub-chains of degree dies, the dies at that position in every
// sub-chain: they hold the same weight block, and reduce its gradient
// among them.
func SubChainPeers(chains [][]wafer.DieID, degree int) [][]wafer.DieID {
	var out [][]wafer.DieID
	for _, chain := range chains {
		peers := make([][]wafer.DieID, degree)
		for i, d := range chain {
			peers[i%degree] = append(peers[i%degree], d)
		}
		out = append(out, peers...)
	}
	return out
}

// Relay says a scheme streams both ways along its group's chain (TATP).
func (s Scheme) Relay() bool { return s == RelayW || s == RelayX || s == RelayY }

// In and Out are the activation layouts a scheme consumes and produces.
func (s Scheme) In() Act  { return io[s][0] }
func (s Scheme) Out() Act { return io[s][1] }

// Family restricts the schemes of a space to one parallelisation style.
type Family string

// Strategy families: auto (every scheme) and the three baselines of TEMP's
// evaluation.
const (
	Auto      Family = "auto"
	Megatron1 Family = "megatron1" // 1D tensor parallelism: megatron-col/row, heads, vocab
	Megatron3 Family = "megatron3" // tensor + sequence parallelism: sp-col/row, heads, vocab-sp
	FSDPOnly  Family = "fsdp"      // fully sharded data parallelism inside the group
	// MegatronCore is Megatron-Core as run in 2024–25: megatron3's schemes
	// with tensor-parallel communication overlap (ring-x, ring-y) and
	// fused attention.
	MegatronCore Family = "megatron-core"
	// FSDP2 is PyTorch FSDP2 as run in 2024–25: fsdp, each layer's
	// reshard_after_forward true or false (fsdp or fsdp-keep).
	FSDP2 Family = "fsdp2"
)

// Families lists the accepted families.
var Families = []Family{Auto, Megatron1, Megatron3, FSDPOnly, MegatronCore, FSDP2}

var familySchemes = map[Family][]Scheme{
	Megatron1: {MegatronCol, MegatronRow, Heads, Vocab},
	Megatron3: {SPCol, SPRow, Heads, VocabSP},
	FSDPOnly:  {FSDP, FSDPKeep, RingSeq, Batch, VocabSP},
	// Transformer Engine's user-buffer overlap pipelines the
	// sequence-parallel all-gather into the column GEMM (ring-x) and the
	// row GEMM's reduce-scatter out of it (ring-y).
	MegatronCore: {SPCol, SPRow, RingX, RingY, Heads, VocabSP},
	FSDP2:        {FSDP, FSDPKeep, RingSeq, Batch, VocabSP},
}

// canonical lists, per baseline and op-group kind, the schemes its
// published code runs, in order of preference: a group takes the first
// whose input layout is its producer's output layout (Config.Baseline).
var canonical = map[Family]map[Kind][]Scheme{
	Megatron1: {Embedding: {Vocab}, GEMM: {MegatronCol, MegatronRow}, Attention: {Heads}},
	Megatron3: {Embedding: {VocabSP}, GEMM: {SPCol, SPRow}, Attention: {Heads}},
	FSDPOnly:  {Embedding: {VocabSP}, GEMM: {FSDP}, Attention: {Batch}},
	// Megatron-Core's pairs are megatron3's; overlapped adds each GEMM's
	// overlapped form beside it.
	MegatronCore: {Embedding: {VocabSP}, GEMM: {SPCol, SPRow}, Attention: {Heads}},
	FSDP2:        {Embedding: {VocabSP}, GEMM: {FSDP}, Attention: {Batch}},
}

// overlapped is, per baseline, the variant of a canonical GEMM scheme its
// users may switch on: Megatron-Core's --tp-comm-overlap runs the
// collective overlapped with the kernel (ring-x, ring-y); FSDP2's
// reshard_after_forward=False keeps a layer's gathered weights for its
// backward pass (fsdp-keep). The group may take either, the solver
// choosing per op group: Megatron-Core's users set the switch once for
// the model (a superset, so the baseline is never the weaker for it),
// FSDP2's per wrapped module, as here.
var overlapped = map[Family]map[Scheme]Scheme{
	MegatronCore: {SPCol: RingX, SPRow: RingY},
	FSDP2:        {FSDP: FSDPKeep},
}

// candidates are the schemes the free space offers each kind of op group
// (a family or --schemes may take fewer).
var candidates = map[Kind][]Scheme{
	GEMM:      {MegatronCol, MegatronRow, SPCol, SPRow, FSDP, FSDPKeep, RingW, RingX, RingY, RelayW, RelayX, RelayY},
	Attention: {Heads, RingSeq},
	Embedding: {Vocab, VocabSP},
}

// KindSchemes lists every scheme that partitions an op group of kind k in
// some space: the free space's candidates and the canonical baselines'
// (FSDP's whole-sequence attention, Batch, is a baseline's only).
func KindSchemes(k Kind) []Scheme {
	out := slices.Clone(candidates[k])
	for _, f := range Baselines {
		for _, s := range canonical[f][k] {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// Baselines lists the canonical baselines: the historical ones (TEMP's
// evaluation) and the modern ones (what their users run today).
var Baselines = append(slices.Clone(Historical), Modern...)

// Historical are the baselines of TEMP's evaluation, as their code ran
// when published (2019–2023); Modern are what strong users run today.
var (
	Historical = []Family{Megatron1, Megatron3, FSDPOnly}
	Modern     = []Family{MegatronCore, FSDP2}
)

// Group is one op group: the forward op(s) that head it in every layer it
// stands for, with their backward ops.
type Group struct {
	// Key names the group: "block/attn.qkv", "embed", ... (with ".L3" per
	// layer when unaliased).
	Key  string
	Kind Kind
	// Ops are all ops of the group, forward and backward, of every layer it
	// stands for.
	Ops []ir.OpID
	// Mult is how many layers the group stands for.
	Mult int
	// K and N are the GEMM's inner and output widths; for attention Heads,
	// KVHeads, HeadDim; for embeddings N is the width.
	K, N                    int64
	Heads, KVHeads, HeadDim int64
	// Params counts the weight elements first used by this group (a tied
	// LM head owns none).
	Params int64
	// WeightElems is the size of the group's weight, owned or not (what
	// FSDP gathers and a stream circulates).
	WeightElems int64
	// Schemes are the schemes allowed for this group.
	Schemes []Scheme
	// Work is what the group's ops and its attached pointwise ops do.
	Work Work
}

// Work sums, over every layer a group stands for and the whole global
// batch, the FLOPs and HBM bytes of its ops, forward and backward, and of
// the pointwise ops attached to it; and the bytes of forward activations
// its backward ops read (its input, its output for attention, and the
// inputs of its pointwise ops).
type Work struct {
	FwdFLOPs, BwdFLOPs, FwdHBM, BwdHBM         float64
	SavedIn, SavedOut                          float64
	PwFwdFLOPs, PwFwdHBM, PwBwdFLOPs, PwBwdHBM float64
	PwSaved                                    float64
	// Block marks a group of transformer blocks; Head the first group op
	// of each block (whose input is what full recomputation keeps).
	Block, Head bool
	// Scores is, for attention computed unfused (Config.UnfusedAttention),
	// the bytes of its score matrices (bf16, batch × heads × query ×
	// key): written by QKᵀ, read and rewritten as probabilities by the
	// softmax, read by P·V — four times that through HBM in the forward
	// pass (in FwdHBM), seven in the backward (dP written, read with P by
	// the softmax's backward, dS written and read for dQ and dK, P read
	// for dV; in BwdHBM) — and the probabilities saved for the backward
	// pass unless recomputed.
	Scores float64
}

// Recomputed says whether the group's forward pass runs again in the
// backward pass under recomputation mode r: every block group under full
// recomputation, and under selective recomputation unfused attention
// (Korthikanti et al. 2022 recompute exactly the attention core, whose
// score matrices dominate activation memory).
func (w *Work) Recomputed(r Recompute) bool {
	return r == Full && w.Block || r == Selective && w.Scores > 0
}

// Edge asks that the output layout of group From agree with the input (or,
// for Out, the output) layout of group To; otherwise the activation of
// Elems elements per token is resharded, Mult times per micro-batch.
type Edge struct {
	From, To int
	Out      bool
	Elems    int64 // per token
	Mult     int
}

// Space is the strategy space of one graph on one wafer.
type Space struct {
	Graph  *ir.Graph
	Spec   *wafer.Spec
	Groups []Group
	Edges  []Edge
	// Pointwise lists the pointwise ops (norms, adds, activations, loss,
	// their backward) and the group whose output layout they run in.
	Pointwise []Attached
	Layouts   []Layout
	Config    Config
	// ReplicatedParams counts the weights no group owns (norm scales and
	// shifts): every die holds them whole.
	ReplicatedParams float64
	// AdamFLOPs and AdamHBM are the optimizer step's work over all weights.
	AdamFLOPs, AdamHBM float64
}

// Attached is a pointwise op and its group.
type Attached struct {
	Op    ir.OpID
	Group int
}

// ParamsPerDie is the parameters each die of layout li holds: the groups'
// weights sharded over the model-parallel group (every scheme shards them
// so) and the replicated ones whole.
func (s *Space) ParamsPerDie(li int) float64 {
	var owned float64
	for _, g := range s.Groups {
		owned += float64(g.Params)
	}
	return owned/float64(s.Layouts[li].P()) + s.ReplicatedParams
}

// String summarises the space.
func (s *Space) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d groups, %d edges, %d pointwise ops, %d layouts", len(s.Groups), len(s.Edges), len(s.Pointwise), len(s.Layouts))
	return b.String()
}

func sortedSchemes(ss []Scheme) []Scheme {
	out := append([]Scheme(nil), ss...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// BaselineSchemes lists every scheme the canonical baselines fams run
// (with megatron-core's overlapped forms): the space the ILP mixes freely
// per op group when restricted to what those baselines do.
func BaselineSchemes(fams ...Family) []Scheme {
	var out []Scheme
	add := func(s Scheme) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, f := range fams {
		for _, k := range []Kind{Embedding, GEMM, Attention} {
			for _, s := range canonical[f][k] {
				add(s)
				if o, ok := overlapped[f][s]; ok {
					add(o)
				}
			}
		}
	}
	return sortedSchemes(out)
}
