package partition

import (
	"fmt"
	"slices"
	"strings"
)

// Config shapes the strategy space. The zero value means defaults.
type Config struct {
	// Family restricts the schemes (default Auto: all).
	Family Family
	// Baseline, when set, is a canonical baseline (Baselines: megatron1,
	// megatron3, fsdp, megatron-core): each group runs the scheme its
	// published code runs (megatron-core: with its overlapped form), and
	// the layouts are those its users tune (see the package doc). It
	// excludes Family, Allow, Deny and TPCommOverlap.
	Baseline Family
	// FlashAttention gives a Megatron baseline fused attention instead of
	// its code's unfused one (every other space computes attention fused).
	FlashAttention bool
	// UnfusedAttention makes attention materialise its score matrices
	// (Work.Scores). The Megatron baselines set it unless FlashAttention;
	// a plan records it, so that its work is checked against the same
	// space.
	UnfusedAttention bool
	// Unaliased gives every layer its own groups instead of one group per
	// block op shared by all layers.
	Unaliased bool
	// MicroBatches lists the micro-batch sizes to consider (default 1, 2,
	// 4, 8).
	MicroBatches []int
	// MicroBatchCount, when set, keeps only layouts whose DP groups each
	// run this many micro-batches per step, of batch/(DP·count) sequences
	// (instead of the sizes MicroBatches lists): the micro-batches of a
	// pipeline, which all its stages share.
	MicroBatchCount int
	// Recompute lists the recomputation modes (default all three).
	Recompute []Recompute
	// ZeRO lists whether to shard optimizer states across DP (default both).
	ZeRO []bool
	// Allow, when set, keeps only these schemes; Deny removes these (after
	// the family's restriction). The ablation's switches: without the
	// relay schemes the space's streams are TSPP's plain rings.
	Allow, Deny []Scheme
	// TPCommOverlap is Megatron-Core's --tp-comm-overlap (Transformer
	// Engine's user-buffer overlap) for the megatron3 family: a
	// sequence-parallel column GEMM may pipeline its input all-gather with
	// the GEMM in ring steps, each step multiplying the chunk a die holds
	// while the next arrives — the ring-x stream — and a row GEMM its
	// output reduce-scatter, each step's partial sums sent on while the
	// next chunk is computed — the ring-y stream. It adds ring-x wherever
	// sp-col is allowed, ring-y wherever sp-row is, and the solver picks
	// per group.
	TPCommOverlap bool
	// MaxGroupDies bounds the dies of one model-parallel group (default:
	// the whole wafer, at most DefaultMaxGroupDies).
	MaxGroupDies int

	// mbGiven says MicroBatches was given, not defaulted: with
	// MicroBatchCount, the micro-batch size the count makes must then be
	// one of them too.
	mbGiven bool
}

// DefaultMaxGroupDies caps the default model-parallel group: pricing a
// group's all-to-all routes its P·(P−1) flows, which on a 256×256 wafer's
// whole-wafer group (4.3e9 flows) exhausted memory before any time limit
// was looked at. It exceeds every wafer preset (temp48: 48 dies) and the
// largest tensor-parallel groups published; Config.MaxGroupDies (--max-group)
// raises it.
const DefaultMaxGroupDies = 256

