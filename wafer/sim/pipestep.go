package sim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// PipelineStep simulates a pipeline plan's step (plan.Pipeline) on s, the
// joined mesh of its cluster (wafer.Spec.Joined): every stage's passes in
// their order, the boundary transfers between the wafers and the tied
// exchange, packet by packet, with the plan's dependencies.
//
// Unless cfg.Full, or the pipeline runs too few micro-batches for it to
// pay, the step is replayed with lo and lo+p micro-batches, p+1 ≤ lo ≤ 2p
// and lo ≡ m modulo p (each stage's order restricted to them,
// plan.ExpandMicroBatches), and every figure extrapolated affinely, p
// micro-batches at a time, to the plan's m. More micro-batches add
// forward and backward passes to every stage's steady phase, which the
// slowest stage paces, while the fill, the drain, the DP sync and the
// optimizer stay: in steady state the step grows by the same time every p
// micro-batches (for equal stages without transfers, every one: the closed
// form (m+p−1)·(tf+tb) of 1F1B and GPipe). Peaks are extrapolated too:
// GPipe keeps every micro-batch's activations, 1F1B at most p per stage.
// The layers inside each pass are replayed in full: the slowest stage,
// which sets the step, may change with them.
//
// The replays run side by side unless together they would hold more than
// cfg.MaxParallelTasks tasks; then one after the other, the shorter first
// and dropped once measured.
func PipelineStep(s *wafer.Spec, p *plan.Plan, cfg StepConfig) (*StepResult, error) {
	pl := p.Pipeline
	if pl == nil {
		return nil, fmt.Errorf("sim: the plan is not a pipeline; use Step")
	}
	m, stages := pl.MicroBatches, len(pl.Stages)
	// The short replay runs lo micro-batches, the long one lo+p: one more
	// in every stage's steady phase would do for equal passes without
	// transfers, but with transfers between the wafers 1F1B's step grows
	// by a pattern that repeats every p micro-batches (on two stages
	// with transfers of a tenth of a forward pass, alternately by
	// tf+tb and by tf+tb+2·transfer), so the step is affine over whole
	// periods only. lo is at least p+1 (with exactly p, stage 0 runs one
	// forward–backward pair between its warm-up and drain, not yet the
	// steady state) and congruent to m modulo p.
	lo := stages + 1 + (m-stages-1)%stages
	counts := []int{m}
	if !cfg.Full && m > lo+stages {
		counts = []int{lo + stages, lo}
	}
	results := make([]*Result, len(counts))
	exps := make([]*plan.Expansion, len(counts))
	stats := make([]*PipelineStats, len(counts))
	out := &StepResult{Replays: make([]Replay, len(counts))}
	var tasks, longest int64 // the replays' tasks together, and the longest's
	for _, c := range counts {
		n := p.ExpandedMicroBatchTasks(c)
		tasks, longest = tasks+n, max(longest, n)
	}
	// Replays run side by side, one per CPU, unless together they would
	// hold more than maxParallelTasks or more than the memory there is;
	// then one after the other, each expansion dropped once its replay is
	// measured (but the longest's, the sample).
	limit := cfg.MaxParallelTasks
	if limit <= 0 {
		limit = MaxParallelTasks
	}
	have := cfg.memory()
	side := float64(tasks) <= limit && fitMemory("", tasks, have) == nil
	if !side {
		if err := fitMemory(fmt.Sprintf("the pipeline's replay of %d micro-batches", counts[0]), longest, have); err != nil {
			return nil, err
		}
	}
	expand := func(j int) error {
		ex, err := p.ExpandMicroBatches(counts[j])
		exps[j] = ex
		return err
	}
	// With layers in full, a large model's replay may exceed the event
	// limit at the default packet size: every replay then takes the
	// smallest power-of-two packet that fits them all (one size, so that
	// they extrapolate alike); the longest needs the largest.
	auto := int64(0)
	if cfg.PacketBytes == 0 {
		if err := expand(0); err != nil {
			return nil, err
		}
		_, err := Measure(s, &exps[0].Program, cfg.Config)
		var le *LimitError
		switch {
		case errors.As(err, &le) && le.Suggest > 0:
			auto = le.Suggest
			cfg.PacketBytes = auto
		case err != nil:
			return nil, fmt.Errorf("sim: the pipeline with %d micro-batches: %w", counts[0], err)
		}
		if !side {
			exps[0] = nil
		}
	}
	replay := func(j int) error {
		start := time.Now()
		if exps[j] == nil {
			if err := expand(j); err != nil {
				return err
			}
		}
		r, err := Run(s, &exps[j].Program, cfg.Config)
		if err != nil {
			return fmt.Errorf("sim: the pipeline with %d micro-batches: %w", counts[j], err)
		}
		results[j], stats[j] = r, pipelineStats(pl, exps[j], r)
		out.Replays[j] = Replay{Counts: []int{counts[j]}, Makespan: r.Makespan, Events: r.Events, Tasks: len(exps[j].Program.Tasks),
			WallClock: time.Since(start).Seconds()}
		if j > 0 && !side {
			exps[j], r.Tasks = nil, nil
		}
		return nil
	}
	if side {
		errs := make([]error, len(counts))
		sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
		var wg sync.WaitGroup
		for j := range counts {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				errs[j] = replay(j)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	} else {
		for j := len(counts) - 1; j >= 0; j-- {
			if err := replay(j); err != nil {
				return nil, err
			}
		}
	}
	packets := ""
	if auto > 0 {
		packets = fmt.Sprintf("; packets of %d bytes, the default's event count being above the limit", auto)
	}
	for _, r := range results {
		out.Events += r.Events
	}
	out.Sample, out.Expansion = results[0], exps[0]
	if len(counts) == 1 {
		r := results[0]
		out.Makespan, out.Energy, out.Links, out.Dies = r.Makespan, r.Energy, r.Links, r.Dies
		out.Pipeline = stats[0]
		out.Method = fmt.Sprintf("whole pipeline step: all %d micro-batches through every stage replayed, packet by packet, with the plan's dependencies%s", m, packets)
		return out, nil
	}
	// Affine in the micro-batches, from the replays at lo (short) and
	// lo+1 (long).
	long, short := results[0], results[1]
	t := float64((m - lo) / stages)
	affine := func(a, b float64) float64 { return a + t*(b-a) }
	out.Makespan = affine(short.Makespan, long.Makespan)
	out.Energy = Energy{
		Compute: affine(short.Energy.Compute, long.Energy.Compute),
		HBM:     affine(short.Energy.HBM, long.Energy.HBM),
		SRAM:    affine(short.Energy.SRAM, long.Energy.SRAM),
		D2D:     affine(short.Energy.D2D, long.Energy.D2D),
		Static:  s.StaticWatts() * out.Makespan,
	}
	// The replays run the same blocks, so they use the same links and
	// dies; they are matched by ID all the same (a figure the short one
	// lacks is zero there).
	shortLinks := map[wafer.LinkID]LinkStats{}
	for _, l := range short.Links {
		shortLinks[l.Link] = l
	}
	for _, l := range long.Links {
		a := shortLinks[l.Link]
		l.Bytes, l.BusySeconds = affine(a.Bytes, l.Bytes), affine(a.BusySeconds, l.BusySeconds)
		if out.Makespan > 0 {
			l.Utilization = l.BusySeconds / out.Makespan
		}
		out.Links = append(out.Links, l)
	}
	shortDies := map[wafer.DieID]DieStats{}
	for _, d := range short.Dies {
		shortDies[d.Die] = d
	}
	for _, d := range long.Dies {
		a := shortDies[d.Die]
		d.BusySeconds = affine(a.BusySeconds, d.BusySeconds)
		d.IdleSeconds = out.Makespan - d.BusySeconds
		d.HBMBytes = affine(a.HBMBytes, d.HBMBytes)
		d.HBMBusySeconds = affine(a.HBMBusySeconds, d.HBMBusySeconds)
		// A peak grows with the micro-batches a stage keeps in flight
		// (GPipe), or stays (1F1B): extrapolated, never below a replay's.
		d.PeakSRAMBytes = max(affine(a.PeakSRAMBytes, d.PeakSRAMBytes), d.PeakSRAMBytes)
		d.PeakMemoryBytes = max(affine(a.PeakMemoryBytes, d.PeakMemoryBytes), d.PeakMemoryBytes)
		out.Dies = append(out.Dies, d)
	}
	out.Pipeline = &PipelineStats{Span: affine(stats[1].Span, stats[0].Span)}
	for k := range stats[0].PassSeconds {
		out.Pipeline.PassSeconds = append(out.Pipeline.PassSeconds, affine(stats[1].PassSeconds[k], stats[0].PassSeconds[k]))
	}
	out.Loops = []Loop{{Names: []string{"micro-batches"}, Count: m, Short: lo}}
	out.Method = fmt.Sprintf("steady state: the pipeline replayed, packet by packet, with %d and %d micro-batches (every pass's layers in full), and every figure extrapolated affinely, a period of %d micro-batches at a time, to its %d%s", lo, lo+stages, stages, m, packets)
	return out, nil
}

// MaxParallelTasks bounds the tasks of a pipeline's replays run side by
// side by default: some 16 GB of expanded program and simulator state at about 1 KB a
// task (gpt3-175b on two temp32 wafers, 11.2 M tasks in two replays,
// peaked at 10.9 GB).
const MaxParallelTasks = 16e6

// PipelineStats is what a pipeline's stages did over a step: PassSeconds,
// per stage, the time it was inside a pass (the union of its pass blocks'
// runs, from their first task's start to their last task's end, a receive
// waiting for its message not counted as started); Span the time from the
// first pass's start to the last pass's end, on any stage. The pipeline
// bubble is the share of the span the stages spent outside their passes
// (Bubble).
type PipelineStats struct {
	PassSeconds []float64 `json:"pass_seconds"`
	Span        float64   `json:"span_seconds"`
}

// Bubble is 1 − Σ PassSeconds / (stages · Span).
func (ps *PipelineStats) Bubble() float64 {
	if ps.Span <= 0 || len(ps.PassSeconds) == 0 {
		return 0
	}
	in := 0.0
	for _, x := range ps.PassSeconds {
		in += x
	}
	return 1 - in/(float64(len(ps.PassSeconds))*ps.Span)
}

// pipelineStats measures a replay's passes per stage.
func pipelineStats(pl *plan.Pipeline, ex *plan.Expansion, r *Result) *PipelineStats {
	stageOf := map[*plan.Program]int{}
	var mark func(nodes []plan.Node, k int)
	mark = func(nodes []plan.Node, k int) {
		for i := range nodes {
			if nodes[i].Program != nil {
				stageOf[nodes[i].Program] = k
			}
			mark(nodes[i].Body, k)
		}
	}
	for k := range pl.Stages {
		st := &pl.Stages[k]
		for _, nodes := range [][]plan.Node{st.Forward, st.Backward, st.LastBackward} {
			mark(nodes, k)
		}
	}
	type span struct{ a, b float64 }
	spans := make([][]span, len(pl.Stages))
	first, last := math.Inf(1), 0.0
	for _, run := range ex.Runs {
		k, ok := stageOf[run.Node.Program]
		n := len(run.Node.Program.Tasks)
		if !ok || n == 0 {
			continue
		}
		a, b := math.Inf(1), 0.0
		for i := range n {
			id := int(run.First) + i
			if ex.Program.Tasks[id].Kind != plan.Recv {
				a = min(a, r.Tasks[id].Start)
			}
			b = max(b, r.Tasks[id].End)
		}
		a = min(a, b)
		spans[k] = append(spans[k], span{a, b})
		first, last = min(first, a), max(last, b)
	}
	ps := &PipelineStats{Span: max(0, last-first)}
	for _, ss := range spans {
		slices.SortFunc(ss, func(x, y span) int { return cmp.Compare(x.a, y.a) })
		in, end := 0.0, math.Inf(-1)
		for _, s := range ss {
			if s.b <= end {
				continue
			}
			in += s.b - max(s.a, end)
			end = s.b
		}
		ps.PassSeconds = append(ps.PassSeconds, in)
	}
	return ps
}
