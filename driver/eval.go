package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/validate"
	"github.com/tempc/tempc/wafer"
)

// EvalOptions are the options of `tempc eval`.
type EvalOptions struct {
	// Out is the directory that receives report.md, eval.json and the
	// figures.
	Out string
	// Quick runs a subset: two models and fewer points.
	Quick bool
	// Wafer is the wafer (default temp48); TimeLimit bounds each plan
	// (default 600 s: generous, so that no solve stops at it and the
	// output stays the same from run to run); Threads the solver's.
	Wafer     string
	TimeLimit time.Duration
	Threads   int
	// Jobs is how many cases plan and simulate at once (default: one per
	// CPU). Each case's result is its own, so the output does not depend
	// on it; the solver's threads (Threads) are per case.
	Jobs int
	// Resume reuses the rows of an earlier, interrupted run of the same
	// settings (Out/eval.partial.json) and runs only the cases it lacks.
	Resume bool
	// Progress receives a line per plan.
	Progress io.Writer
	// settings replaces the full or quick settings (tests).
	settings *evalSettings
}

func (o EvalOptions) set() evalSettings {
	switch {
	case o.settings != nil:
		return *o.settings
	case o.Quick:
		return quickSettings
	}
	return fullSettings
}

// evalSettings is what an evaluation runs.
type evalSettings struct {
	models              []string
	batch, seq          int64
	long                []string
	longBatch, longSeq  int64
	faultModel          string
	dieRates, linkRates []float64
	search              []string
	unaliasedLimit      time.Duration
	tuned               bool
	degreeModel         string
	// pipelineModel is planned on each count of wafers, one pipeline
	// stage per wafer (1: the single-wafer plan), in the pipeline
	// configurations; pipelineMicroBatches fixes the micro-batches of
	// each pipeline (0: each point's count searched, as the paper's
	// comparison does).
	pipelineModel        string
	wafers               []int
	pipelineMicroBatches int
}

// fullSettings are the paper's (REFERENCE.md): six models at batch 128,
// sequence 2048; long sequences on the two Llama models (rotary
// positions: the GPT models' learned position tables stop at 2048); the
// search on two 7B models that take sequence 2048 (gpt2's table stops at
// 1024); gpt3-175b pipelined across 1 to 6 wafers (the paper's
// multi-wafer comparison runs 2 to 6).
var fullSettings = evalSettings{
	models: []string{"gpt3-6.7b", "gpt3-76b", "gpt3-175b", "llama2-13b", "llama3-70b", "opt-175b"},
	batch:  128, seq: 2048,
	long: []string{"llama2-13b", "llama3-70b"}, longBatch: 32, longSeq: 16384,
	faultModel: "gpt3-6.7b", dieRates: []float64{0.05, 0.1, 0.25}, linkRates: []float64{0.1, 0.25, 0.35},
	search: []string{"llama2-7b", "gpt3-6.7b"}, unaliasedLimit: 60 * time.Second, tuned: true,
	degreeModel:   "gpt3-175b",
	pipelineModel: "gpt3-175b", wafers: []int{1, 2, 3, 4, 5, 6},
}

// quickSettings run in minutes: GPT-2 and TinyLlama 1.1B at batch 32,
// sequence 1024; a long-sequence point, two fault maps, and GPT-2 on one
// and two wafers.
var quickSettings = evalSettings{
	models: []string{"gpt2", "tinyllama-1.1b"},
	batch:  32, seq: 1024,
	long: []string{"tinyllama-1.1b"}, longBatch: 4, longSeq: 8192,
	faultModel: "gpt2", dieRates: []float64{0.1}, linkRates: []float64{0.25},
	search: []string{"gpt2"}, unaliasedLimit: 20 * time.Second,
	degreeModel:   "gpt2",
	pipelineModel: "gpt2", wafers: []int{1, 2},
}

// maxPartialBytes bounds the partial evaluation --resume reads: a row
// is some 1 kB, and a full evaluation has a few hundred.
const maxPartialBytes = 64 << 20

