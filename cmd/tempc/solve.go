package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/driver"
	"github.com/tempc/tempc/heuristics"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/partition"
)

// planFlags registers the flags shared by solve and gap.
type planFlags struct {
	o                             tempc.Options
	objective, strategy, mbs, rcs string
	schemes, baseline             string
	timeLimit                     time.Duration
	bucketMB                      float64
	progress, tcme                bool
	// stages and pipelineLimit are --pipeline-stages and
	// --pipeline-time-limit (solve and compile: registerStep).
	stages        string
	pipelineLimit time.Duration
}

// registerStep adds the flags of on-wafer pipelining (solve, compile).
func (pf *planFlags) registerStep(fs *flag.FlagSet) {
	fs.StringVar(&pf.stages, "pipeline-stages", "auto", "also plan pipelines on equal slabs of the wafer and keep one when faster: any (every cut of the wafer), guided (the cut and micro-batch count megatron-core/gmap's own search chooses), N (the cuts of N stages), none, or auto: any for --baseline megatron-core, guided for the free space (every cut takes minutes there: llama2-7b with the temp mapper 11.7 min on 2 cores), none for the other baselines and families")
	fs.DurationVar(&pf.pipelineLimit, "pipeline-time-limit", tempc.DefaultPipelineTimeLimit, "bound on the on-wafer pipeline search (each stage solve within --time-limit)")
}

// finishStep reads --pipeline-stages and --pipeline-time-limit, after
// finish.
func (pf *planFlags) finishStep() error {
	if err := durationFlag("pipeline-time-limit", pf.pipelineLimit); err != nil {
		return err
	}
	pf.o.PipelineTimeLimit = pf.pipelineLimit
	switch pf.stages {
	case "none":
		pf.o.OnWaferStages = 0
	case "any":
		pf.o.OnWaferStages = tempc.AnyDepth
	case "guided":
		pf.o.OnWaferStages = tempc.GuidedDepth
	case "auto":
		switch f := pf.o.Space.Family; {
		case pf.o.Space.Baseline == partition.MegatronCore:
			pf.o.OnWaferStages = tempc.AnyDepth
		case pf.o.Space.Baseline == "" && (f == "" || f == partition.Auto):
			pf.o.OnWaferStages = tempc.GuidedDepth
		default:
			pf.o.OnWaferStages = 0
		}
	default:
		n, err := strconv.Atoi(pf.stages)
		if err != nil || n < 2 {
			return usageError{fmt.Sprintf("--pipeline-stages %q: want auto, any, guided, none or a depth of at least 2", pf.stages)}
		}
		pf.o.OnWaferStages = n
	}
	if pf.o.OnWaferStages != 0 && pf.o.Objective != ilp.StepTime {
		if pf.stages != "auto" {
			return usageError{"--pipeline-stages: on-wafer pipelines are planned for --objective time"}
		}
		pf.o.OnWaferStages = 0
	}
	return nil
}

