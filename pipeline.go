package tempc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/ir"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// PipelineOptions plans a model's training step across wafers: its blocks
// cut into contiguous pipeline stages, one per wafer, each stage planned
// on its wafer by the global level.
type PipelineOptions struct {
	// Options names the model (Model: a preset, config.json or ONNX file;
	// not a graph), the wafer every stage runs on (with or without its
	// cluster object), and the space, mapper and solver of each stage's
	// plan. Solver.TimeLimit bounds the whole search, loading the model
	// included (zero: DefaultPipelineTimeLimit); each stage solve runs
	// within what is left of it, and at most ilp.DefaultTimeLimit.
	Options
	// Stages is the pipeline depth, one stage per wafer (0: the wafer
	// file's cluster.wafers).
	Stages int
	// Schedule is the pipeline schedule (zero value: 1F1B); GPipe and
	// 1F1B are planned.
	Schedule partition.Schedule
	// MicroBatches is the micro-batches per step, which every stage
	// shares (0: a planning choice among the powers of two from the
	// stages to the batch that divide it, the best step kept).
	MicroBatches int
}

// DefaultPipelineTimeLimit bounds a pipeline search whose
// Solver.TimeLimit is zero. The longest search measured, gpt3-175b on six
// temp48 wafers (596 stage solves), took 14.7 minutes on 2 cores.
const DefaultPipelineTimeLimit = 30 * time.Minute

// budget is the pipeline search's deadline, its time limit from now.
func (o PipelineOptions) budget(ctx context.Context) (context.Context, context.CancelFunc) {
	limit := o.Solver.TimeLimit
	if limit <= 0 {
		limit = DefaultPipelineTimeLimit
	}
	return context.WithTimeout(ctx, limit)
}

// timeUp turns the search's deadline, once passed, into an error saying
// what ran out; a caller's own cancellation is returned as it is.
func (o PipelineOptions) timeUp(caller context.Context, stage string, err error) error {
	if err == nil || caller.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	limit := o.Solver.TimeLimit
	if limit <= 0 {
		limit = DefaultPipelineTimeLimit
	}
	return fmt.Errorf("tempc: time limit %v reached while %s (%w); raise the time limit (--time-limit; Options.Solver.TimeLimit), fix --pipeline-micro-batches or use fewer stages", limit, stage, err)
}

// PipelineStage is one stage of a planned pipeline: blocks First to
// Last−1 (with the embedding on the first stage, the head on the last),
// the activations of InFlight micro-batches held at once, its plan, and
// what one micro-batch costs it (its plan's step without the DP sync and
// optimizer, which Fixed holds, over the micro-batches, split into passes
// by their FLOPs).
type PipelineStage struct {
	First, Last       int
	InFlight          int
	Solved            *Solved
	Forward, Backward float64
	Fixed             float64
}

// PipelineResult is a planned pipeline: its stages, the schedule's
// timeline over them (costmodel.Pipeline), Transfer the seconds to move
// one micro-batch's activation (or its gradient) to the next wafer, and
// the predicted step: the timeline plus the slowest stage's DP sync and
// optimizer (with, on the first and last stage, the tied exchange).
// Solves counts the stage plans the search solved.
type PipelineResult struct {
	Model string
	Wafer string
	// Cluster is the wafers the stages run on: the wafer file's cluster,
	// or wafer.DefaultCluster of one wafer per stage.
	Cluster      *wafer.Cluster
	Schedule     partition.Schedule
	MicroBatches int
	Stages       []PipelineStage
	Transfer     float64
	// TiedSeconds is the first and last stage's exchange of a tied
	// embedding's gradient before their optimizers (zero without one).
	TiedSeconds     float64
	Timeline        *costmodel.PipelineTimeline
	StepSeconds     float64
	TokensPerSecond float64
	Solves          int
	// Counts are the micro-batch counts tried and the best step each
	// gave (those that fit).
	Counts []CountStep
	// NonMonotone, when not empty, names two plans of one stage position
	// where more blocks took less time per micro-batch, which the search
	// assumes never happens: the split found may then not be the best.
	NonMonotone string
	// TimeUp says the time limit ended the search before every
	// micro-batch count (or, on one wafer, every cut) was planned: the
	// result is the best of those that were (Counts, Cuts).
	TimeUp bool
	// Cut, for a pipeline on one wafer (PlanOnWafer), is how the wafer
	// was cut into the stages' slabs, and Cuts what every cut tried gave;
	// both are nil across wafers.
	Cut  *wafer.Cut
	Cuts []CutStep
}

