package costmodel

import (
	"math"

	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// This file describes, once, what every die moves in every scheme: the
// kernels it runs (FLOPs, the bytes they read and write in HBM, the bytes
// they read from blocks DMA left in SRAM) and the HBM bytes its DMA moves
// for the scheme's collectives and streams. The cost model prices from it
// (price_scheme.go) and lowering emits tasks from it (lower/groups.go), so
// the two cannot drift apart; the simulator reads only the tasks and finds
// the time by itself.
//
// Kernel assumptions (the figures are the wafer's Kernel fields):
//   - Every GEMM, a baseline's as a stream round's, is tiled by one rule
//     (gemm.reads): of the tilings whose working set fits the GEMM's share
//     of SRAM (Spec.GEMMSRAMFraction), the one that reads the fewest bytes
//     from HBM. The tilings: an output-stationary tile of fp32
//     accumulators with K streamed through it — the square one of side
//     Spec.GEMMTile(), or a strip the full width N (or height M) of the
//     output as tall (wide) as fits, A (M×K) read ⌈N/n⌉ times and B (K×N)
//     ⌈M/m⌉ times — or one operand held whole in SRAM (bf16) beside a
//     strip of accumulators at least an array tile deep, each operand
//     then read once. That is what a kernel library does on a die with
//     tens of MB of SRAM (a weight-stationary GEMM keeps the weight
//     resident when it fits; CUTLASS and cuBLAS choose tile shapes per
//     problem, and on a GPU a persistent kernel keeps a panel in shared
//     memory): one rule for every scheme, so that no scheme is favoured
//     by a tiling the others are denied. C (M×N, bf16) is written once.
//     An operand that is a streamed block resident in SRAM is read from
//     SRAM instead, as often as the tiling reads it. A partial sum that
//     circulates (a reduction stream) is read and written where its block
//     lives. Operand panels and staging are not counted in the working
//     set (small beside it).
//   - The matrix engine computes M and N in multiples of the array tile:
//     the kernel's efficiency is GEMMEfficiency · M·N / (⌈M/a⌉a·⌈N/a⌉a).
//   - Attention is fused (flash-style): its HBM bytes are the graph's (Q,
//     K, V and O; scores stay on die) at AttentionEfficiency.
//   - Embedding lookups and pointwise ops are memory-bound: the graph's
//     bytes (a lookup writes its whole partial output), efficiency 1. No
//     pointwise op is fused: every norm, activation function, residual add
//     and the loss is its own kernel reading its inputs from HBM and
//     writing its output there, as PyTorch runs them eagerly. (Megatron-LM
//     fuses bias-GeLU and bias-dropout-add into one pass each; that would
//     save a pass over an activation and is not modelled.) A GEMM's bias
//     is its epilogue: its FLOPs are the GEMM's, its bytes the vector's.
//     The optimizer step is one memory-bound pass over the weights, their
//     gradients and Adam's two moments (the graph's bytes).
//   - Collectives move their payload through HBM at both ends: a ring
//     all-gather reads each chunk it sends and writes each it receives
//     (2(P−1)/P of the bytes), a reduce-scatter also reads its own chunk to
//     add to each it receives (3(P−1)/P), an all-reduce is both (5(P−1)/P).
//   - A streamed block lands in SRAM when three blocks fit in the stream
//     share of SRAM (Spec.StreamSRAM) — the one being computed, the one
//     waiting to be computed and forwarded (a die forwards a block once it
//     has computed the one before), and the one arriving; six for a relay,
//     which streams both ways. (With two, and forwards not waiting for
//     compute, the simulator spilled 679 of gpt3-175b's 2,256 ring-w
//     blocks on 48 dies.) A die's own block is read from HBM once. A
//     block that does not fit is written to HBM on arrival and read back
//     to be computed and forwarded. (The simulator does not take this
//     verdict: it lands a block in SRAM only if there is room when it
//     arrives, and spills it otherwise.)

// Kernel is one die's kernel work: FLOPs at a fraction of peak, and the
// bytes read and written in HBM and read from SRAM.
type Kernel struct {
	FLOPs      float64 `json:"flops"`
	Efficiency float64 `json:"efficiency"`
	HBMRead    float64 `json:"hbm_read_bytes"`
	HBMWrite   float64 `json:"hbm_write_bytes"`
	SRAM       float64 `json:"sram_bytes"`
}

// HBM is the kernel's HBM traffic.
func (k Kernel) HBM() float64 { return k.HBMRead + k.HBMWrite }

// Plus is the kernel that runs k then o: bytes and FLOPs add; the
// efficiency is the one that takes as long as both at peak rate.
func (k Kernel) Plus(o Kernel) Kernel {
	s := Kernel{FLOPs: k.FLOPs + o.FLOPs, HBMRead: k.HBMRead + o.HBMRead, HBMWrite: k.HBMWrite + o.HBMWrite,
		SRAM: k.SRAM + o.SRAM, Efficiency: 1}
	if t := k.peakSeconds() + o.peakSeconds(); t > 0 {
		s.Efficiency = s.FLOPs / t
	}
	return s
}

// peakSeconds is the kernel's FLOPs over its efficiency (time at a peak of
// one FLOP/s).
func (k Kernel) peakSeconds() float64 {
	if k.FLOPs == 0 {
		return 0
	}
	return k.FLOPs / k.Efficiency
}

// Less is the kernel that remains of k once o, a part of it (k = r.Plus(o)),
// is taken out.
func (k Kernel) Less(o Kernel) Kernel {
	r := Kernel{FLOPs: max(0, k.FLOPs-o.FLOPs), HBMRead: max(0, k.HBMRead-o.HBMRead), HBMWrite: max(0, k.HBMWrite-o.HBMWrite),
		SRAM: max(0, k.SRAM-o.SRAM), Efficiency: 1}
	if t := k.peakSeconds() - o.peakSeconds(); t > 0 && r.FLOPs > 0 {
		r.Efficiency = min(1, r.FLOPs/t)
	}
	return r
}

// Scale multiplies the kernel's work by x.
func (k Kernel) Scale(x float64) Kernel {
	return Kernel{FLOPs: k.FLOPs * x, Efficiency: k.Efficiency, HBMRead: k.HBMRead * x, HBMWrite: k.HBMWrite * x, SRAM: k.SRAM * x}
}

// where an operand of a kernel lives.
type where uint8

const (
	inHBM  where = iota
	inSRAM       // a streamed block resident in SRAM
)

// gemm is C[M×N] (+)= A[M×K]·B[K×N] in bf16 on one die.
//
// acc marks a partial sum that arrives and leaves as a streamed block: C
// is read and written where c says. first marks the die's own round of
// such a stream, which starts the partial sum (written where c says,
// nothing read) and is charged the HBM write of the finished sum that the
// last round makes.
//
// stay names the operand a stream keeps from round to round ('a', 'b', or
// 'c' for an output accumulated over the rounds): on an arriving block's
// round it is already in SRAM if it fits beside the output tile in the
// GEMM's share, and an accumulated output is written to HBM once, in the
// die's own round.
type gemm struct {
	M, K, N    float64
	a, b, c    where
	acc, first bool
	stay       byte
}

// kernel is the GEMM's kernel on a die of s (see the file comment for the
// tiling).
func (g gemm) kernel(s *wafer.Spec) Kernel {
	t := s.GEMMTile()
	var k Kernel
	put := func(w where, read, write float64) {
		if w == inSRAM {
			k.SRAM += read + write
		} else {
			k.HBMRead += read
			k.HBMWrite += write
		}
	}
	a, b, c := g.a, g.b, inHBM
	if g.stay != 0 {
		tileBytes := 4 * min(g.M, t) * min(g.N, t)
		bytes := map[byte]float64{'a': 2 * g.M * g.K, 'b': 2 * g.K * g.N, 'c': 4 * g.M * g.N}[g.stay]
		if tileBytes+bytes <= s.Die.SRAMBytes*s.Kernel.GEMMSRAMFraction {
			switch g.stay {
			case 'a':
				a = inSRAM
			case 'b':
				b = inSRAM
			case 'c':
				c = inSRAM
			}
		}
	}
	ra, rb := g.reads(s, a, b)
	put(a, 2*g.M*g.K*ra, 0)
	put(b, 2*g.K*g.N*rb, 0)
	switch {
	case g.acc && g.first:
		put(g.c, 0, 2*g.M*g.N)
		put(inHBM, 0, 2*g.M*g.N)
	case g.acc:
		put(g.c, 2*g.M*g.N, 2*g.M*g.N)
	case c == inSRAM:
		// accumulated in SRAM: written once, in the own round
	default:
		put(inHBM, 0, 2*g.M*g.N)
	}
	k.FLOPs = 2 * g.M * g.K * g.N
	k.Efficiency = s.Kernel.GEMMEfficiency * quantised(g.M, s.Kernel.ArrayTile) * quantised(g.N, s.Kernel.ArrayTile)
	return k
}

// reads is how many times the GEMM reads A and B where they live (a and
// b), by the one kernel rule of the file comment: of the tilings that fit
// the GEMM's share of SRAM, the one reading the fewest HBM bytes, and of
// those the fewest bytes in all (SRAM reads of resident blocks
// included). For a tile n columns wide, the tallest tile that fits is
// never worse (it reads B fewer times, A as often), so the search runs
// over the widths: whole array tiles and the whole N.
func (g gemm) reads(s *wafer.Spec, a, b where) (ra, rb float64) {
	G := s.Die.SRAMBytes * s.Kernel.GEMMSRAMFraction
	at := float64(max(s.Kernel.ArrayTile, 1))
	A, B := 2*g.M*g.K, 2*g.K*g.N
	cost := func(x, y float64) (hbm, all float64) {
		if a == inHBM {
			hbm += A * x
		}
		if b == inHBM {
			hbm += B * y
		}
		return hbm, A*x + B*y
	}
	bestH, bestT := math.Inf(1), math.Inf(1)
	try := func(x, y float64) {
		if h, t := cost(x, y); h < bestH || h == bestH && t < bestT {
			bestH, bestT, ra, rb = h, t, x, y
		}
	}
	deep := func(n float64) float64 { return min(n, at) } // the shallowest tile side: an array tile, or the whole dimension
	tall := func(n float64) float64 { return min(g.M, math.Floor(G/(4*n)/at)*at) }
	widths := int(math.Ceil(g.N / at))
	for i := 1; i <= widths; i++ {
		n := min(g.N, float64(i)*at)
		if m := tall(n); m >= deep(g.M) {
			try(math.Ceil(g.N/n), math.Ceil(g.M/m))
		}
	}
	// One operand resident whole beside the shallowest strip of
	// accumulators: both read once.
	if B+4*deep(g.M)*g.N <= G || A+4*g.M*deep(g.N) <= G {
		try(1, 1)
	}
	if math.IsInf(bestH, 1) { // not even one array tile fits: the square tile's count, as if it did
		t := s.GEMMTile()
		return math.Ceil(g.N / t), math.Ceil(g.M / t)
	}
	return ra, rb
}

// quantised is the share of an array tile's work that is useful along a
// dimension of n: n / (⌈n/a⌉·a).
func quantised(n float64, a int) float64 {
	if n <= 0 {
		return 1
	}
	A := float64(max(a, 1))
	return n / (math.Ceil(n/A) * A)
}

// Comm is one of a scheme's communication patterns: a collective or a
// stream of Bytes (per die for a collective, per block for a stream).
type Comm struct {
	Kind  string  // "ar", "ag", "rs", "a2a", "ring", "relay"
	Bytes float64 // collective: the whole tensor each die ends with or starts from; stream: one block
	// Reduce marks a stream of partial sums (each die adds into the block
	// it forwards).
	Reduce bool
	// ForGrad marks an all-gather whose tensor only the weight gradient
	// reads (sequence parallelism's input in the backward pass): it can
	// run beside the data gradient (see Pass.Grad).
	ForGrad bool
}

// Pass is one die's part of one pass (forward or backward) of one layer of
// one micro-batch in a scheme: its kernels and its communication.
type Pass struct {
	// Kernel is every kernel of the pass, every stream round included.
	Kernel Kernel
	// Comms are the collectives, in order: all-gathers run before the
	// kernels, all-reduces and reduce-scatters after.
	Comms []Comm
	// Streams are a streamed pass's streams, one after another.
	Streams []Stream
	// Overlap says the collectives run beside the kernels (FSDP prefetches
	// the next gather) instead of before or after them.
	Overlap bool
	// Grad is the weight-gradient part of a backward Kernel, which
	// Megatron-LM runs after the data gradient, beside the data
	// gradient's reduction (and ForGrad gathers beside the data gradient
	// itself); zero when the pass has none to overlap.
	Grad Kernel
	// KV counts the K/V slice multicasts (and gradient reductions) of a
	// heads-split attention whose dies read K/V heads other dies hold.
	KV int
}

// Phases sorts the pass's collectives (indexes into Comms) by when they
// run against its kernels: before them, the all-gathers whose tensors the
// kernels read; beside the data gradient, the all-gathers only the weight
// gradient reads (ForGrad, see Grad); after them, the reductions. Pricing
// and lowering both schedule by it.
func (ps Pass) Phases() (before, beside, after []int) {
	for i, c := range ps.Comms {
		switch {
		case c.Kind == "ag" && c.ForGrad:
			beside = append(beside, i)
		case c.Kind == "ag":
			before = append(before, i)
		default:
			after = append(after, i)
		}
	}
	return before, beside, after
}

// Stream is one stream of P rounds: the round on the die's own block (read
// from HBM), then P−1 rounds on arriving blocks.
type Stream struct {
	Comm       Comm
	Own, Round Kernel
}

// Move is one die's data movement in one scheme of one op group, for one
// layer of one micro-batch.
type Move struct {
	Scheme   partition.Scheme
	Fwd, Bwd Pass
	// Block is a stream's block bytes; Resident says blocks land in SRAM.
	Block    float64
	Resident bool
	// Imbalance is how much more work the busiest die does than an even
	// share (uneven head or token splits).
	Imbalance float64
	// Degree is the dies of the sub-chains a stream runs on (DegreeMove);
	// zero when it runs on the whole group.
	Degree int
}

// StreamDies is how many dies a stream's blocks pass on a group of P.
func (mv *Move) StreamDies(P float64) float64 {
	if mv.Degree > 0 {
		return float64(mv.Degree)
	}
	return P
}

// DMAHBM is the HBM bytes a die's DMA moves for c on a group of P dies
// (an interior die of a relay's chain, which moves the most). A stream's
// die reads its own block to send it (twice for a relay, both ways);
// blocks that land in HBM are also written there on arrival (P−1) and
// read again to be forwarded (P−2 on a ring, whose last block stops;
// P−1 on a relay's interior die). Partial sums (Reduce) start in SRAM.
func (c Comm) DMAHBM(P float64, resident bool) float64 {
	if P <= 1 {
		return 0
	}
	share := (P - 1) / P * c.Bytes
	switch c.Kind {
	case "ag", "a2a":
		return 2 * share
	case "rs":
		return 3 * share
	case "ar":
		return 5 * share
	case "ring", "relay":
		var own float64
		if !(resident && c.Reduce) {
			own = c.ownSends() * c.Bytes
		}
		if resident {
			return own
		}
		return own + (P-1)*c.Bytes + c.forwards(P)*c.Bytes
	}
	return 0
}

// DMASRAM is the SRAM bytes a die's DMA writes and reads for c: a resident
// stream's arriving blocks, written there and read again to be forwarded.
func (c Comm) DMASRAM(P float64, resident bool) float64 {
	if !resident || P <= 1 || (c.Kind != "ring" && c.Kind != "relay") {
		return 0
	}
	return (P - 1 + c.forwards(P)) * c.Bytes
}

// ownSends is how many times a stream's die sends its own block: once
// round a ring, both ways along a relay's chain.
func (c Comm) ownSends() float64 {
	if c.Kind == "relay" {
		return 2
	}
	return 1
}

// forwards is how many arriving blocks a stream's die forwards: all but
// the last on a ring, all on a relay's interior die.
func (c Comm) forwards(P float64) float64 {
	if c.Kind == "relay" {
		return P - 1
	}
	return P - 2
}

// Resident reports whether blocks of bytes stream through SRAM on a die of
// s: three fit (six for a relay) in its stream share.
func Resident(s *wafer.Spec, relay bool, bytes float64) bool {
	n := 3.0
	if relay {
		n = 6
	}
	return n*bytes <= s.StreamSRAM()
}

// SchemeMove describes scheme sc of group grp on a group of P dies of s,
// for one layer of one micro-batch of tokens tokens (seq per sequence);
// per is that layer and micro-batch's share of the group's Work.
func SchemeMove(s *wafer.Spec, grp *partition.Group, sc partition.Scheme, P, per, tokens float64, seq int64) Move {
	return DegreeMove(s, grp, sc, P, 0, per, tokens, seq)
}

// DegreeMove is SchemeMove with a ring-w or relay-w stream on sub-chains
// of degree dies (0: the whole group): each die keeps its T/P tokens and
// one of degree weight column blocks, so a sub-chain computes its tokens'
// whole output in degree rounds while the others do theirs.
func DegreeMove(s *wafer.Spec, grp *partition.Group, sc partition.Scheme, P float64, degree int, per, tokens float64, seq int64) Move {
	T, K, N := tokens, float64(grp.K), float64(grp.N)
	mv := Move{Scheme: sc, Imbalance: 1, Degree: degree}
	R := P // the dies a stream's blocks pass: its rounds
	if degree > 0 {
		R = float64(degree)
	}
	gk := func(gs ...gemm) Kernel {
		var k Kernel
		for i, g := range gs {
			if i == 0 {
				k = g.kernel(s)
			} else {
				k = k.Plus(g.kernel(s))
			}
		}
		return k
	}
	// stream builds a streamed pass: one stream per round, each round one
	// or more GEMMs on the arriving block, which lives where its argument
	// says.
	stream := func(relay bool, block float64, comms []Comm, rnd ...func(w where) []gemm) Pass {
		mv.Block = block
		mv.Resident = Resident(s, relay, block)
		blk := inHBM
		if mv.Resident {
			blk = inSRAM
		}
		var ps Pass
		for i, r := range rnd {
			own := r(inHBM)
			for j := range own {
				own[j].stay = 0 // the stationary operand is loaded, the output written, in the own round
				if own[j].acc {
					own[j].c, own[j].first = blk, true
				}
			}
			st := Stream{Comm: comms[i], Own: gk(own...), Round: gk(r(blk)...)}
			k := st.Own.Plus(st.Round.Scale(R - 1))
			if i == 0 {
				ps.Kernel = k
			} else {
				ps.Kernel = ps.Kernel.Plus(k)
			}
			ps.Streams = append(ps.Streams, st)
		}
		return ps
	}
	one := func(f func(w where) gemm) func(w where) []gemm {
		return func(w where) []gemm { return []gemm{f(w)} }
	}
	Tp, Kp, Np := T/P, K/P, N/P
	x, y, w := 2*T*K, 2*T*N, 2*float64(grp.WeightElems) // the weight with its bias, as gathered and streamed
	switch sc {
	// A backward pass's second GEMM is the weight gradient (Pass.Grad).
	case partition.MegatronCol:
		mv.Fwd = Pass{Kernel: gk(gemm{M: T, K: K, N: Np})}
		mv.Bwd = Pass{Kernel: gk(gemm{M: T, K: Np, N: K}, gemm{M: K, K: T, N: Np}), Grad: gk(gemm{M: K, K: T, N: Np}),
			Comms: []Comm{{Kind: "ar", Bytes: x}}}
	case partition.MegatronRow:
		mv.Fwd = Pass{Kernel: gk(gemm{M: T, K: Kp, N: N}), Comms: []Comm{{Kind: "ar", Bytes: y}}}
		mv.Bwd = Pass{Kernel: gk(gemm{M: T, K: N, N: Kp}, gemm{M: Kp, K: T, N: N}), Grad: gk(gemm{M: Kp, K: T, N: N})}
	case partition.SPCol:
		mv.Fwd = Pass{Kernel: gk(gemm{M: T, K: K, N: Np}), Comms: []Comm{{Kind: "ag", Bytes: x}}}
		mv.Bwd = Pass{Kernel: gk(gemm{M: T, K: Np, N: K}, gemm{M: K, K: T, N: Np}), Grad: gk(gemm{M: K, K: T, N: Np}),
			Comms: []Comm{{Kind: "ag", Bytes: x, ForGrad: true}, {Kind: "rs", Bytes: x}}}
	case partition.SPRow:
		mv.Fwd = Pass{Kernel: gk(gemm{M: T, K: Kp, N: N}), Comms: []Comm{{Kind: "rs", Bytes: y}}}
		mv.Bwd = Pass{Kernel: gk(gemm{M: T, K: N, N: Kp}, gemm{M: Kp, K: T, N: N}), Grad: gk(gemm{M: Kp, K: T, N: N}),
			Comms: []Comm{{Kind: "ag", Bytes: y}}}
	case partition.FSDP:
		mv.Fwd = Pass{Kernel: gk(gemm{M: Tp, K: K, N: N}), Comms: []Comm{{Kind: "ag", Bytes: w}}, Overlap: true}
		mv.Bwd = Pass{Kernel: gk(gemm{M: Tp, K: N, N: K}, gemm{M: K, K: Tp, N: N}), Comms: []Comm{{Kind: "ag", Bytes: w}, {Kind: "rs", Bytes: w}},
			Overlap: true}
	case partition.FSDPKeep:
		// FSDP2's reshard_after_forward=False: the weights gathered for
		// the forward pass stay for the backward, which only
		// reduce-scatters the gradient. The layers' prefetch chain, one
		// program for every layer, also gathers after the last forward
		// layer (lowering), one gather per micro-batch more than the
		// layers need: charged here, a share per layer.
		mv.Fwd = Pass{Kernel: gk(gemm{M: Tp, K: K, N: N}), Comms: []Comm{{Kind: "ag", Bytes: w * (1 + 1/float64(max(grp.Mult, 1)))}}, Overlap: true}
		mv.Bwd = Pass{Kernel: gk(gemm{M: Tp, K: N, N: K}, gemm{M: K, K: Tp, N: N}), Comms: []Comm{{Kind: "rs", Bytes: w}}, Overlap: true}
	case partition.RingW, partition.RelayW:
		k, relay := kindOf(sc), sc == partition.RelayW
		b, Nr := w/R, N/R
		mv.Fwd = stream(relay, b, []Comm{{Kind: k, Bytes: b}},
			one(func(wh where) gemm { return gemm{M: Tp, K: K, N: Nr, b: wh, stay: 'a'} }))
		mv.Bwd = stream(relay, b, []Comm{{Kind: k, Bytes: b}, {Kind: k, Bytes: b, Reduce: true}},
			one(func(wh where) gemm { return gemm{M: Tp, K: Nr, N: K, b: wh, stay: 'c'} }),            // dX with the weight block
			one(func(wh where) gemm { return gemm{M: K, K: Tp, N: Nr, c: wh, acc: true, stay: 'a'} })) // dW partial sums
	case partition.RingX, partition.RelayX:
		k, relay := kindOf(sc), sc == partition.RelayX
		b := x / P
		mv.Fwd = stream(relay, b, []Comm{{Kind: k, Bytes: b}},
			one(func(wh where) gemm { return gemm{M: Tp, K: K, N: Np, a: wh, stay: 'b'} }))
		mv.Bwd = stream(relay, b, []Comm{{Kind: k, Bytes: b, Reduce: true}, {Kind: k, Bytes: b}},
			one(func(wh where) gemm { return gemm{M: Tp, K: Np, N: K, c: wh, acc: true, stay: 'b'} }), // dX partial sums
			one(func(wh where) gemm { return gemm{M: K, K: Tp, N: Np, a: wh, stay: 'c'} }))            // dW with the input block
	case partition.RingY, partition.RelayY:
		// Y's partial sums stream: each die holds X's columns and W's rows
		// for its share of K and adds, each round, its share of one token
		// block's output to the partial sum passing by (a streamed
		// reduce-scatter). The backward streams dY's token blocks once, each
		// round computing that block's dX columns and adding its share to
		// the die's dW rows.
		k, relay := kindOf(sc), sc == partition.RelayY
		b := y / P
		mv.Fwd = stream(relay, b, []Comm{{Kind: k, Bytes: b, Reduce: true}},
			one(func(wh where) gemm { return gemm{M: Tp, K: Kp, N: N, c: wh, acc: true, stay: 'b'} }))
		mv.Bwd = stream(relay, b, []Comm{{Kind: k, Bytes: b}},
			func(wh where) []gemm {
				return []gemm{{M: Tp, K: N, N: Kp, a: wh, stay: 'b'}, // dX rows of the block, with the die's W rows
					{M: Kp, K: Tp, N: N, b: wh, stay: 'c'}} // dW rows, accumulated over the rounds
			})
	case partition.Heads, partition.RingSeq, partition.Vocab, partition.VocabSP, partition.Batch:
		return graphMove(s, grp, sc, P, per, tokens, seq)
	default:
		panic("costmodel: no data movement for scheme " + sc.String())
	}
	// The graph's FLOPs (a fused bias included), the shapes' efficiency;
	// and at least the graph's bytes (a bias is read and its gradient
	// written besides the GEMM's operands).
	W := &grp.Work
	mv.Fwd.setFLOPs(W.FwdFLOPs * per / P)
	mv.Bwd.setFLOPs(W.BwdFLOPs * per / P)
	mv.Fwd.floorBytes(W.FwdHBM * per / P)
	mv.Bwd.floorBytes(W.BwdHBM * per / P)
	return mv
}

// floorBytes makes the pass's kernels move at least b bytes, reading the
// shortfall from HBM in its first kernel (a stream's own round).
func (ps *Pass) floorBytes(b float64) {
	short := b - ps.Kernel.HBM() - ps.Kernel.SRAM
	if short <= 0 {
		return
	}
	ps.Kernel.HBMRead += short
	if len(ps.Streams) > 0 {
		ps.Streams[0].Own.HBMRead += short
	}
}

// setFLOPs makes the pass's kernels do f FLOPs in all, each kernel its
// share.
func (ps *Pass) setFLOPs(f float64) {
	if ps.Kernel.FLOPs <= 0 {
		return
	}
	r := f / ps.Kernel.FLOPs
	ps.Kernel.FLOPs = f
	for i := range ps.Streams {
		ps.Streams[i].Own.FLOPs *= r
		ps.Streams[i].Round.FLOPs *= r
	}
}

// graphMove describes the schemes whose kernels are not GEMMs: attention
// and embedding lookups, with the graph's FLOPs and HBM bytes.
func graphMove(s *wafer.Spec, grp *partition.Group, sc partition.Scheme, P, per, tokens float64, seq int64) Move {
	W := &grp.Work
	mv := Move{Scheme: sc, Imbalance: 1}
	eff := s.Kernel.AttentionEfficiency
	if grp.Kind == partition.Embedding {
		eff = 1
	}
	share := func(flops, hbm float64) Kernel {
		return Kernel{FLOPs: flops * per / P * mv.Imbalance, Efficiency: eff, HBMRead: hbm * per / P * mv.Imbalance}
	}
	y := 2 * tokens * float64(grp.N)
	switch sc {
	case partition.Heads:
		mv.Imbalance = imbalance(grp.Heads, P)
		mv.Fwd = Pass{Kernel: share(W.FwdFLOPs, W.FwdHBM), KV: 1}
		mv.Bwd = Pass{Kernel: share(W.BwdFLOPs, W.BwdHBM), KV: 2}
		if partition.KVShare(grp.Heads, grp.KVHeads, grp.HeadDim, int64(P)) == nil {
			mv.Fwd.KV, mv.Bwd.KV = 0, 0
		}
	case partition.Batch:
		// Whole sequences per die: local attention, no communication.
		mv.Fwd = Pass{Kernel: share(W.FwdFLOPs, W.FwdHBM)}
		mv.Bwd = Pass{Kernel: share(W.BwdFLOPs, W.BwdHBM)}
	case partition.RingSeq:
		mv.Imbalance = imbalance(seq, P)
		kv := 2 * (tokens / P) * mv.Imbalance * 2 * float64(grp.KVHeads*grp.HeadDim) // K and V of ⌈S/P⌉ tokens
		mv.Block, mv.Resident = kv, Resident(s, false, kv)
		// Each round is a flash pass over one K/V block: the graph's bytes
		// (Q, O and the die's own K/V) are spread over the rounds, and
		// every arriving block is read where it landed.
		f, b := share(W.FwdFLOPs, W.FwdHBM), share(W.BwdFLOPs, W.BwdHBM)
		streamOf := func(k Kernel, c Comm) Stream {
			own, round := k.Scale(1/P), k.Scale(1/P)
			if mv.Resident {
				round.SRAM += kv
			} else {
				round.HBMRead += kv
			}
			return Stream{Comm: c, Own: own, Round: round}
		}
		total := func(sts ...Stream) Kernel {
			var k Kernel
			for i, st := range sts {
				sk := st.Own.Plus(st.Round.Scale(P - 1))
				if i == 0 {
					k = sk
				} else {
					k = k.Plus(sk)
				}
			}
			return k
		}
		fs := streamOf(f, Comm{Kind: "ring", Bytes: kv})
		mv.Fwd = Pass{Kernel: total(fs), Streams: []Stream{fs}}
		b1, b2 := streamOf(b.Scale(0.5), Comm{Kind: "ring", Bytes: kv}), streamOf(b.Scale(0.5), Comm{Kind: "ring", Bytes: kv, Reduce: true})
		mv.Bwd = Pass{Kernel: total(b1, b2), Streams: []Stream{b1, b2}}
	case partition.Vocab, partition.VocabSP:
		// A die looks up the rows it holds and writes the whole partial
		// output (zeros elsewhere) for the reduction; backward reads the
		// whole gradient and updates its rows.
		red := "ar"
		if sc == partition.VocabSP {
			red = "rs"
		}
		rest := y * (P - 1) / P // the part of the output or gradient beyond a die's share
		mv.Fwd = Pass{Kernel: Kernel{FLOPs: W.FwdFLOPs * per / P, Efficiency: 1, HBMRead: W.FwdHBM * per / P, HBMWrite: rest},
			Comms: []Comm{{Kind: red, Bytes: y}}}
		mv.Bwd = Pass{Kernel: Kernel{FLOPs: W.BwdFLOPs * per / P, Efficiency: 1, HBMRead: W.BwdHBM*per/P + rest}}
		if sc == partition.VocabSP {
			mv.Bwd.Comms = []Comm{{Kind: "ag", Bytes: y}}
		}
	}
	return mv
}

// imbalance is ⌈n/P⌉/(n/P): how much longer the busiest die works than an
// even share when n heads or tokens are dealt to P dies.
func imbalance(n int64, P float64) float64 {
	p := int64(P)
	if n <= 0 || p <= 0 {
		return 1
	}
	return float64((n+p-1)/p*p) / float64(n)
}
