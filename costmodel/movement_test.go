package costmodel

import (
	"math"
	"testing"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// tiled is the kernel rule by brute force, an oracle for gemm.reads:
// every output tile m×n in whole array tiles (or the whole dimension)
// whose fp32 accumulators fit temp48's GEMM share of SRAM, and either
// operand resident beside a one-array-tile strip; the least HBM bytes,
// then the least bytes in all. aHBM and bHBM say where A (M×K) and B
// (K×N) live; it returns A's and B's bytes read.
func tiled(s *wafer.Spec, M, K, N float64, aHBM, bHBM bool) (aBytes, bBytes float64) {
	G := s.Die.SRAMBytes * s.Kernel.GEMMSRAMFraction
	at := float64(s.Kernel.ArrayTile)
	sides := func(n float64) []float64 {
		var out []float64
		for x := at; x < n; x += at {
			out = append(out, x)
		}
		return append(out, n)
	}
	A, B := 2*M*K, 2*K*N
	bestH, bestT := math.Inf(1), math.Inf(1)
	try := func(x, y float64) {
		t, h := A*x+B*y, 0.0
		if aHBM {
			h += A * x
		}
		if bHBM {
			h += B * y
		}
		if h < bestH || h == bestH && t < bestT {
			bestH, bestT, aBytes, bBytes = h, t, A*x, B*y
		}
	}
	for _, m := range sides(M) {
		for _, n := range sides(N) {
			if 4*m*n <= G {
				try(math.Ceil(N/n), math.Ceil(M/m))
			}
		}
	}
	if B+4*min(M, at)*N <= G || A+4*M*min(N, at) <= G {
		try(1, 1)
	}
	return aBytes, bBytes
}

// TestTilingBruteForce: gemm.reads, which searches tile widths only,
// reads what the brute-force oracle over every tile does, on shapes from
// one array tile to wider than SRAM holds, both operands in HBM or one in
// SRAM.
func TestTilingBruteForce(t *testing.T) {
	s, _ := wafer.Preset("temp48")
	dims := []float64{128, 8192.0 / 48, 256, 768, 3072, 5000, 12288, 36864}
	for _, M := range dims {
		for _, K := range []float64{256, 12288} {
			for _, N := range dims {
				for _, w := range [][2]where{{inHBM, inHBM}, {inSRAM, inHBM}, {inHBM, inSRAM}, {inSRAM, inSRAM}} {
					g := gemm{M: M, K: K, N: N, a: w[0], b: w[1]}
					ra, rb := g.reads(s, w[0], w[1])
					wa, wb := tiled(s, M, K, N, w[0] == inHBM, w[1] == inHBM)
					// Equal tilings may split their reads differently
					// (A thrice and B once, or the other way round):
					// compare the bytes by where they are read.
					split := func(a, b float64) (hbm, sram float64) {
						for _, x := range []struct {
							bytes float64
							w     where
						}{{a, w[0]}, {b, w[1]}} {
							if x.w == inHBM {
								hbm += x.bytes
							} else {
								sram += x.bytes
							}
						}
						return hbm, sram
					}
					gh, gs := split(2*M*K*ra, 2*K*N*rb)
					wh, ws := split(wa, wb)
					if math.Abs(gh-wh) > 1e-9*wh || math.Abs(gs-ws) > 1e-9*max(ws, 1) {
						t.Errorf("%g×%g×%g %v: reads %g bytes from HBM and %g from SRAM, brute force %g and %g", M, K, N, w, gh, gs, wh, ws)
					}
				}
			}
		}
	}
	// The weight-stationary case the rule exists for: gpt3-6.7b's qkv on
	// 4 dies (K 4,096, N 3,072), 16,384 tokens: the 25 MB weight stays
	// resident and is read once, where the square tile read it six times.
	g := gemm{M: 16384, K: 4096, N: 3072}
	if ra, rb := g.reads(s, inHBM, inHBM); ra != 1 || rb != 1 {
		t.Errorf("qkv reads A %g and B %g times, want once each", ra, rb)
	}
}

// TestSchemeMoveClosedForms derives, by hand, every GEMM scheme's forward
// kernel bytes and DMA bytes per die for gpt3-175b's attn.qkv (K 12,288,
// N 36,864) on a 6×8 group of temp48, micro-batch 4 (T = 8,192 tokens).
// temp48's GEMM tile is 3,072 (37.7 MB of fp32 accumulators), its stream
// SRAM 40 MB: three W blocks of 18.9 MB do not fit it, six x blocks of
// 4.2 MB do.
// The GEMM of the closed-form tests: gpt3-175b's attn.qkv, micro-batch 4,
// on 48 dies of temp48, whose output tiles have side 3,072.
const (
	qkvT, qkvK, qkvN, qkvP = 8192.0, 12288.0, 36864.0, 48.0
	qkvTile                = 3072.0
)

// qkvGroup is that GEMM as an op group for one layer of one micro-batch
// (per = 1), its Work the GEMM's FLOPs and no bytes (so that no floor
// applies).
func qkvGroup() (*wafer.Spec, *partition.Group) {
	s, _ := wafer.Preset("temp48")
	T, K, N := qkvT, qkvK, qkvN
	return s, &partition.Group{Kind: partition.GEMM, K: int64(K), N: int64(N), WeightElems: int64(K * N),
		Work: partition.Work{FwdFLOPs: 2 * T * K * N, BwdFLOPs: 4 * T * K * N}}
}

func TestSchemeMoveClosedForms(t *testing.T) {
	s, grp := qkvGroup()
	const T, K, N, P = qkvT, qkvK, qkvN, qkvP
	// both is a GEMM's operand bytes read with both in HBM; part its
	// operands' bytes read apart, each where it lives (true: HBM).
	both := func(M, K, N float64) float64 { a, b := tiled(s, M, K, N, true, true); return a + b }
	part := func(M, K, N float64, aHBM, bHBM bool) (float64, float64) { return tiled(s, M, K, N, aHBM, bHBM) }
	Tp, Kp, Np := T/P, K/P, N/P
	wBlock, xBlock := 2*K*N/P, 2*T*K/P
	_, wLater := part(Tp, K, Np, false, true) // ring-w's later rounds: X/P in SRAM, W blocks from HBM
	xLater, _ := part(Tp, K, Np, false, true)
	xIn, wIn := part(Tp, K, Np, false, false) // ring-x's later rounds: both in SRAM
	yA0, yB0 := part(Tp, Kp, N, true, true)   // ring-y's own round
	yA1, yB1 := part(Tp, Kp, N, true, false)  // and later rounds: W rows kept in SRAM
	share := (P - 1) / P
	type want struct {
		read, write, sram, dma float64
	}
	tests := []struct {
		s    partition.Scheme
		want want
	}{
		// X whole and W's columns; an all-reduce only backward.
		{partition.MegatronCol, want{both(T, K, Np), 2 * T * Np, 0, 0}},
		// X's columns, W's rows, the whole partial Y, then its all-reduce
		// (each chunk sent, received and added: 5(P−1)/P of Y).
		{partition.MegatronRow, want{both(T, Kp, N), 2 * T * N, 0, 5 * share * 2 * T * N}},
		// Megatron-col after gathering X (sent and received: 2(P−1)/P).
		{partition.SPCol, want{both(T, K, Np), 2 * T * Np, 0, 2 * share * 2 * T * K}},
		{partition.SPRow, want{both(T, Kp, N), 2 * T * N, 0, 3 * share * 2 * T * N}},
		// A token slice times the whole gathered weight.
		{partition.FSDP, want{both(Tp, K, N), 2 * Tp * N, 0, 2 * share * 2 * K * N}},
		// 48 rounds of X/P times a W block: three W blocks (56.6 MB) do not
		// fit the stream SRAM, so each arriving block is written by the DMA,
		// read by the kernel and read again to be forwarded; X/P (4.2 MB)
		// stays in SRAM beside the 171×768 output tile after the own round.
		{partition.RingW, want{both(Tp, K, Np) + (P-1)*wLater, P * 2 * Tp * Np,
			(P - 1) * xLater, 2 * (P - 1) * wBlock}},
		// A relay's interior die sends its own block both ways and
		// forwards every block it receives.
		{partition.RelayW, want{both(Tp, K, Np) + (P-1)*wLater, P * 2 * Tp * Np,
			(P - 1) * xLater, 2 * P * wBlock}},
		// X blocks stream past the die's W columns, which stay in SRAM
		// (18.9 MB beside the output tile).
		{partition.RingX, want{both(Tp, K, Np), P * 2 * Tp * Np, (P - 1) * (xIn + wIn), xBlock}},
		{partition.RelayX, want{both(Tp, K, Np), P * 2 * Tp * Np, (P - 1) * (xIn + wIn), 2 * xBlock}},
		// Y's partial sums (three blocks of 12.6 MB fit the stream SRAM)
		// pass the die's W rows (18.9 MB, kept in SRAM after the own
		// round): every round reads a token block of the die's X columns
		// from HBM and adds into the block in SRAM; the own round starts
		// its block there and the finished sum is written to HBM once. A
		// partial sum in SRAM needs no DMA through HBM.
		{partition.RingY, want{yA0 + yB0 + (P-1)*yA1, 2 * Tp * N,
			2*Tp*N + (P-1)*(yB1+4*Tp*N), 0}},
	}
	for _, tc := range tests {
		mv := SchemeMove(s, grp, tc.s, P, 1, T, 2048)
		k := mv.Fwd.Kernel
		var dma float64
		for _, cm := range mv.Fwd.Comms {
			dma += cm.DMAHBM(P, false)
		}
		for _, st := range mv.Fwd.Streams {
			dma += st.Comm.DMAHBM(P, mv.Resident)
		}
		got := want{k.HBMRead, k.HBMWrite, k.SRAM, dma}
		for _, f := range []struct {
			name      string
			got, want float64
		}{{"HBM read", got.read, tc.want.read}, {"HBM write", got.write, tc.want.write},
			{"SRAM", got.sram, tc.want.sram}, {"DMA HBM", got.dma, tc.want.dma}} {
			if math.Abs(f.got-f.want) > 1e-9*max(1, f.want) {
				t.Errorf("%s: %s %.6g bytes, closed form %.6g", tc.s, f.name, f.got, f.want)
			}
		}
		if k.FLOPs != 2*T*K*N/P {
			t.Errorf("%s: %g FLOPs, want 2TKN/P", tc.s, k.FLOPs)
		}
		// Every shape here is a multiple of the array tile but Tp (170.7 of
		// 256 for the token-split schemes).
		wantEff := 0.8
		switch tc.s {
		case partition.FSDP, partition.RingW, partition.RelayW, partition.RingX, partition.RelayX, partition.RingY:
			wantEff = 0.8 * Tp / 256
		}
		if math.Abs(k.Efficiency-wantEff) > 1e-12 {
			t.Errorf("%s: efficiency %.6g, want %.6g", tc.s, k.Efficiency, wantEff)
		}
	}
}

// TestSchemeMoveBackward derives two backward passes of the same GEMM by
// hand: megatron-col (dX = dY·Wᵀ into a whole partial dX, then its
// all-reduce; dW = Xᵀ·dY), and ring-x, whose dX partial sums circulate in
// SRAM beside the die's W columns (kept: 18.9 MB plus a 171×3,072 tile)
// while the X blocks of a second stream meet the die's dY rows, its dW
// accumulator (37.7 MB of fp32 plus a 3,072×768 tile) too large to keep.
func TestSchemeMoveBackward(t *testing.T) {
	s, grp := qkvGroup()
	const T, K, N, P = qkvT, qkvK, qkvN, qkvP
	part := func(M, K, N float64, aHBM, bHBM bool) (float64, float64) { return tiled(s, M, K, N, aHBM, bHBM) }
	both := func(M, K, N float64) float64 { a, b := part(M, K, N, true, true); return a + b }
	Tp, Np := T/P, N/P
	// megatron-col: dX (M T, K Np, N K) and dW (M K, K T, N Np).
	col := SchemeMove(s, grp, partition.MegatronCol, P, 1, T, 2048).Bwd
	read := both(T, Np, K) + both(K, T, Np)
	write := 2*T*K + 2*K*Np
	if k := col.Kernel; math.Abs(k.HBMRead-read) > 1 || math.Abs(k.HBMWrite-write) > 1 || k.SRAM != 0 {
		t.Errorf("megatron-col backward reads %.6g, writes %.6g, SRAM %.6g; closed form %.6g, %.6g, 0", k.HBMRead, k.HBMWrite, k.SRAM, read, write)
	}
	if dma := col.Comms[0].DMAHBM(P, false); len(col.Comms) != 1 || math.Abs(dma-5*(P-1)/P*2*T*K) > 1 {
		t.Errorf("megatron-col backward communicates %+v (%.6g DMA bytes), want one all-reduce of dX", col.Comms, dma)
	}
	// ring-x: stream 0 (dX partial sums, M Tp, K Np, N K) and stream 1 (dW,
	// M K, K Tp, N Np with A the X block).
	rx := SchemeMove(s, grp, partition.RingX, P, 1, T, 2048)
	if !rx.Resident || len(rx.Bwd.Streams) != 2 || !rx.Bwd.Streams[0].Comm.Reduce {
		t.Fatalf("ring-x backward: resident %v, streams %+v", rx.Resident, rx.Bwd.Streams)
	}
	dX, dW := 2*Tp*K, 2*K*Np
	dY0, W0 := part(Tp, Np, K, true, true) // stream 0, own round and later (W kept in SRAM)
	dY1, W1 := part(Tp, Np, K, true, false)
	X0, dYr0 := part(K, Tp, Np, true, true) // stream 1, own round and later (X blocks in SRAM)
	X1, dYr1 := part(K, Tp, Np, false, true)
	// Own rounds load their operands from HBM; the dX partial sum starts
	// in SRAM (nothing read) and its finished value is written to HBM
	// once. Later rounds read dY rows from HBM and the rest from SRAM, and
	// write dW.
	read = (dY0 + W0) + (X0 + dYr0) + (P-1)*(dY1+dYr1)
	write = dX + dW + (P-1)*dW
	sram := dX + (P-1)*(W1+2*dX+X1)
	if k := rx.Bwd.Kernel; math.Abs(k.HBMRead-read) > 1 || math.Abs(k.HBMWrite-write) > 1 || math.Abs(k.SRAM-sram) > 1 {
		t.Errorf("ring-x backward reads %.6g, writes %.6g, SRAM %.6g; closed form %.6g, %.6g, %.6g", k.HBMRead, k.HBMWrite, k.SRAM, read, write, sram)
	}
	// The partial sums start in SRAM: no DMA through HBM; the X blocks'
	// own block is read once.
	if d0, d1 := rx.Bwd.Streams[0].Comm.DMAHBM(P, true), rx.Bwd.Streams[1].Comm.DMAHBM(P, true); d0 != 0 || d1 != 2*T*K/P {
		t.Errorf("ring-x backward DMA %.6g and %.6g bytes, want 0 and one block", d0, d1)
	}
	// ring-y: one stream of dY token blocks (M Tp, K N, N Kp for dX with
	// the die's W rows kept in SRAM; M Kp, K Tp, N N for dW, whose
	// 37.7 MB accumulator does not fit beside its tile, so every round
	// writes it).
	ry := SchemeMove(s, grp, partition.RingY, P, 1, T, 2048)
	if !ry.Resident || len(ry.Bwd.Streams) != 1 || ry.Bwd.Streams[0].Comm.Reduce || ry.Bwd.Kernel.FLOPs != 4*T*K*N/P {
		t.Fatalf("ring-y backward: resident %v, %g FLOPs, streams %+v", ry.Resident, ry.Bwd.Kernel.FLOPs, ry.Bwd.Streams)
	}
	Kp := K / P
	dYblk0, Wrows0 := part(Tp, N, Kp, true, true) // dX, own round and later (both in SRAM)
	dYblk1, Wrows1 := part(Tp, N, Kp, false, false)
	Xcols0, dYb0 := part(Kp, Tp, N, true, true) // dW, own round and later (the dY block in SRAM)
	Xcols1, dYb1 := part(Kp, Tp, N, true, false)
	read = (dYblk0 + Wrows0 + Xcols0 + dYb0) + (P-1)*Xcols1
	write = P * (2*Tp*Kp + 2*Kp*N)
	sram = (P - 1) * (dYblk1 + Wrows1 + dYb1)
	if k := ry.Bwd.Kernel; math.Abs(k.HBMRead-read) > 1 || math.Abs(k.HBMWrite-write) > 1 || math.Abs(k.SRAM-sram) > 1 {
		t.Errorf("ring-y backward reads %.6g, writes %.6g, SRAM %.6g; closed form %.6g, %.6g, %.6g", k.HBMRead, k.HBMWrite, k.SRAM, read, write, sram)
	}
}

// TestKernelPlus: two kernels run back to back take as long, at the
// combined efficiency, as each at its own.
func TestKernelPlus(t *testing.T) {
	a := Kernel{FLOPs: 3, Efficiency: 0.5, HBMRead: 1}
	b := Kernel{FLOPs: 1, Efficiency: 1, HBMWrite: 2, SRAM: 4}
	s := a.Plus(b)
	if s.FLOPs != 4 || s.HBM() != 3 || s.SRAM != 4 || math.Abs(s.FLOPs/s.Efficiency-(6+1)) > 1e-12 {
		t.Errorf("a+b = %+v", s)
	}
}

// TestSchemeTable prices gpt3-175b's attn.qkv in every scheme on temp48's
// whole-wafer group (dp1-6x8-mb4-none) and logs the per-scheme table the
// README shows (`go test ./costmodel -run TestSchemeTable -v`). It checks
// what the physics says must hold: activation streams that fit SRAM move
// less HBM than the schemes that read the whole activation or weight, and
// no scheme is free.
func TestSchemeTable(t *testing.T) {
	if testing.Short() {
		t.Skip("prices gpt3-175b")
	}
	g, err := frontend.Load("gpt3-175b", frontend.Options{Batch: 128, Seq: 2048})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := wafer.Preset("temp48")
	sp, err := partition.Build(g, s, partition.Config{MicroBatches: []int{4}, Recompute: []partition.Recompute{partition.NoRecompute},
		ZeRO: []bool{false}, MaxGroupDies: 48})
	if err != nil {
		t.Fatal(err)
	}
	li := -1
	for i, l := range sp.Layouts {
		if l.P() == 48 {
			li = i
		}
	}
	m, _ := New(s, Params{})
	tab, err := m.Price(sp)
	if err != nil {
		t.Fatal(err)
	}
	gi := -1
	for i, grp := range sp.Groups {
		if grp.Key == "block/attn.qkv" {
			gi = i
		}
	}
	if li < 0 || gi < 0 {
		t.Fatal("no 48-die layout or no attn.qkv group")
	}
	const gb = 1e9
	by := map[partition.Scheme]Price{}
	t.Logf("%-13s %9s %9s %9s %9s %9s", "scheme", "step s", "HBM GB", "SRAM GB", "link GB", "energy kJ")
	for _, o := range tab.Options[gi] {
		if !o.Valid[li] {
			continue
		}
		p := o.Price[li]
		by[o.Scheme] = p
		t.Logf("%-13s %9.4f %9.1f %9.1f %9.1f %9.2f", o.Scheme, p.Seconds, p.HBM/gb, p.SRAM/gb, p.Traffic/gb, p.Energy/1e3)
		if p.Seconds <= 0 || p.HBM <= 0 {
			t.Errorf("%s: %.4g s, %.4g HBM bytes", o.Scheme, p.Seconds, p.HBM)
		}
	}
	for _, other := range []partition.Scheme{partition.MegatronCol, partition.FSDP} {
		if by[partition.RingX].HBM >= by[other].HBM {
			t.Errorf("ring-x moves %.4g HBM bytes per die, %s %.4g: a resident stream should move less", by[partition.RingX].HBM, other, by[other].HBM)
		}
	}
}

// TestDegreeMoveClosedForm: relay-w on sub-chains of 8 of the 48 dies
// keeps each die's 171 tokens and streams one of 8 weight column blocks
// (113 MB: six do not fit the stream SRAM, so they land in HBM) in 8
// rounds; the die's X slice (4.2 MB) stays in SRAM after its own round.
// The FLOPs are the whole group's share, 2TKN/P, as on the whole group.
func TestDegreeMoveClosedForm(t *testing.T) {
	s, grp := qkvGroup()
	const T, K, N, P = qkvT, qkvK, qkvN, qkvP
	const d = 8.0
	Tp, Nd := T/P, N/d
	a0, b0 := tiled(s, Tp, K, Nd, true, true)  // the own round
	a1, b1 := tiled(s, Tp, K, Nd, false, true) // later: X/P kept in SRAM, the blocks from HBM
	mv := DegreeMove(s, grp, partition.RelayW, P, d, 1, T, 2048)
	if mv.Resident || mv.Block != 2*K*N/d || mv.StreamDies(P) != d {
		t.Fatalf("block %g bytes (resident %v) on %g dies, want %g in HBM on %g", mv.Block, mv.Resident, mv.StreamDies(P), 2*K*N/d, d)
	}
	k := mv.Fwd.Kernel
	read := a0 + b0 + (d-1)*b1
	write := 2 * Tp * N
	sram := (d - 1) * a1
	if math.Abs(k.HBMRead-read) > 1 || math.Abs(k.HBMWrite-write) > 1 || math.Abs(k.SRAM-sram) > 1 || k.FLOPs != 2*T*K*N/P {
		t.Errorf("relay-w/8 forward reads %.6g, writes %.6g, SRAM %.6g, %g FLOPs; closed form %.6g, %.6g, %.6g, %g",
			k.HBMRead, k.HBMWrite, k.SRAM, k.FLOPs, read, write, sram, 2*T*K*N/P)
	}
	// An interior die sends its own block both ways and forwards or
	// lands every other: 2·d blocks through its HBM port, as on the whole
	// group with P.
	if dma := mv.Fwd.Streams[0].Comm.DMAHBM(mv.StreamDies(P), mv.Resident); math.Abs(dma-2*d*mv.Block) > 1 {
		t.Errorf("relay-w/8 forward DMA %.6g bytes, want %.6g", dma, 2*d*mv.Block)
	}
	if whole := SchemeMove(s, grp, partition.RelayW, P, 1, T, 2048); whole.Degree != 0 || whole.Block != 2*K*N/P {
		t.Errorf("SchemeMove: degree %d, block %g; want the whole group's", whole.Degree, whole.Block)
	}
}