// StageInfeasibleError says why no split of the blocks fits: for each
// stage of the even split that does not fit, the least memory per die its
// plan needs.
type StageInfeasibleError struct {
	Model string
	// Count is the stages asked for; Stages explains those that do not
	// fit with the first of the micro-batch counts tried (MicroBatches),
	// none of which fits.
	Count        int
	Stages       []string
	MicroBatches []int
}

func (e *StageInfeasibleError) Error() string {
	counts := ""
	if len(e.MicroBatches) > 1 {
		s := make([]string, len(e.MicroBatches))
		for i, m := range e.MicroBatches {
			s[i] = fmt.Sprint(m)
		}
		counts = fmt.Sprintf(" with any of %s micro-batches; with %d", strings.Join(s, ", "), e.MicroBatches[0])
	}
	return fmt.Sprintf("tempc: no split of %s into %d stages fits%s: %s", e.Model, e.Count, counts, strings.Join(e.Stages, "; "))
}

// PlanPipeline cuts the model into Stages contiguous stages and plans each
// on its wafer, choosing the split that minimises the slowest stage's time
// per micro-batch (the pipeline's period), then runs the schedule over the
// stages' times.
//
// The search is exact for that bottleneck under one assumption, which it
// checks where it looks: a stage's best time per micro-batch does not
// fall as it takes more blocks. Then a bottleneck B is reachable iff each
// stage in turn, taking the most blocks whose time stays within B, leaves
// the last stage within B; the search bisects B to 1e-4 relative,
// solving each (stage position, blocks, micro-batches in flight) once.
// Memory decides with time: a stage that does not fit its wafer has no
// time. A stage holds the activations of the micro-batches its schedule
// keeps in flight (1F1B: min(p−r, m) on stage r; GPipe: m). Unless
// MicroBatches fixes it, every micro-batch count m that is a power of two
// from the stages to the batch and divides it is searched so, and the
// count with the best step kept (Counts lists them all). ctx and
// Solver.TimeLimit bound the whole search (see PipelineOptions); when ctx
// ends, its error is returned.
func PlanPipeline(ctx context.Context, o PipelineOptions) (*PipelineResult, error) {
	caller := ctx
	ctx, cancel := o.budget(ctx)
	defer cancel()
	res, err := planPipeline(ctx, o)
	if err := o.timeUp(caller, "searching the pipeline split", err); err != nil {
		return nil, err
	}
	if err := cancelled(caller, nil); err != nil {
		return nil, err
	}
	return res, nil
}