// Validate rejects unknown families and empty or non-positive lists.
func (c Config) Validate() error {
	if c.Family != "" {
		if _, ok := familySchemes[c.Family]; !ok && c.Family != Auto {
			return fmt.Errorf("partition: unknown strategy family %q (want one of %v)", c.Family, Families)
		}
	}
	for _, mb := range c.MicroBatches {
		if mb <= 0 {
			return fmt.Errorf("partition: micro-batch %d must be positive", mb)
		}
	}
	if c.MicroBatchCount < 0 {
		return fmt.Errorf("partition: micro-batch count %d must not be negative", c.MicroBatchCount)
	}
	for _, r := range c.Recompute {
		if r >= NumRecompute {
			return fmt.Errorf("partition: unknown recomputation mode %d", r)
		}
	}
	if c.Baseline != "" {
		if !slices.Contains(Baselines, c.Baseline) {
			return fmt.Errorf("partition: unknown baseline %q (want one of %v)", c.Baseline, Baselines)
		}
		if c.Family != "" && c.Family != Auto && c.Family != c.Baseline {
			return fmt.Errorf("partition: baseline %s and strategy family %s exclude each other", c.Baseline, c.Family)
		}
		if len(c.Allow)+len(c.Deny) > 0 || c.TPCommOverlap {
			return fmt.Errorf("partition: baseline %s runs its own schemes: no scheme list or tensor-parallel overlap", c.Baseline)
		}
	}
	if c.TPCommOverlap && c.Family != Megatron3 {
		return fmt.Errorf("partition: tensor-parallel communication overlap is a megatron3 option, not %s's", c.familyName())
	}
	for _, l := range [][]Scheme{c.Allow, c.Deny} {
		for _, sc := range l {
			if sc >= numSchemes {
				return fmt.Errorf("partition: unknown scheme %d", sc)
			}
		}
	}
	if c.MaxGroupDies < 0 {
		return fmt.Errorf("partition: max group dies %d must not be negative", c.MaxGroupDies)
	}
	return nil
}

func (c Config) familyName() Family {
	if c.Family == "" {
		return Auto
	}
	return c.Family
}

// MicroBatchPerDie says micro-batch sizes count sequences per die, not per
// group: FSDP's, whose ranks each take whole sequences.
func (c Config) MicroBatchPerDie() bool { return c.Baseline == FSDPOnly || c.Baseline == FSDP2 }

// baselineRecompute is what each baseline's users switch recomputation
// between: off, or the mode their code offers.
var baselineRecompute = map[Family][]Recompute{
	Megatron1: {NoRecompute, Full},
	Megatron3: {NoRecompute, Selective},
	FSDPOnly:  {NoRecompute, Full},
	// Megatron-Core offers both (--recompute-granularity selective or
	// full).
	MegatronCore: {NoRecompute, Selective, Full},
	// FSDP2's users wrap blocks in activation checkpointing or not.
	FSDP2: {NoRecompute, Full},
}

func (c Config) withDefaults(dies int) Config {
	if c.Baseline != "" {
		c.Family = c.Baseline
		if len(c.Recompute) == 0 {
			c.Recompute = baselineRecompute[c.Baseline]
		}
		// Megatron-3's distributed optimizer shards optimizer states across
		// DP groups (where there are several: layouts); Megatron-1 has
		// none, and FSDP shards them within the group only.
		c.ZeRO = []bool{c.Baseline == Megatron3 || c.Baseline == MegatronCore}
		c.UnfusedAttention = (c.Baseline == Megatron1 || c.Baseline == Megatron3) && !c.FlashAttention
	}
	if c.Family == "" {
		c.Family = Auto
	}
	c.mbGiven = len(c.MicroBatches) > 0
	if !c.mbGiven {
		c.MicroBatches = []int{1, 2, 4, 8}
	}
	if len(c.Recompute) == 0 {
		c.Recompute = []Recompute{NoRecompute, Selective, Full}
	}
	if len(c.ZeRO) == 0 {
		c.ZeRO = []bool{false, true}
	}
	if c.MaxGroupDies == 0 {
		c.MaxGroupDies = min(dies, DefaultMaxGroupDies)
	}
	return c
}

// ParseSchemes reads a scheme list such as "ring-w,ring-x,heads" (allow
// only these) or "-relay-w,-relay-x" (deny these); the two forms do not
// mix.
func ParseSchemes(list string) (allow, deny []Scheme, err error) {
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, neg := strings.CutPrefix(f, "-")
		sc, err := ParseScheme(name)
		if err != nil {
			return nil, nil, err
		}
		if neg {
			deny = append(deny, sc)
		} else {
			allow = append(allow, sc)
		}
	}
	if len(allow) > 0 && len(deny) > 0 {
		return nil, nil, fmt.Errorf("%q mixes allowed and denied (-) schemes: give one or the other", list)
	}
	if len(allow) == 0 && len(deny) == 0 {
		return nil, nil, fmt.Errorf("%q names no scheme", list)
	}
	return allow, deny, nil
}