// evalDefault bounds each plan: generous, so that no solve stops at it
// and the output stays the same from run to run.
const (
	evalDefault = 600 * time.Second
	faultSeed   = 1
	degreeSeqs  = 4
)

var (
	// canonicalConfigs are the six baselines of the paper: three schemes
	// by two mappers.
	canonicalConfigs = []string{"megatron1/smap", "megatron1/gmap", "megatron3/smap", "megatron3/gmap", "fsdp/smap", "fsdp/gmap"}
	tunedConfigs     = []string{"megatron1-tuned/temp", "megatron3-tuned/temp", "fsdp-tuned/temp"}
	// pipelineConfigs are TEMP and the canonical baselines with the
	// sequential mapper only: each pipeline point plans every split of
	// the blocks and every micro-batch count, some 5–12 minutes a point
	// for gpt3-175b on temp48, and gmap would double that; the
	// single-wafer sections already compare both mappers.
	pipelineConfigs = []string{"temp", "megatron1/smap", "megatron3/smap", "fsdp/smap"}
)

// EvalRow is one plan of the evaluation, its step simulated.
type EvalRow struct {
	Section       string `json:"section"`
	Configuration string `json:"configuration"`
	Model         string `json:"model"`
	Batch         int64  `json:"batch"`
	Seq           int64  `json:"seq"`
	// Wafer is the wafer planned on (a fault map's name in the fault
	// sweep); Wafers, in the pipeline section, how many of it the plan
	// spans, one pipeline stage each (1: the single-wafer plan).
	Wafer  string `json:"wafer"`
	Wafers int    `json:"wafers,omitempty"`
	// Fits says a plan exists and its simulated peak memory is within
	// capacity; Reason says why not.
	Fits      bool   `json:"fits"`
	Reason    string `json:"reason,omitempty"`
	Layout    string `json:"layout,omitempty"`
	Attention string `json:"attention,omitempty"`
	// Steps: the cost model's and the simulator's; TokensPerSecond is
	// the simulated one's.
	PredictedStep   float64 `json:"predicted_step_seconds"`
	SimulatedStep   float64 `json:"simulated_step_seconds"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	// PeakMemory is the simulated peak per die (for a plan that does not
	// fit the least any assignment needs, when the solver says);
	// PredictedMemory the cost model's, Memory its terms.
	PeakMemory      float64       `json:"peak_memory_bytes_per_die"`
	PredictedMemory float64       `json:"predicted_peak_memory_bytes_per_die"`
	Memory          costmodel.Mem `json:"memory_bytes_per_die"`
	// Energy, Power and TokensPerJoule are the simulated step's.
	Energy         float64 `json:"energy_joules_per_step"`
	Power          float64 `json:"average_power_watts"`
	TokensPerJoule float64 `json:"tokens_per_joule"`
	MaxLinkUtil    float64 `json:"max_link_utilization"`
	// MicroBatches is a pipeline's micro-batches per step; Bubble the
	// share of its passes' span its stages spent waiting, simulated
	// (tempc.PipelineSim), PredictedBubble the cost model's timeline's.
	MicroBatches int `json:"pipeline_micro_batches,omitempty"`
	// PipelineStages is an on-wafer pipeline's depth (0: one plan of the
	// whole wafer).
	PipelineStages  int     `json:"pipeline_stages,omitempty"`
	Bubble          float64 `json:"bubble,omitempty"`
	PredictedBubble float64 `json:"predicted_bubble,omitempty"`
	// Wall times (not in report.md: they vary from run to run).
	PlanWall     float64 `json:"plan_wall_seconds"`
	SimulateWall float64 `json:"simulate_wall_seconds"`
}

// SearchRow is one model's search: the aliased ILP, the unaliased ILP
// under a time limit (its status and gap, like the wall times, depend on
// the machine's speed), and the assignments enumeration would visit.
type SearchRow struct {
	Model             string  `json:"model"`
	AliasedRows       int     `json:"aliased_rows"`
	AliasedCols       int     `json:"aliased_cols"`
	AliasedStatus     string  `json:"aliased_status"`
	AliasedSeconds    float64 `json:"aliased_wall_seconds"`
	UnaliasedStatus   string  `json:"unaliased_status"`
	UnaliasedGap      float64 `json:"unaliased_mip_gap"`
	UnaliasedSeconds  float64 `json:"unaliased_wall_seconds"`
	UnaliasedLimit    float64 `json:"unaliased_time_limit_seconds"`
	Combinations      float64 `json:"aliased_assignments"`
	EnumerationWall   float64 `json:"enumeration_wall_seconds,omitempty"`
	EnumerationAgrees *bool   `json:"enumeration_agrees,omitempty"`
}

// EvalReport is eval.json.
type EvalReport struct {
	Wafer     string    `json:"wafer"`
	Dies      int       `json:"dies"`
	Batch     int64     `json:"batch"`
	Seq       int64     `json:"seq"`
	LongBatch int64     `json:"long_batch"`
	LongSeq   int64     `json:"long_seq"`
	Quick     bool      `json:"quick"`
	Rows      []EvalRow `json:"rows"`
	// Ladder is each model's climb from the historical Megatron baseline
	// to TEMP, one change a step (see ladderSteps).
	Ladder []LadderRow `json:"ladder"`
	// GeomeanSpeedup is TEMP's simulated throughput over each
	// configuration's, geometric mean over the models where both fit;
	// "overall" over every canonical baseline and model. Efficiency is
	// the same for tokens per joule.
	GeomeanSpeedup    map[string]float64 `json:"geomean_speedup"`
	GeomeanEfficiency map[string]float64 `json:"geomean_power_efficiency"`
	// CostModel is |simulated − predicted| / predicted over every plan
	// that fits, each plan once (a row that copies another's plan, as
	// the pipeline section's single wafer may the main section's, is not
	// counted again).
	CostModel ErrStats `json:"cost_model_vs_simulator"`
	// Degree is the stream-degree sweep: one linear layer's weight stream
	// on groups of 2 to 48 dies (validate.DegreeSweep), DegreeModel's
	// block/mlp.up at micro-batches of DegreeSeqs sequences per group.
	DegreeModel string            `json:"degree_model,omitempty"`
	DegreeSeqs  int               `json:"degree_micro_batch,omitempty"`
	Degree      []validate.Degree `json:"degree_sweep,omitempty"`
	Search      []SearchRow       `json:"search"`
	// PipelineEdgeTBps is the bandwidth between neighbouring wafers in
	// the pipeline section (the wafer's cluster, or wafer.DefaultCluster),
	// each direction, TB/s; PipelineMicroBatches the micro-batches every
	// pipeline runs, when fixed (0: searched per point).
	PipelineEdgeTBps     float64 `json:"pipeline_edge_tbps,omitempty"`
	PipelineMicroBatches int     `json:"pipeline_micro_batches,omitempty"`
	WallSeconds          float64 `json:"wall_seconds"`
}

// ErrStats summarises relative errors.
type ErrStats struct {
	Plans  int     `json:"plans"`
	Median float64 `json:"median_abs_rel_err"`
	P95    float64 `json:"p95_abs_rel_err"`
	Max    float64 `json:"max_abs_rel_err"`
	Signed float64 `json:"median_rel_err"`
}

// evalCase is one plan to make and simulate: on one wafer (wafers 0 or
// 1), or pipelined across wafers of spec.
type evalCase struct {
	section, config, model string
	batch, seq             int64
	spec                   *wafer.Spec
	wafers                 int
	// microBatches fixes a pipeline's micro-batches (0: searched).
	microBatches int
}

// key identifies a case, and caseKey the case a row measured.
func (c evalCase) key() string {
	return evalKey(c.section, c.planKey())
}

func (r EvalRow) caseKey() string {
	return evalKey(r.Section, r.planKey())
}

// planKey identifies what a case plans, whichever section it is in, and
// planKey of a row the plan it measured.
func (c evalCase) planKey() string {
	return planKey(c.config, c.model, c.batch, c.seq, c.spec.Name, c.wafers)
}

func (r EvalRow) planKey() string {
	return planKey(r.Configuration, r.Model, r.Batch, r.Seq, r.Wafer, r.Wafers)
}

func evalKey(section, plan string) string { return section + "|" + plan }

// planKey joins what a plan depends on. Wafers 0 and 1 are both the
// single-wafer plan, and a section of single-wafer plans (wafers 0)
// leaves the count out.
func planKey(config, model string, batch, seq int64, waferName string, wafers int) string {
	k := fmt.Sprintf("%s|%s|%d|%d|%s", config, model, batch, seq, waferName)
	if wafers > 1 {
		k += fmt.Sprintf("|%d wafers", wafers)
	}
	return k
}

// Eval runs the paper's evaluation (see the README): every plan compiled,
// lowered, verified and its whole step simulated; it writes report.md,
// eval.json and SVG figures to o.Out. Its sections: "main" (TEMP, the
// canonical baselines and the tuned families on each model), "ablation"
// (TSPP rings, then TATP relays), "long" (long sequences), "faults"
// (random fault maps), "pipeline" (one model across 1 to N wafers, one
// pipeline stage per wafer, TEMP against the baselines); besides its
// rows, the stream-degree sweep and the search.
func Eval(ctx context.Context, o EvalOptions) error {
	start := time.Now()
	if o.Out == "" {
		return errors.New("driver: eval needs an output directory")
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return fmt.Errorf("driver: --out %s: %w", o.Out, err)
	}
	if o.Wafer == "" {
		o.Wafer = "temp48"
	}
	if o.TimeLimit <= 0 {
		o.TimeLimit = evalDefault
	}
	base, err := wafer.Load(o.Wafer)
	if err != nil {
		return err
	}
	st := o.set()
	cases := append(evalCases(st, base), ladderCases(st, base)...)
	rep := &EvalReport{Wafer: base.Name, Dies: base.NumHealthy(), Batch: st.batch, Seq: st.seq, LongBatch: st.longBatch, LongSeq: st.longSeq, Quick: o.Quick}
	if slices.ContainsFunc(st.wafers, func(n int) bool { return n > 1 }) {
		c := base.Cluster
		if c == nil {
			c = wafer.DefaultCluster(base, 2)
		}
		rep.PipelineEdgeTBps, rep.PipelineMicroBatches = c.EdgeBandwidth/1e12, st.pipelineMicroBatches
	}
	partial := filepath.Join(o.Out, "eval.partial.json")
	done := map[string]EvalRow{}
	if o.Resume {
		if data, err := fileio.Read(partial, maxPartialBytes, fileio.RegularOnly, "partial evaluation"); err == nil {
			var rows []EvalRow
			if err := json.Unmarshal(data, &rows); err != nil {
				return fmt.Errorf("driver: --resume: %s: %w", partial, err)
			}
			for _, r := range rows {
				done[r.caseKey()] = r
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := o.runCases(ctx, cases, done, rep, partial, start); err != nil {
		return err
	}
	for _, m := range st.search {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "[search %5.0f s] %s\n", time.Since(start).Seconds(), m)
		}
		sr, err := o.search(ctx, m, base, st)
		if err != nil {
			return err
		}
		rep.Search = append(rep.Search, sr)
	}
	if st.degreeModel != "" {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "[degree %5.0f s] %s\n", time.Since(start).Seconds(), st.degreeModel)
		}
		rep.DegreeModel, rep.DegreeSeqs = st.degreeModel, degreeSeqs
		if rep.Degree, err = validate.DegreeSweep(st.degreeModel, "block/mlp.up", base, st.batch, st.seq, degreeSeqs); err != nil {
			return err
		}
	}
	rep.summarise()
	rep.WallSeconds = time.Since(start).Seconds()
	// eval.json, the figures and report.md are one output set.
	out, err := newOutputs()
	if err != nil {
		return err
	}
	defer out.discard()
	if err := out.add(filepath.Join(o.Out, "eval.json"), func(w io.Writer) error { return writeJSON(w, rep) }); err != nil {
		return err
	}
	if err := rep.figures(out, o.Out); err != nil {
		return err
	}
	if err := out.add(filepath.Join(o.Out, "report.md"), rep.writeMarkdown); err != nil {
		return err
	}
	if err := out.commit(ctx); err != nil {
		return err
	}
	if err := os.Remove(partial); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// runCases runs the cases done lacks, Jobs at a time, into rep.Rows in
// case order; after each it leaves the rows measured so far in partial.
// A case that plans what an earlier case plans (the pipeline section's
// single wafer, when its model is among the main section's) is not run
// again: it takes that case's row.
func (o EvalOptions) runCases(ctx context.Context, cases []evalCase, done map[string]EvalRow, rep *EvalReport, partial string, start time.Time) error {
	rows := make([]EvalRow, len(cases))
	have := make([]bool, len(cases))
	same := make([]int, len(cases))
	first := map[string]int{}
	var todo []int
	for i, c := range cases {
		same[i] = i
		if j, ok := first[c.planKey()]; ok {
			same[i] = j
		} else {
			first[c.planKey()] = i
		}
		switch row, ok := done[c.key()]; {
		case ok:
			rows[i], have[i] = row, true
		case same[i] == i:
			todo = append(todo, i)
		}
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int)
		finished = len(cases) - len(todo)
	)
	for range min(jobs, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				row := o.run(ctx, cases[i])
				if ctx.Err() != nil {
					continue // an interrupted case is not a result
				}
				mu.Lock()
				rows[i], have[i] = row, true
				finished++
				if o.Progress != nil {
					c := cases[i]
					config := c.config
					if c.wafers > 1 {
						config += fmt.Sprintf(" ×%d", c.wafers)
					}
					fmt.Fprintf(o.Progress, "[%3d/%d %5.0f s] %-8s %-15s %-21s", finished, len(cases), time.Since(start).Seconds(), c.section, c.model, config)
					if row.Fits {
						fmt.Fprintf(o.Progress, " %8.4f s simulated (%+.2f%% from predicted)\n", row.SimulatedStep, 100*(row.SimulatedStep/row.PredictedStep-1))
					} else {
						fmt.Fprintf(o.Progress, " does not fit: %s\n", row.Reason)
					}
				}
				// A long run leaves what it has measured so far.
				var sofar []EvalRow
				for j := range rows {
					if have[j] {
						sofar = append(sofar, rows[j])
					}
				}
				// Not ctx: rows measured before an interrupt are kept.
				if err := writeFile(context.Background(), partial, func(w io.Writer) error { return writeJSON(w, sofar) }); err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, i := range todo {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	for i, c := range cases {
		if !have[i] {
			rows[i] = rows[same[i]]
			rows[i].Section, rows[i].Wafers = c.section, c.wafers
		}
	}
	rep.Rows = rows
	return nil
}

// evalCases lists the plans of every section.
func evalCases(st evalSettings, base *wafer.Spec) []evalCase {
	var cs []evalCase
	add := func(section, config, model string, batch, seq int64, s *wafer.Spec) {
		cs = append(cs, evalCase{section: section, config: config, model: model, batch: batch, seq: seq, spec: s})
	}
	for _, m := range st.models {
		add("main", "temp", m, st.batch, st.seq, base)
		for _, c := range canonicalConfigs {
			add("main", c, m, st.batch, st.seq, base)
		}
		if st.tuned {
			for _, c := range tunedConfigs {
				add("main", c, m, st.batch, st.seq, base)
			}
		}
		// The ablation: +TSPP (plain rings, no relays, no TCME), +TATP
		// (relays), +TCME (the temp row above); its baseline is the best
		// canonical one.
		add("ablation", "tspp/gmap", m, st.batch, st.seq, base)
		add("ablation", "tatp/gmap", m, st.batch, st.seq, base)
	}
	for _, m := range st.long {
		add("long", "temp", m, st.longBatch, st.longSeq, base)
		for _, c := range []string{"megatron1/gmap", "megatron3/gmap", "fsdp/gmap"} {
			add("long", c, m, st.longBatch, st.longSeq, base)
		}
	}
	for _, r := range st.dieRates {
		if s, err := wafer.RandomFaults(base, r, 0, faultSeed); err == nil {
			add("faults", "temp", st.faultModel, st.batch, st.seq, s)
		}
	}
	for _, r := range st.linkRates {
		if s, err := wafer.RandomFaults(base, 0, r, faultSeed); err == nil {
			add("faults", "temp", st.faultModel, st.batch, st.seq, s)
		}
	}
	for _, n := range st.wafers {
		for _, c := range pipelineConfigs {
			cs = append(cs, evalCase{section: "pipeline", config: c, model: st.pipelineModel, batch: st.batch, seq: st.seq, spec: base,
				wafers: n, microBatches: st.pipelineMicroBatches})
		}
	}
	return cs
}

// planOptions turns a configuration name into planning options.
func (o EvalOptions) planOptions(c evalCase) tempc.Options {
	po := tempc.Options{Model: c.model, Spec: c.spec, Wafer: c.spec.Name, Batch: c.batch, Seq: c.seq, Mapper: "temp", Seed: 1}
	po.Solver.TimeLimit, po.Solver.Threads = o.TimeLimit, o.Threads
	family, mapper, ok := strings.Cut(c.config, "/")
	if ok {
		po.Mapper = mapper
	}
	if f, tuned := strings.CutSuffix(family, "-tuned"); tuned {
		po.Space.Family = partition.Family(f)
		return po
	}
	if m, ok := strings.CutSuffix(po.Mapper, "-no-tcme"); ok {
		po.Mapper, po.NoTCME = m, true
	}
	switch family {
	case "temp", "tatp", "auto":
		po.OnWaferStages = tempc.GuidedDepth // as tempc solve plans the free space
	case "temp-no-tcme":
		po.NoTCME, po.OnWaferStages = true, tempc.GuidedDepth
	case "modern-mix":
		po.Space.Allow, po.OnWaferStages = partition.BaselineSchemes(partition.Modern...), tempc.GuidedDepth
	case "megatron3+flash":
		po.Space.Baseline, po.Space.FlashAttention = partition.Megatron3, true
	case "megatron-core-nopp":
		po.Space.Baseline = partition.MegatronCore
	case "megatron-core":
		po.Space.Baseline, po.OnWaferStages = partition.MegatronCore, tempc.AnyDepth
	case "tspp":
		po.Space.Deny = []partition.Scheme{partition.RelayW, partition.RelayX, partition.RelayY}
		po.OnWaferStages = tempc.GuidedDepth
	default:
		po.Space.Baseline = partition.Family(family)
	}
	return po
}

// run plans, lowers and simulates one case: on one wafer (tempc.Compile)
// or, across two wafers or more, as a pipeline (runPipeline).
func (o EvalOptions) run(ctx context.Context, c evalCase) EvalRow {
	if c.wafers > 1 {
		return o.runPipeline(ctx, c)
	}
	row := c.row()
	start := time.Now()
	po := o.planOptions(c)
	if po.OnWaferStages != 0 {
		return o.runStep(ctx, c, po)
	}
	cp, err := tempc.Compile(ctx, po)
	row.PlanWall = time.Since(start).Seconds()
	if err != nil {
		row.Reason = reason(err)
		var om *ilp.OutOfMemoryError
		if errors.As(err, &om) {
			row.PeakMemory, row.Memory = om.Need, om.Mem
		}
		return row
	}
	r := cp.Report
	row.Layout, row.Attention, row.PredictedStep = r.Layout.Name, r.Attention, r.StepSeconds
	row.PredictedMemory, row.Memory = r.PeakMemoryBytesPerDie, r.Memory
	row.simulate(ctx, cp.Plan, cp.Spec)
	return row
}

// row is the row of c before it is planned.
func (c evalCase) row() EvalRow {
	return EvalRow{Section: c.section, Configuration: c.config, Model: c.model, Batch: c.batch, Seq: c.seq, Wafer: c.spec.Name, Wafers: c.wafers}
}

// runStep plans a case with on-wafer pipelines searched
// (tempc.CompileStep), lowers the plan kept and simulates it.
func (o EvalOptions) runStep(ctx context.Context, c evalCase, po tempc.Options) EvalRow {
	row := c.row()
	start := time.Now()
	cs, err := tempc.CompileStep(ctx, po)
	row.PlanWall = time.Since(start).Seconds()
	if err != nil {
		row.Reason = reason(err)
		return row
	}
	pl, spec := cs.Plan()
	if st := cs.Step; st.Pipelined() {
		res := st.Pipeline
		first := res.Stages[0].Solved.Report
		row.Layout, row.Attention, row.PredictedStep = tempc.PipelineLayout(res), first.Attention, res.StepSeconds
		row.PipelineStages, row.MicroBatches = len(res.Stages), res.MicroBatches
		for _, s := range res.Stages {
			row.PredictedMemory = max(row.PredictedMemory, s.Solved.Report.PeakMemoryBytesPerDie)
		}
	} else {
		r := st.Single.Report
		row.Layout, row.Attention, row.PredictedStep = r.Layout.Name, r.Attention, r.StepSeconds
		row.PredictedMemory, row.Memory = r.PeakMemoryBytesPerDie, r.Memory
	}
	if sr := row.simulate(ctx, pl, spec); sr != nil && sr.Pipeline != nil {
		row.Bubble, row.PredictedBubble = sr.Pipeline.Bubble, sr.Pipeline.PredictedBubble
	}
	return row
}

// simulate replays the step of p on s into the row, returning the
// simulator's report (nil when the replay failed, with Reason saying
// why).
func (row *EvalRow) simulate(ctx context.Context, p *plan.Plan, s *wafer.Spec) *tempc.SimulateReport {
	start := time.Now()
	sr, err := tempc.Simulate(ctx, p, s, tempc.SimulateOptions{})
	row.SimulateWall = time.Since(start).Seconds()
	if err != nil {
		row.Reason = "simulation failed: " + err.Error()
		return nil
	}
	r := &sr.Report
	row.SimulatedStep, row.PeakMemory, row.Energy = r.Simulated, r.SimulatedMemory, r.EnergyJoules
	row.Power, row.TokensPerJoule, row.MaxLinkUtil = r.AveragePower, r.TokensPerJoule, r.MaxLinkUtil
	row.TokensPerSecond = float64(row.Batch*row.Seq) / r.Simulated
	row.Fits = r.Fits
	if !r.Fits {
		row.Reason = fmt.Sprintf("simulated peak %s per die exceeds %s", fileio.Bytes(r.SimulatedMemory), fileio.Bytes(r.CapacityBytes))
	}
	return r
}

// search measures the global level's search on model: the aliased ILP
// (one solve, gmap's mapping), the unaliased one under a time limit, and
// enumeration of the aliased space where it is small enough.
func (o EvalOptions) search(ctx context.Context, model string, base *wafer.Spec, st evalSettings) (SearchRow, error) {
	sr := SearchRow{Model: model}
	po := tempc.Options{Model: model, Spec: base, Wafer: base.Name, Batch: st.batch, Seq: st.seq, Mapper: "gmap", MemoryTolerance: -1}
	po.Solver.TimeLimit, po.Solver.Threads = o.TimeLimit, o.Threads
	start := time.Now()
	sv, err := tempc.Solve(ctx, po)
	if err != nil {
		return sr, err
	}
	sr.AliasedSeconds = time.Since(start).Seconds()
	sr.AliasedRows, sr.AliasedCols, sr.AliasedStatus = sv.Solution.Result.Rows, sv.Solution.Result.Cols, sv.Solution.Result.Status.String()
	sr.Combinations = ilp.Combinations(sv.Table)
	if sr.Combinations <= 2e6 {
		start = time.Now()
		_, b, ok := ilp.BruteForce(sv.Table, ilp.StepTime)
		sr.EnumerationWall = time.Since(start).Seconds()
		agrees := ok && math.Abs(b.Seconds-sv.Solution.Breakdown.Seconds) <= 1e-9*b.Seconds
		sr.EnumerationAgrees = &agrees
	}
	un := po
	un.Space.Unaliased = true
	un.Solver.TimeLimit = st.unaliasedLimit
	sr.UnaliasedLimit = un.Solver.TimeLimit.Seconds()
	start = time.Now()
	usv, err := tempc.Solve(ctx, un)
	sr.UnaliasedSeconds = time.Since(start).Seconds()
	switch {
	case errors.Is(err, ilp.ErrTimeLimit) || errors.Is(err, context.DeadlineExceeded):
		sr.UnaliasedStatus = "time limit before a plan"
	case err != nil:
		sr.UnaliasedStatus = "no plan: " + reason(err)
	default:
		sr.UnaliasedStatus, sr.UnaliasedGap = usv.Solution.Result.Status.String(), usv.Solution.Result.MIPGap
	}
	return sr, nil
}

// plans are the rows that fit with a predicted step, each plan once: the
// rows the cost model is measured on.
func (r *EvalReport) plans() []EvalRow {
	var out []EvalRow
	seen := map[string]bool{}
	for _, row := range r.Rows {
		if k := row.planKey(); row.Fits && row.PredictedStep > 0 && !seen[k] {
			seen[k] = true
			out = append(out, row)
		}
	}
	return out
}

// summarise computes the geometric means and the cost model's errors.
func (r *EvalReport) summarise() {
	r.GeomeanSpeedup, r.GeomeanEfficiency = map[string]float64{}, map[string]float64{}
	temp := map[string]EvalRow{}
	for _, row := range r.Rows {
		if row.Section == "main" && row.Configuration == "temp" && row.Fits {
			temp[row.Model] = row
		}
	}
	type acc struct{ logS, logE float64 }
	sums, counts := map[string]*acc{}, map[string]int{}
	for _, row := range r.Rows {
		t, ok := temp[row.Model]
		if row.Section != "main" || row.Configuration == "temp" || !row.Fits || !ok {
			continue
		}
		keys := []string{row.Configuration}
		if slices.Contains(canonicalConfigs, row.Configuration) {
			keys = append(keys, "overall")
		}
		for _, k := range keys {
			if sums[k] == nil {
				sums[k] = &acc{}
			}
			sums[k].logS += math.Log(t.TokensPerSecond / row.TokensPerSecond)
			sums[k].logE += math.Log(t.TokensPerJoule / row.TokensPerJoule)
			counts[k]++
		}
	}
	for k, a := range sums {
		r.GeomeanSpeedup[k] = math.Exp(a.logS / float64(counts[k]))
		r.GeomeanEfficiency[k] = math.Exp(a.logE / float64(counts[k]))
	}
	r.ladder()
	var errs, signed []float64
	for _, row := range r.plans() {
		e := row.SimulatedStep/row.PredictedStep - 1
		errs, signed = append(errs, math.Abs(e)), append(signed, e)
	}
	if len(errs) > 0 {
		sort.Float64s(errs)
		sort.Float64s(signed)
		r.CostModel = ErrStats{Plans: len(errs), Median: validate.Quantile(errs, 0.5), P95: validate.Quantile(errs, 0.95),
			Max: errs[len(errs)-1], Signed: validate.Quantile(signed, 0.5)}
	}
}