func planPipeline(ctx context.Context, o PipelineOptions) (*PipelineResult, error) {
	if o.Graph != nil || o.Model == "" {
		return nil, errors.New("tempc: a pipeline needs a model by name (preset, config.json or ONNX), not a graph")
	}
	if o.Schedule != partition.OneFOneB && o.Schedule != partition.GPipe {
		return nil, fmt.Errorf("tempc: planning the %s schedule is not supported; plan with 1f1b or gpipe", o.Schedule)
	}
	arch, err := frontend.LoadArchContext(ctx, o.Model, o.Seq, true)
	if err != nil {
		return nil, err
	}
	spec := o.Spec
	if spec == nil {
		if spec, err = wafer.Load(o.Wafer); err != nil {
			return nil, err
		}
	}
	cluster := spec.Cluster
	p := o.Stages
	if p == 0 && cluster != nil {
		p = cluster.Wafers
	}
	if p == 0 {
		return nil, fmt.Errorf("tempc: no pipeline depth: give the stages (--wafers) or a wafer file with a cluster object")
	}
	if cluster == nil {
		cluster = wafer.DefaultCluster(spec, p)
	}
	if p > cluster.Wafers {
		return nil, fmt.Errorf("tempc: %d pipeline stages on %s's cluster of %d wafers: one stage per wafer", p, spec.Name, cluster.Wafers)
	}
	one := *spec
	one.Cluster = nil
	L := int(arch.Layers)
	if p < 1 || p > L || p > wafer.MaxWafers {
		return nil, fmt.Errorf("tempc: %d pipeline stages for %d blocks: want 1 to %d", p, L, min(L, wafer.MaxWafers))
	}
	batch, seq := o.Batch, o.Seq
	if batch == 0 {
		batch = frontend.DefaultBatch
	}
	if seq == 0 {
		seq = arch.MaxPositions
	}
	if o.MicroBatches < 0 {
		return nil, fmt.Errorf("tempc: %d micro-batches per step: want a positive count, or 0 to search the counts", o.MicroBatches)
	}
	counts := []int{o.MicroBatches}
	if o.MicroBatches == 0 {
		counts = nil
		for m := 1; m <= int(batch); m *= 2 {
			if m >= p && batch%int64(m) == 0 {
				counts = append(counts, m)
			}
		}
	}
	var best *PipelineResult
	var tried []CountStep
	var firstErr error
	solves := 0
	for _, m := range counts {
		if m < 1 || batch%int64(m) != 0 {
			return nil, fmt.Errorf("tempc: %d micro-batches do not divide the batch of %d sequences", m, batch)
		}
		res, n, err := planCount(ctx, o, arch, spec.Name, &one, cluster, p, m, batch, seq)
		solves += n
		if best != nil && errors.Is(err, context.DeadlineExceeded) {
			best.TimeUp = true // keep the counts planned, as a single-wafer search keeps its solve
			break
		}
		var inf *StageInfeasibleError
		switch {
		case errors.As(err, &inf):
			if firstErr == nil {
				firstErr = err
			}
			continue
		case err != nil:
			return nil, err
		}
		tried = append(tried, CountStep{MicroBatches: m, StepSeconds: res.StepSeconds})
		if best == nil || res.StepSeconds < best.StepSeconds {
			best = res
		}
	}
	if best == nil {
		if firstErr == nil {
			return nil, fmt.Errorf("tempc: no micro-batch count for %d stages divides the batch of %d sequences", p, batch)
		}
		var inf *StageInfeasibleError
		if errors.As(firstErr, &inf) {
			inf.MicroBatches = counts
		}
		return nil, firstErr
	}
	best.Solves, best.Counts = solves, tried
	return best, nil
}

// routable checks, before a split's throughput is reported, that live
// dies and links join every stage's dies to the next stage's (and the
// first's to the last's), so that lowering can route every boundary and
// tied transfer around the cluster's faults (lower.CheckPipelineRoutes).
func routable(one *wafer.Spec, cluster *wafer.Cluster, stages []PipelineStage) error {
	if len(stages) < 2 {
		return nil // one stage is the single-wafer plan: nothing crosses a seam
	}
	spec := *one
	spec.Cluster = cluster
	joined, err := spec.Joined()
	if err != nil {
		return err
	}
	dies := make([][]wafer.DieID, len(stages))
	for k, st := range stages {
		sv := st.Solved
		for _, ring := range sv.Table.Mappings[sv.Solution.Assignment.Layout].Rings {
			dies[k] = append(dies[k], ring...)
		}
	}
	if err := lower.CheckPipelineRoutes(joined, dies); err != nil {
		return fmt.Errorf("tempc: the pipeline's stages cannot reach each other on %s's cluster: %w", one.Name, err)
	}
	return nil
}

// CountStep is the best step a micro-batch count gave.
type CountStep struct {
	MicroBatches int     `json:"micro_batches"`
	StepSeconds  float64 `json:"step_seconds"`
}

