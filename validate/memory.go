package validate

import (
	"fmt"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// The memory classes run with the die's HBM port, SRAM and DMA modelled
// (Case.Memory): the kernels and streams are the ones the planner emits,
// from costmodel.SchemeMove.

// benchmarkModels are the six models of the README's figures.
var benchmarkModels = []string{"gpt3-6.7b", "gpt3-76b", "gpt3-175b", "llama2-13b", "llama3-70b", "opt-175b"}

// groupsOf builds model's strategy space on s at the batch and sequence
// given, micro-batches of micro sequences, and returns its op groups (the
// slice shapes come from them).
func groupsOf(model string, s *wafer.Spec, batch, seq int64, micro int) ([]partition.Group, error) {
	g, err := frontend.Load(model, frontend.Options{Batch: batch, Seq: seq})
	if err != nil {
		return nil, err
	}
	sp, err := partition.Build(g, s, partition.Config{MicroBatches: []int{micro}, Recompute: []partition.Recompute{partition.NoRecompute},
		ZeRO: []bool{false}})
	if err != nil {
		return nil, err
	}
	return sp.Groups, nil
}

// kernelCase is one kernel on one die, alone: the tiled engine and HBM
// port against the cost model's time of the kernel. Both take the kernel's
// bytes and efficiency from costmodel.SchemeMove, so the class checks how
// the engine turns them into time (its pipeline), not the traffic model —
// which the closed-form tests of costmodel check.
func kernelCase(s *wafer.Spec, name string, k costmodel.Kernel) Case {
	return Case{Class: "compute", Name: name, Spec: s, Memory: true,
		Build:    func(p *plan.Program) { lower.AddKernel(p, name, 0, k) },
		Analytic: func(m *costmodel.Model) (float64, error) { return m.KernelSeconds(k, 0), nil }}
}

// computes: the kernels of every op kind of the six benchmark models at
// micro-batch 4, on the whole wafer's 48 dies for the 175B-class models
// (as their plans run) and on 6 dies for the others (their plans use 3 to
// 16): each group's forward and backward kernels in a direct scheme, a
// stream round in a streamed one, attention split by heads and over the
// sequence, and the embedding lookup.
func computes(s *wafer.Spec, models []string) ([]Case, error) {
	var cs []Case
	for _, model := range models {
		groups, err := groupsOf(model, s, 128, 2048, 4)
		if err != nil {
			return nil, err
		}
		P := 6.0
		if len(groups) > 0 && groups[0].N >= 12288 { // the 175B-class models run on the whole wafer
			P = 48
		}
		for gi := range groups {
			grp := &groups[gi]
			per := 4.0 / 128 / float64(grp.Mult)
			var schemes []partition.Scheme
			switch grp.Kind {
			case partition.GEMM:
				schemes = []partition.Scheme{partition.MegatronCol, partition.SPRow, partition.FSDP, partition.RingW, partition.RingX, partition.RingY}
			case partition.Attention:
				schemes = []partition.Scheme{partition.Heads, partition.RingSeq}
			case partition.Embedding:
				schemes = []partition.Scheme{partition.VocabSP}
			}
			for _, sc := range schemes {
				mv := costmodel.SchemeMove(s, grp, sc, P, per, 4*2048, 2048)
				for _, ps := range []struct {
					name string
					pass costmodel.Pass
				}{{"fwd", mv.Fwd}, {"bwd", mv.Bwd}} {
					name := fmt.Sprintf("%s-%s-%s-%s-p%d", model, grp.Key, sc, ps.name, int(P))
					if len(ps.pass.Streams) > 0 {
						cs = append(cs, kernelCase(s, name+"-round", ps.pass.Streams[0].Round))
					} else {
						cs = append(cs, kernelCase(s, name, ps.pass.Kernel))
					}
				}
			}
		}
	}
	return cs, nil
}

// hbms: a collective through HBM beside a kernel on every die of a group,
// the two competing for each die's HBM port, as FSDP's prefetched gather
// runs beside its GEMM: 8 to 48 dies, an HBM-bound and a compute-bound
// kernel, a gather, a reduce-scatter and an all-reduce.
func hbms(s *wafer.Spec) []Case {
	var cs []Case
	for _, r := range []wafer.Rect{{Rows: 2, Cols: 4}, {Rows: 4, Cols: 4}, {Rows: 3, Cols: 8}, {Rows: 6, Cols: 8}} {
		if !s.Contains(r) {
			continue
		}
		order, _ := ring(s, r)
		rings := [][]wafer.DieID{order}
		for _, kd := range []struct {
			name string
			k    costmodel.Kernel
		}{
			// 200 MB through the port (0.2 ms) against 0.07 ms of compute,
			// and the other way round.
			{"hbm-bound", costmodel.Kernel{FLOPs: 1e11, Efficiency: 0.8, HBMRead: 150e6, HBMWrite: 50e6}},
			{"compute-bound", costmodel.Kernel{FLOPs: 5e11, Efficiency: 0.8, HBMRead: 30e6, HBMWrite: 10e6}},
		} {
			for _, ck := range collectiveKinds {
				const bytes = 64 * mib
				k := kd.k
				cm := costmodel.Comm{Kind: map[string]string{"allreduce": "ar", "allgather": "ag", "reducescatter": "rs"}[ck.name], Bytes: bytes}
				cs = append(cs, Case{Class: "hbm", Name: fmt.Sprintf("%s-%s-%dx%d", ck.name, kd.name, r.Rows, r.Cols), Spec: s, Memory: true,
					Build: func(p *plan.Program) {
						for _, d := range order {
							lower.AddKernel(p, "kernel", d, k)
						}
						ck.build(p, rings, bytes)
					},
					Analytic: func(m *costmodel.Model) (float64, error) {
						c, err := ck.analytic(m, rings, bytes)
						return m.Overlap(k, []costmodel.Cost{c}, []float64{cm.DMAHBM(float64(len(order)), false)}), err
					}})
			}
		}
	}
	return cs
}

// largeStreams: the TSPP ring and the TATP relay of gpt3-175b's attn.qkv
// and mlp.up on 24 and 48 dies, every stream of both passes as the planner
// lowers it — weight blocks (18.9 to 50 MB) that land in HBM, activation
// blocks (4.2 to 8.4 MB) in SRAM where three (six for a relay) fit.
func largeStreams(s *wafer.Spec) ([]Case, error) {
	groups, err := groupsOf("gpt3-175b", s, 128, 2048, 4)
	if err != nil {
		return nil, err
	}
	var cs []Case
	for _, r := range []wafer.Rect{{Rows: 3, Cols: 8}, {Rows: 6, Cols: 8}} {
		if !s.Contains(r) {
			continue
		}
		cycle, ok := s.Cycle(r)
		if !ok {
			return nil, fmt.Errorf("validate: %dx%d of %s has no Hamiltonian cycle", r.Rows, r.Cols, s.Name)
		}
		chain := s.Snake(r)
		for gi := range groups {
			grp := &groups[gi]
			// Column GEMMs stream weights or inputs; the row GEMM after the
			// MLP streams its output's partial sums.
			var schemes []partition.Scheme
			switch grp.Key {
			case "block/attn.qkv", "block/mlp.up":
				schemes = []partition.Scheme{partition.RingW, partition.RelayW, partition.RingX, partition.RelayX}
			case "block/mlp.down":
				schemes = []partition.Scheme{partition.RingY, partition.RelayY}
			}
			per := 4.0 / 128 / float64(grp.Mult)
			for _, sc := range schemes {
				mv := costmodel.SchemeMove(s, grp, sc, float64(r.Size()), per, 4*2048, 2048)
				where := map[bool]string{true: "sram", false: "hbm"}[mv.Resident]
				for pi, ps := range []costmodel.Pass{mv.Fwd, mv.Bwd} {
					for i, st := range ps.Streams {
						name := fmt.Sprintf("%s-%s-%s%d-%dx%d-%s", grp.Key, sc, []string{"fwd", "bwd"}[pi], i, r.Rows, r.Cols, where)
						cs = append(cs, streamCase(s, name, st.Comm.Kind == "relay", cycle, chain, st, mv))
					}
				}
			}
		}
	}
	return cs, nil
}

// streamCase is one stream st of a scheme's data movement mv: a relay on
// chain or a ring on cycle, lowered as the planner lowers it and priced
// as the planner prices it (a round's kernel sharing the HBM port with its
// blocks' DMA; paced, as the planner prices every stream).
func streamCase(s *wafer.Spec, name string, relay bool, cycle, chain []wafer.DieID, st costmodel.Stream, mv costmodel.Move) Case {
	groups := [][]wafer.DieID{cycle}
	if relay {
		groups = [][]wafer.DieID{chain}
	}
	return streamsCase(s, name, relay, groups, st, mv)
}

// streamsCase is streamCase on several rings or chains at once (a relay
// on sub-chains): they run concurrently, each of their own dies.
func streamsCase(s *wafer.Spec, name string, relay bool, groups [][]wafer.DieID, st costmodel.Stream, mv costmodel.Move) Case {
	spec := lower.StreamSpec{Block: int64(mv.Block), Own: st.Own, Round: st.Round, Resident: mv.Resident, Reduce: st.Comm.Reduce}
	P := float64(len(groups[0]))
	return Case{Class: "stream-large", Name: name, Spec: s, Memory: true,
		Build: func(p *plan.Program) {
			if relay {
				lower.RelayStream(p, groups, spec)
			} else {
				lower.RingStream(p, groups, spec)
			}
		},
		Analytic: func(m *costmodel.Model) (float64, error) {
			own, round := m.RoundSeconds(st, P, mv.Resident)
			o := costmodel.StreamOrder{Relay: relay, Paced: true, Reduce: st.Comm.Reduce}
			if !mv.Resident {
				o.MinHop = m.HBMHop(float64(spec.Block))
			}
			c, err := m.StreamRounds(groups, o, float64(spec.Block), own, round)
			return c.Seconds, err
		}}
}