func (pf *planFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&pf.o.Model, "model", "", "preset name, Hugging Face config.json (or its folder), tempc graph JSON, or ONNX file (.onnx)")
	fs.StringVar(&pf.o.Wafer, "wafer", "temp48", "wafer preset or file")
	fs.Int64Var(&pf.o.Batch, "batch", 0, "global batch in sequences (default 128)")
	fs.Int64Var(&pf.o.Seq, "seq", 0, "sequence length (default: the model's context length)")
	fs.StringVar(&pf.objective, "objective", "time", "minimise step time or energy")
	fs.StringVar(&pf.strategy, "strategy", "auto", "strategy family: auto, megatron1, megatron3, fsdp, megatron-core or fsdp2 (each tuned by the solver)")
	fs.StringVar(&pf.baseline, "baseline", "", "canonical baseline instead of a family: as run today, megatron-core (fused attention, TP overlap, distributed optimizer, on-wafer pipelining) or fsdp2 (per-block reshard_after_forward, prefetch, hybrid sharding); or as its published code ran (historical): megatron1 (Megatron-LM 2019), megatron3 (2022) or fsdp (2023)")
	fs.BoolVar(&pf.o.Space.FlashAttention, "flash-attention", false, "give the historical Megatron baselines (megatron1, megatron3) fused (flash) attention instead of their code's unfused attention")
	fs.StringVar(&pf.schemes, "schemes", "", "schemes to allow (ring-w,ring-x,...) or, each prefixed by -, to deny (-relay-w,-relay-x,-relay-y: TSPP's plain rings); default all the family has")
	fs.BoolVar(&pf.o.Space.TPCommOverlap, "tp-comm-overlap", false, "megatron3 only: pipeline the sequence-parallel all-gather with the column GEMM (Megatron-Core's --tp-comm-overlap), as a ring-x stream")
	fs.BoolVar(&pf.o.Space.Unaliased, "unaliased", false, "give every layer its own variables")
	fs.IntVar(&pf.o.Space.MaxGroupDies, "max-group", 0, fmt.Sprintf("largest model-parallel group in dies (default: the whole wafer, at most %d)", partition.DefaultMaxGroupDies))
	fs.StringVar(&pf.mbs, "micro-batches", "1,2,4,8", "micro-batch sizes to consider")
	fs.StringVar(&pf.rcs, "recompute", "none,selective,full", "recomputation modes to consider (a --baseline's own by default: megatron1 and fsdp none or full, megatron3 none or selective, megatron-core all three, fsdp2 none or full)")
	fs.DurationVar(&pf.timeLimit, "time-limit", ilp.DefaultTimeLimit, "bound on planning: loading, pricing, every solve and round of the dual-level loop")
	fs.IntVar(&pf.o.Solver.Threads, "threads", 0, fmt.Sprintf("solver threads (0: HiGHS decides; capped at the CPU count, %d here)", runtime.NumCPU()))
	fs.Float64Var(&pf.o.Solver.RelGap, "gap", ilp.DefaultRelGap, "relative MIP gap in (0, 1) at which the solver stops; status is optimal only at the default")
	fs.BoolVar(&pf.progress, "progress", false, "report pipeline stages on stderr")
	fs.StringVar(&pf.o.Mapper, "mapper", "temp", "local level: temp (traffic-conscious, with the dual-level loop), smap or gmap")
	fs.Float64Var(&pf.o.MemoryTolerance, "memory-tolerance", 0, "of the plans within this fraction of the best objective, take the one with least peak memory per die (0: among the best only; negative: no second solve)")
	fs.BoolVar(&pf.tcme, "tcme", true, "with --mapper temp: re-route flows off the most loaded links (false: placement and ring order only, the ablation's TATP step)")
	fs.Uint64Var(&pf.o.Seed, "seed", 1, "seed of the temp mapper's annealing")
	fs.IntVar(&pf.o.Iterations, "iterations", 0, "cap on the dual-level loop's solves (default 8)")
	fs.Float64Var(&pf.bucketMB, "bucket-mb", costmodel.DefaultBucketBytes/(1<<20), "DP gradient all-reduce bucket per die in MiB (PyTorch DDP's bucket_cap_mb)")
}