// planCount plans the pipeline for m micro-batches per step, returning the
// stage solves it ran.
func planCount(ctx context.Context, o PipelineOptions, arch *frontend.Arch, waferName string, one *wafer.Spec, cluster *wafer.Cluster,
	p, m int, batch, seq int64) (*PipelineResult, int, error) {
	pl := &planner{ctx: ctx, o: o, arch: arch, spec: one, p: p, m: m, batch: batch, seq: seq, memo: map[stageKey]*stageOutcome{}}
	split, err := pl.search()
	if err != nil {
		return nil, len(pl.memo), err
	}
	res := &PipelineResult{Model: arch.Name, Wafer: waferName, Cluster: cluster, Schedule: o.Schedule, MicroBatches: m,
		NonMonotone: pl.nonMonotone}
	// One micro-batch's activation over the edge's links together.
	res.Transfer = float64(boundaryBytes(arch, batch, seq, m))/cluster.EdgeBandwidth + cluster.Latency
	var t costmodel.StageTimes
	fixed := 0.0
	for r := range p {
		out := pl.memo[pl.key(r, split[r], split[r+1])]
		res.Stages = append(res.Stages, PipelineStage{First: split[r], Last: split[r+1], InFlight: pl.inFlight(r), Solved: out.sv,
			Forward: out.fwd, Backward: out.bwd, Fixed: out.fixed})
		t.Forward, t.Backward = append(t.Forward, out.fwd), append(t.Backward, out.bwd)
		if r > 0 {
			t.Transfer = append(t.Transfer, res.Transfer)
		}
		fixed = max(fixed, out.fixed)
	}
	if arch.TiedEmbeddings && p > 1 {
		// The first and last stage exchange the tied table's gradient
		// before their optimizers (lower.Pipeline): each replica pair
		// both ways at once, over the edges between them.
		pairs := max(res.Stages[0].Solved.Report.Layout.DP, res.Stages[p-1].Solved.Report.Layout.DP)
		res.TiedSeconds = float64(pairs)*float64(tiedBytes(arch))/cluster.EdgeBandwidth + float64(p-1)*cluster.Latency
		for _, r := range []int{0, p - 1} {
			fixed = max(fixed, res.Stages[r].Fixed+res.TiedSeconds)
		}
	}
	if err := routable(one, cluster, res.Stages); err != nil {
		return nil, len(pl.memo), err
	}
	order, err := partition.PipelineOrder(o.Schedule, p, m, 1)
	if err != nil {
		return nil, len(pl.memo), err
	}
	if res.Timeline, err = costmodel.Pipeline(order, t); err != nil {
		return nil, len(pl.memo), err
	}
	res.StepSeconds = res.Timeline.Makespan + fixed
	res.TokensPerSecond = float64(batch*seq) / res.StepSeconds
	return res, len(pl.memo), nil
}

// stageKey is what a stage's plan depends on.
type stageKey struct {
	embed, head bool
	blocks      int
	inFlight    int
}

// stageOutcome is a stage solved: its plan and times, or why it does not
// fit (err: out of memory or no layout).
type stageOutcome struct {
	sv              *Solved
	fwd, bwd, fixed float64
	err             error
}

// within says the stage fits its wafer and takes at most b per
// micro-batch.
func (s *stageOutcome) within(b float64) bool { return s.err == nil && s.period() <= b }

// period is the stage's time per micro-batch, infinite when it does not
// fit.
func (s *stageOutcome) period() float64 {
	if s.err != nil {
		return math.Inf(1)
	}
	return s.fwd + s.bwd
}

type planner struct {
	ctx         context.Context
	o           PipelineOptions
	arch        *frontend.Arch
	spec        *wafer.Spec
	p, m        int
	batch, seq  int64
	memo        map[stageKey]*stageOutcome
	nonMonotone string // the first pair of stage times seen falling with more blocks
}

func (pl *planner) inFlight(r int) int {
	if pl.o.Schedule == partition.GPipe {
		return pl.m
	}
	return min(pl.p-r, pl.m)
}

func (pl *planner) key(r, first, last int) stageKey {
	return stageKey{embed: first == 0, head: last == int(pl.arch.Layers), blocks: last - first, inFlight: pl.inFlight(r)}
}

// stage solves stage r holding blocks [first, last), once per key.
func (pl *planner) stage(r, first, last int) (*stageOutcome, error) {
	k := pl.key(r, first, last)
	if out, ok := pl.memo[k]; ok {
		return out, nil
	}
	g, sv, err := solveStage(pl.ctx, pl.o.Options, pl.arch, pl.spec, pl.batch, pl.seq, first, last, k.inFlight, pl.m)
	if g == nil {
		return nil, err
	}
	out := &stageOutcome{err: err}
	var oom *ilp.OutOfMemoryError
	var nl *ilp.NoLayoutError
	switch {
	case errors.As(err, &oom) || errors.As(err, &nl) || errors.Is(err, partition.ErrNoLayout):
	case err != nil:
		return nil, err
	default:
		r := sv.Report
		if r.Layout.MicroBatches != int64(pl.m) {
			return nil, fmt.Errorf("tempc: stage %s runs %d micro-batches where the pipeline runs %d (a bug)", g.Name, r.Layout.MicroBatches, pl.m)
		}
		per := max(0, r.StepSeconds-r.SyncOptimizerSeconds) / float64(pl.m)
		fl := g.Summary().FLOPsByPhase
		share := fl.Forward / (fl.Forward + fl.Backward)
		out.sv, out.fwd, out.bwd, out.fixed = sv, per*share, per*(1-share), r.SyncOptimizerSeconds
	}
	for other, prev := range pl.memo { // the assumption the search rests on
		if other.embed == k.embed && other.head == k.head && other.inFlight == k.inFlight && pl.nonMonotone == "" &&
			(other.blocks < k.blocks && prev.period() > out.period() || other.blocks > k.blocks && prev.period() < out.period()) {
			pl.nonMonotone = fmt.Sprintf("%d blocks take %.6g s per micro-batch, %d blocks %.6g s", other.blocks, prev.period(), k.blocks, out.period())
		}
	}
	pl.memo[k] = out
	return out, nil
}

// solveStage builds the stage graph of blocks [first, last) and plans it
// on spec holding inFlight micro-batches' activations, its layouts
// running m micro-batches. A nil graph means the graph could not be
// built; otherwise err is the solve's.
func solveStage(ctx context.Context, o Options, arch *frontend.Arch, spec *wafer.Spec, batch, seq int64, first, last, inFlight, m int) (*ir.Graph, *Solved, error) {
	g, err := frontend.BuildStageContext(ctx, arch, frontend.Options{Batch: batch, Seq: seq}, first, last)
	if err != nil {
		return nil, nil, err
	}
	o.Graph, o.Spec, o.Batch, o.Seq = g, spec, 0, 0
	if o.Solver.TimeLimit <= 0 || o.Solver.TimeLimit > ilp.DefaultTimeLimit {
		o.Solver.TimeLimit = ilp.DefaultTimeLimit // and ctx: what is left of the search's
	}
	o.Params.InFlight = inFlight
	o.Space.MicroBatchCount = m
	sv, err := Solve(ctx, o)
	return g, sv, err
}

// fits is the split whose every stage's period is at most b, each stage
// but the last taking the most blocks that keeps it so, or nil.
func (pl *planner) fits(b float64) ([]int, error) {
	L := int(pl.arch.Layers)
	split := []int{0}
	pos := 0
	for r := 0; r < pl.p-1; r++ {
		lo, hi := 1, L-pos-(pl.p-1-r) // leave a block for every later stage
		best := 0
		for lo <= hi { // the largest n whose period is within b
			n := (lo + hi) / 2
			out, err := pl.stage(r, pos, pos+n)
			if err != nil {
				return nil, err
			}
			if out.within(b) {
				best, lo = n, n+1
			} else {
				hi = n - 1
			}
		}
		if best == 0 {
			return nil, nil
		}
		pos += best
		split = append(split, pos)
	}
	out, err := pl.stage(pl.p-1, pos, L)
	if err != nil || !out.within(b) {
		return nil, err
	}
	return append(split, L), nil
}

// bottleneck is the slowest period of a split.
func (pl *planner) bottleneck(split []int) float64 {
	b := 0.0
	for r := range pl.p {
		b = max(b, pl.memo[pl.key(r, split[r], split[r+1])].period())
	}
	return b
}

// search bisects the bottleneck between 0 and that of the split the
// greedy finds without bound.
func (pl *planner) search() ([]int, error) {
	best, err := pl.fits(math.Inf(1))
	if err != nil {
		return nil, err
	}
	if best == nil {
		return nil, pl.infeasible()
	}
	lo, hi := 0.0, pl.bottleneck(best)
	for hi-lo > 1e-4*hi {
		if err := pl.ctx.Err(); err != nil {
			return nil, err
		}
		mid := (lo + hi) / 2
		split, err := pl.fits(mid)
		if err != nil {
			return nil, err
		}
		if split == nil {
			lo = mid
			continue
		}
		best, hi = split, pl.bottleneck(split)
	}
	return best, nil
}

// infeasible explains why nothing fits, stage by stage of the even split.
func (pl *planner) infeasible() error {
	L := int(pl.arch.Layers)
	e := &StageInfeasibleError{Model: pl.arch.Name, Count: pl.p}
	for r := range pl.p {
		first, last := r*L/pl.p, (r+1)*L/pl.p
		out, err := pl.stage(r, first, last)
		if err != nil {
			return err
		}
		var oom *ilp.OutOfMemoryError
		switch {
		case errors.As(out.err, &oom):
			e.Stages = append(e.Stages, fmt.Sprintf("stage %d (blocks %d–%d, %d micro-batches in flight) needs %s per die, above %s", r, first, last-1, pl.inFlight(r), fileio.Bytes(oom.Need), fileio.Bytes(oom.Have)))
		case out.err != nil:
			e.Stages = append(e.Stages, fmt.Sprintf("stage %d (blocks %d–%d): %v", r, first, last-1, out.err))
		}
	}
	return e
}