// finish checks the parsed flags and turns the strings into options.
func (pf *planFlags) finish(fs *flag.FlagSet, stderr io.Writer) error {
	if pf.o.Model == "" {
		return usageError{"--model is required"}
	}
	if err := positive(fs, "batch", "seq", "max-group", "iterations"); err != nil {
		return err
	}
	if err := nonEmpty(fs, "wafer", "strategy", "mapper"); err != nil {
		return err
	}
	if err := timeLimit(pf.timeLimit); err != nil {
		return err
	}
	if g := pf.o.Solver.RelGap; math.IsNaN(g) || g <= 0 || g >= 1 {
		return usageError{fmt.Sprintf("--gap %g: want a relative gap in (0, 1), such as 1e-6 (the default) or 0.01", g)}
	}
	if pf.o.Solver.Threads < 0 {
		return usageError{fmt.Sprintf("--threads %d: want 0 (HiGHS decides) or a positive count", pf.o.Solver.Threads)}
	}
	obj, err := ilp.ParseObjective(pf.objective)
	if err != nil {
		return usageError{"--objective: " + err.Error()}
	}
	pf.o.Objective = obj
	if err := oneOf("strategy", pf.strategy, partition.Families); err != nil {
		return err
	}
	if err := oneOf("mapper", pf.o.Mapper, heuristics.MapperNames); err != nil {
		return err
	}
	pf.o.Space.Family = partition.Family(pf.strategy)
	if pf.baseline != "" {
		if pf.strategy != "auto" {
			return usageError{fmt.Sprintf("--baseline %s and --strategy %s exclude each other: a baseline runs its own schemes", pf.baseline, pf.strategy)}
		}
		if !slices.Contains(partition.Baselines, partition.Family(pf.baseline)) {
			return usageError{fmt.Sprintf("--baseline %q: want one of %v", pf.baseline, partition.Baselines)}
		}
		pf.o.Space.Baseline = partition.Family(pf.baseline)
	}
	if pf.o.Space.FlashAttention && pf.baseline != "megatron1" && pf.baseline != "megatron3" {
		return usageError{"--flash-attention applies to --baseline megatron1 or megatron3: every other space computes attention fused"}
	}
	if pf.schemes != "" {
		var err error
		if pf.o.Space.Allow, pf.o.Space.Deny, err = partition.ParseSchemes(pf.schemes); err != nil {
			return usageError{"--schemes: " + err.Error()}
		}
	}
	// A list given is the caller's (a pipeline's stages keep to it too,
	// partition.Config.MicroBatchCount); the default is the space's.
	mbGiven, given := false, false // a baseline keeps its own recomputation modes unless --recompute is given
	fs.Visit(func(f *flag.Flag) {
		mbGiven, given = mbGiven || f.Name == "micro-batches", given || f.Name == "recompute"
	})
	for _, s := range strings.Split(pf.mbs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return usageError{fmt.Sprintf("--micro-batches: %q is not a positive whole number", s)}
		}
		if mbGiven {
			pf.o.Space.MicroBatches = append(pf.o.Space.MicroBatches, n)
		}
	}
	for _, s := range strings.Split(pf.rcs, ",") {
		if pf.baseline != "" && !given {
			break
		}
		r, err := partition.ParseRecompute(strings.TrimSpace(s))
		if err != nil {
			return usageError{fmt.Sprintf("--recompute: %q is not none, selective or full", s)}
		}
		pf.o.Space.Recompute = append(pf.o.Space.Recompute, r)
	}
	if math.IsNaN(pf.o.MemoryTolerance) || math.IsInf(pf.o.MemoryTolerance, 0) {
		return usageError{fmt.Sprintf("--memory-tolerance %g: want a fraction such as 0.01, or a negative number for none", pf.o.MemoryTolerance)}
	}
	if !(pf.bucketMB > 0) || math.IsInf(pf.bucketMB, 0) {
		return usageError{fmt.Sprintf("--bucket-mb %g: want a positive size in MiB, such as 25 (the default)", pf.bucketMB)}
	}
	pf.o.Params.BucketBytes = pf.bucketMB * (1 << 20)
	if !pf.tcme && pf.o.Mapper != "temp" {
		return usageError{fmt.Sprintf("--tcme=false applies to the temp mapper, not %s (which never re-routes)", pf.o.Mapper)}
	}
	pf.o.NoTCME = !pf.tcme
	pf.o.Solver.TimeLimit = pf.timeLimit
	if pf.progress {
		pf.o.Progress = stderr
	}
	return nil
}

func runSolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("solve", stderr)
	var pf planFlags
	pf.register(fs)
	pf.registerStep(fs)
	var o driver.SolveOptions
	fs.BoolVar(&o.JSON, "json", false, "print the plan as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := pf.finish(fs, stderr); err != nil {
		return err
	}
	if err := pf.finishStep(); err != nil {
		return err
	}
	if pf.o.Space.Unaliased {
		pf.o.OnWaferStages = 0 // pipeline stages are planned aliased
	}
	o.Options = pf.o
	return driver.Solve(ctx, stdout, o)
}

func runGap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gap", stderr)
	var pf planFlags
	pf.register(fs)
	var o driver.GapOptions
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	fs.Float64Var(&o.MaxEnumerate, "max-enumerate", 2e6, "enumerate every assignment when there are at most this many")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !(o.MaxEnumerate >= 1) || math.IsInf(o.MaxEnumerate, 0) {
		return usageError{fmt.Sprintf("--max-enumerate %g: want a count of assignments of at least 1", o.MaxEnumerate)}
	}
	if err := pf.finish(fs, stderr); err != nil {
		return err
	}
	o.Options = pf.o
	return driver.Gap(ctx, stdout, o)
}