// CompiledPipeline is a pipeline planned (PipelineResult), lowered into
// one plan over the cluster and verified: Plan runs on Spec, the
// cluster's joined mesh (wafer.Spec.Joined).
type CompiledPipeline struct {
	*PipelineResult
	Plan    *plan.Plan
	Spec    *wafer.Spec
	Summary PlanSummary
}

// CompilePipeline plans the pipeline (PlanPipeline) and lowers it into
// one plan over the cluster: each stage's passes on its wafer
// (lower.Stage), in its schedule's order, and between the wafers each
// micro-batch's activation and gradient and, for a model with tied
// embeddings, the table's gradient exchange (lower.Pipeline). Every
// stage is also lowered as a plan of its own and held to its stage
// graph's work (lower.CheckWork), and the pipeline plan to its cluster
// (plan.Verify); a failure of either is a bug in tempc and says so.
func CompilePipeline(ctx context.Context, o PipelineOptions) (*CompiledPipeline, error) {
	if o.Stages == 1 {
		return nil, errors.New("tempc: a pipeline of one stage is the single-wafer plan; compile it with Compile (tempc compile)")
	}
	caller := ctx
	ctx, cancel := o.budget(ctx)
	defer cancel()
	c, err := compilePipeline(ctx, o)
	if err := o.timeUp(caller, "compiling the pipeline", err); err != nil {
		return nil, err
	}
	if err := cancelled(caller, nil); err != nil {
		return nil, err
	}
	return c, nil
}

func compilePipeline(ctx context.Context, o PipelineOptions) (*CompiledPipeline, error) {
	res, err := PlanPipeline(ctx, o)
	if err != nil {
		return nil, err
	}
	return lowerPipeline(ctx, o, res)
}

// lowerPipeline lowers a planned pipeline into one plan over its cluster
// and verifies it (CompilePipeline).
func lowerPipeline(ctx context.Context, o PipelineOptions, res *PipelineResult) (*CompiledPipeline, error) {
	start := time.Now()
	arch, err := frontend.LoadArchContext(ctx, o.Model, o.Seq, true)
	if err != nil {
		return nil, err
	}
	first := res.Stages[0].Solved
	spec := *first.Spec
	spec.Cluster = res.Cluster
	joined, err := spec.Joined()
	if err != nil {
		return nil, err
	}
	batch, seq := first.Table.Space.Graph.Batch, first.Table.Space.Graph.Seq
	p, m := len(res.Stages), res.MicroBatches
	var stages []lower.PipelineStage
	var spaces []*partition.Space
	for k, ps := range res.Stages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sv := ps.Solved
		if g := sv.Table.Space.Graph; g.Name != frontend.StageName(arch, ps.First, ps.Last) {
			// The search planned a stage of as many blocks elsewhere in
			// the model and reused it: the same work, but the plan must
			// name its own blocks' graph. Planned again there, it must
			// take the same time.
			_, again, err := solveStage(ctx, o.Options, arch, first.Spec, batch, seq, ps.First, ps.Last, ps.InFlight, m)
			if err != nil {
				return nil, err
			}
			if a, b := sv.Report.StepSeconds, again.Report.StepSeconds; math.Abs(a-b) > 1e-9*a {
				return nil, fmt.Errorf("tempc: stage %d planned at blocks %d–%d takes %.9g s, where %s took %.9g s (a bug)", k, ps.First, ps.Last-1, b, g.Name, a)
			}
			sv = again
		}
		spaces = append(spaces, sv.Table.Space)
		a := sv.Solution.Assignment
		single, err := lower.Lower(sv.Table, a)
		if err != nil {
			return nil, err
		}
		if err := single.Verify(sv.Spec); err != nil {
			return nil, fmt.Errorf("tempc: stage %d's plan does not verify (a bug): %w", k, err)
		}
		if err := lower.CheckWork(single, sv.Table.Space); err != nil {
			return nil, fmt.Errorf("tempc: stage %d's plan does not do its graph's work (a bug): %w", k, err)
		}
		st, err := lower.Stage(sv.Table, a)
		if err != nil {
			return nil, err
		}
		st.FirstBlock, st.EndBlock = ps.First, ps.Last
		st.Solver = solverRecord(sv, o.Options)
		t := sv.Table
		last := len(a.Options) - 1
		stages = append(stages, lower.PipelineStage{Stage: st,
			In: t.Options[0][a.Options[0]].Scheme.In(), Out: t.Options[last][a.Options[last]].Scheme.Out()})
	}
	order, err := partition.PipelineOrder(o.Schedule, p, m, 1)
	if err != nil {
		return nil, err
	}
	var tied int64
	if arch.TiedEmbeddings && p > 1 {
		tied = tiedBytes(arch)
	}
	pipe, err := lower.Pipeline(joined, stages, order, o.Schedule, m, boundaryBytes(arch, batch, seq, m), tied)
	if err != nil {
		return nil, err
	}
	full, err := frontend.BuildStageContext(ctx, arch, frontend.Options{Batch: batch, Seq: seq}, 0, int(arch.Layers))
	if err != nil {
		return nil, err
	}
	ws, err := lower.SpecJSON(&spec)
	if err != nil {
		return nil, err
	}
	pl := &plan.Plan{SchemaVersion: plan.SchemaVersion, Model: arch.Name, ModelSource: modelSource(o.Model),
		Batch: batch, Seq: seq, GraphSHA256: lower.GraphSHA256(full), Wafer: spec.Name, WaferSpec: ws,
		Layout: pipelineLayout(pipe), MicroBatch: int(batch) / m, CapacityBytes: first.Table.Capacity,
		PredictedSeconds: res.StepSeconds, Configuration: o.Configuration(), Compiler: "tempc " + Version(), Pipeline: pipe}
	pipe.PredictedBubble = res.Timeline.Bubble
	for _, st := range pipe.Stages {
		pl.Dies = append(pl.Dies, st.Dies...)
		pl.StaticBytes = max(pl.StaticBytes, st.StaticBytes)
		pl.PredictedMemory = max(pl.PredictedMemory, st.PredictedMemory)
	}
	if err := pl.Verify(joined); err != nil {
		return nil, fmt.Errorf("tempc: the lowered pipeline does not verify (a bug): %w", err)
	}
	if err := lower.CheckPipeline(pl, joined, spaces, boundaryBytes(arch, batch, seq, m), tied); err != nil {
		return nil, fmt.Errorf("tempc: the lowered pipeline does not move what its stages exchange (a bug): %w", err)
	}
	lowering := time.Since(start)
	o.say("pipeline lowered and verified in %.2f s", lowering.Seconds())
	stored, expanded := pl.Size()
	descriptors, _, _, _, err := CommFigures(pl, joined)
	if err != nil {
		return nil, err
	}
	return &CompiledPipeline{PipelineResult: res, Plan: pl, Spec: joined, Summary: PlanSummary{TasksStored: stored,
		TasksExpanded: expanded, Blocks: blocks(pl), LowerSeconds: lowering.Seconds(), DMADescriptors: descriptors}}, nil
}

// boundaryBytes is one micro-batch's activation between two stages (its
// sequences' hidden states in bf16), and the size of its gradient.
func boundaryBytes(a *frontend.Arch, batch, seq int64, m int) int64 {
	return batch / int64(m) * seq * a.Hidden * 2
}

// tiedBytes is a tied token table's gradient in bf16.
func tiedBytes(a *frontend.Arch) int64 { return a.Vocab * a.EmbedDim() * 2 }

// PipelineLayout names a planned pipeline's layout by its stages', as
// its lowered plan does (pipelineLayout).
func PipelineLayout(r *PipelineResult) string {
	names := make([]string, len(r.Stages))
	for i, st := range r.Stages {
		names[i] = st.Solved.Report.Layout.Name
	}
	return fmt.Sprintf("pp%d[%s]", len(r.Stages), strings.Join(names, "|"))
}

// pipelineLayout names a pipeline's layout by its stages':
// "pp2[dp2-4x4-mb4-selective-zero|dp2-4x4-mb4-selective-zero]".
func pipelineLayout(pl *plan.Pipeline) string {
	names := make([]string, len(pl.Stages))
	for i, st := range pl.Stages {
		names[i] = st.Layout
	}
	return fmt.Sprintf("pp%d[%s]", len(pl.Stages), strings.Join(names, "|"))
}
