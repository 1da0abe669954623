package sim

import (
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// StepConfig configures Step.
type StepConfig struct {
	Config
	// Full replays every run of the step. Otherwise loops run Short and
	// Short+1 times and the step is extrapolated (see Step).
	Full bool
	// Short is the fewest runs a shortened closed loop keeps (0: 1), and
	// OpenShort an open one's (0: 2): an open loop's first run starts with
	// no background work beside it, so its increments settle a run later.
	Short, OpenShort int
	// MaxFullTasks bounds a replay with its open loops in full (0:
	// MaxFullTasks).
	MaxFullTasks int64
	// MaxParallelTasks bounds the tasks a pipeline's replays may hold
	// together to run side by side (PipelineStep; 0: MaxParallelTasks);
	// beyond it they run one after the other.
	MaxParallelTasks float64
	// Memory says how much more memory the replays may take (nil:
	// AvailableMemory). Replays that would need more (their tasks times
	// BytesPerTask) are refused with a *MemoryError before anything is
	// expanded, or, for a pipeline's, run one after the other when that
	// fits.
	Memory func() Memory
}

// Replay is one simulated variant of a step.
type Replay struct {
	// Counts gives, for each extrapolated loop, the runs it kept.
	Counts []int
	// Prefix says the replay stopped before the step's open tail.
	Prefix    bool
	Makespan  float64
	Events    int64
	Tasks     int
	WallClock float64
}

// Loop is a set of loops extrapolated together: every loop node at the
// same depth with the same count (a step's forward and backward layer
// loops, in every micro-batch loop).
type Loop struct {
	Names []string `json:"names"`
	Depth int      `json:"depth"`
	Count int      `json:"count"`
	// Short is the runs of its short replays (its long ones run one more).
	Short int `json:"short"`
	// Open says the loop's runs leave background work behind (see
	// plan.Program.Closed): it is extrapolated only because replaying it
	// in full would exceed MaxFullTasks, and its figures are less sure.
	Open bool `json:"open,omitempty"`
}

// MaxFullTasks bounds the tasks of a replay in which open loops run in
// full: some 4·10⁸ events, a minute or two of simulation.
const MaxFullTasks = 1_500_000

// StepResult is a whole step simulated.
type StepResult struct {
	// Makespan is the step's time; Energy what it consumed.
	Makespan float64
	Energy   Energy
	// Method says how the step was simulated; Loops the loops
	// extrapolated (none in a full replay) and Replays the runs.
	Method  string
	Loops   []Loop
	Replays []Replay
	Events  int64
	// Links and Dies are per link and per die, as Result's, over the
	// whole step (extrapolated like the makespan).
	Links []LinkStats
	Dies  []DieStats
	// Sample is the longest replay itself, with its expansion: the whole
	// step when Full or nothing was extrapolated, else a shortened one.
	Sample    *Result
	Expansion *plan.Expansion
	// Pipeline is what a pipeline plan's stages did (PipelineStep; nil
	// for other plans).
	Pipeline *PipelineStats
}

// maxLoops bounds the loops a step may extrapolate: 2^n replays.
const maxLoops = 3

// Step simulates a whole training step of p on s, with the plan's
// dependencies as written: runs hand over per die and overlap where the
// plan lets them (plan.Node), so an all-reduce of one layer's gradients
// may run beside the next layer's kernels, and live memory is tracked over
// the step.
//
// Replaying every run of a 96-layer, 16-micro-batch step is some 10⁸
// tasks; unless cfg.Full, Step recognises the step's repeated runs and
// extrapolates from their steady state instead, when every block of the
// step is closed (its runs hand all their work to the runs after them,
// plan.Program.Closed): every loop that runs more than Short+1 times is a
// variable (loops at the same depth with the same count — a micro-batch's
// forward and backward layer loops — are one), the step is replayed with
// each variable at Short and at Short+1 runs (2^n replays for n
// variables, at most 3), and every figure — the makespan, each die's busy
// time, HBM bytes and peak memory, each link's bytes and busy time, the
// energy — is extrapolated to the loops' real counts (multilinearly, but
// for sibling loops' joint terms: cornerWeights). Closed
// runs reach a steady state at once, which makes each figure affine in
// each count; the tests hold this to a full replay within 0.1%.
//
// An open block — the last micro-batch's backward layers, which leave DP
// gradient buckets all-reducing beside the next ones; FSDP's backward,
// whose gradient reduce-scatters do — is not steady from run to run: its
// buckets fall in and out of phase with the kernels (±3% per layer on
// gpt2 at DP 16). Its loops are replayed in full, the closed loops before
// them still extrapolated (which moves the step's end by up to 0.2% on
// gpt2, the buckets' phase being sensitive to everything before them),
// and so are the closed loops inside an open node (the last micro-batch's
// forward layers: shortened, they would change what its backward
// overlaps with), unless that would take more than MaxFullTasks tasks:
// then they are extrapolated too — open loops run OpenShort and
// OpenShort+1 times, peaks taken rather than extrapolated along them —
// and the method says so. When only the tail after the closed prefix is
// open, the 2^n replays stop before it and one more replay runs it
// (Replay.Prefix): the tail is simulated once.
func Step(s *wafer.Spec, p *plan.Plan, cfg StepConfig) (*StepResult, error) {
	if cfg.Short <= 0 {
		cfg.Short = 1
	}
	if cfg.OpenShort <= 0 {
		cfg.OpenShort = 2
	}
	loops, of, tail := stepLoops(p, cfg)
	if len(loops) > maxLoops {
		return nil, fmt.Errorf("sim: the step has %d independent loops to extrapolate, more than %d; simulate it in full", len(loops), maxLoops)
	}
	out := &StepResult{Loops: loops}
	corners := 1 << len(loops)
	last := corners - 1
	openLoops := false
	for _, l := range loops {
		openLoops = openLoops || l.Open
	}
	// split: the open tail (replayed in full in every replay) is chaotic:
	// its length varies by a bucket's time from one replay to the next,
	// which the multilinear mix would multiply by the loops' counts. The
	// corners are then replayed up to the tail only, and the tail once,
	// after the longest corner: its figures are added as that replay ran
	// them.
	split := tail != nil && len(loops) > 0 && !openLoops
	type job struct {
		counts []int
		prefix bool // stop before the open tail
	}
	var jobs []job
	if split {
		jobs = append(jobs, job{counts: cornerCounts(loops, last)})
	}
	for c := corners - 1; c >= 0; c-- {
		jobs = append(jobs, job{counts: cornerCounts(loops, c), prefix: split})
	}
	// Every replay's expansion and result are kept until the step is
	// extrapolated: together they must fit.
	count := func(jb job) func(n *plan.Node) int {
		return func(n *plan.Node) int {
			if jb.prefix && tail[n] {
				return 0
			}
			if v, ok := of[n]; ok {
				return jb.counts[v]
			}
			return n.Count
		}
	}
	var tasks int64
	for _, jb := range jobs {
		tasks += p.ExpandedTasks(count(jb))
	}
	what := "the step's replay"
	if len(jobs) > 1 {
		what = fmt.Sprintf("the step's %d replays", len(jobs))
	}
	if err := fitMemory(what, tasks, cfg.memory()); err != nil {
		return nil, err
	}
	results := make([]*Result, len(jobs))
	exps := make([]*plan.Expansion, len(jobs))
	out.Replays = make([]Replay, len(jobs))
	errs := make([]error, len(jobs))
	// The replays are independent runs: they go in parallel, one per CPU,
	// the longest first.
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for j, jb := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			start := time.Now()
			ex, err := p.Expand(count(jb))
			if err != nil {
				errs[j] = err
				return
			}
			r, err := Run(s, &ex.Program, cfg.Config)
			if err != nil {
				errs[j] = fmt.Errorf("sim: the step%s: %w", countsText(loops, jb.counts), err)
				return
			}
			results[j], exps[j] = r, ex
			out.Replays[j] = Replay{Counts: jb.counts, Prefix: jb.prefix, Makespan: r.Makespan, Events: r.Events,
				Tasks: len(ex.Program.Tasks), WallClock: time.Since(start).Seconds()}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for _, r := range results {
		out.Events += r.Events
	}
	out.Sample, out.Expansion = results[0], exps[0]
	// corner[c] is corner c's replay (prefix-only when split).
	corner := make([]*Result, corners)
	cornerEx := make([]*plan.Expansion, corners)
	for j, jb := range jobs {
		if jb.prefix || !split {
			c := 0
			for v := range loops {
				c |= (jb.counts[v] - loops[v].Short) << v
			}
			corner[c], cornerEx[c] = results[j], exps[j]
		}
	}
	weights := cornerWeights(loops)
	// mix extrapolates an additive figure; peak a maximum, which the tail
	// may set.
	mix := func(f func(*Result) float64) float64 {
		x := 0.0
		for c, r := range corner {
			x += weights[c] * f(r)
		}
		if split {
			x += f(out.Sample) - f(corner[last])
		}
		return x
	}
	// A peak grows along the loops that keep what they allocate (a
	// forward pass's saved activations, open or closed) and is
	// extrapolated like every figure; along the others it stays, but for
	// an open loop's timing noise, which the extrapolation can push below
	// what a replay held: a peak is never less than the largest a replay
	// (or the tail) saw.
	peak := func(f func(*Result) float64) float64 {
		x, seen := 0.0, 0.0
		for c, r := range corner {
			x += weights[c] * f(r)
			seen = max(seen, f(r))
		}
		if split {
			seen = max(seen, f(out.Sample))
		}
		return max(x, seen)
	}
	blockPeaks := blockPeaks(corner, cornerEx, weights, out.Sample, out.Expansion, split)
	out.Makespan = mix(func(r *Result) float64 { return r.Makespan })
	if split {
		// The tail is counted from where the full replay's prefix ended
		// (which its own traffic may have delayed), not from where the
		// prefix-only replay did.
		out.Makespan += corner[last].Makespan - prefixEnd(out.Expansion, out.Sample, tail)
	}
	out.Energy = Energy{
		Compute: mix(func(r *Result) float64 { return r.Energy.Compute }),
		HBM:     mix(func(r *Result) float64 { return r.Energy.HBM }),
		SRAM:    mix(func(r *Result) float64 { return r.Energy.SRAM }),
		D2D:     mix(func(r *Result) float64 { return r.Energy.D2D }),
		Static:  s.StaticWatts() * out.Makespan,
	}
	base := out.Sample
	for i := range base.Links {
		l := base.Links[i]
		l.Bytes = mix(func(r *Result) float64 { return r.Links[i].Bytes })
		l.BusySeconds = mix(func(r *Result) float64 { return r.Links[i].BusySeconds })
		if out.Makespan > 0 {
			l.Utilization = l.BusySeconds / out.Makespan
		}
		out.Links = append(out.Links, l)
	}
	for i := range base.Dies {
		d := base.Dies[i]
		d.BusySeconds = mix(func(r *Result) float64 { return r.Dies[i].BusySeconds })
		d.IdleSeconds = out.Makespan - d.BusySeconds
		d.HBMBytes = mix(func(r *Result) float64 { return r.Dies[i].HBMBytes })
		d.HBMBusySeconds = mix(func(r *Result) float64 { return r.Dies[i].HBMBusySeconds })
		d.PeakSRAMBytes = peak(func(r *Result) float64 { return r.Dies[i].PeakSRAMBytes })
		d.PeakMemoryBytes = max(peak(func(r *Result) float64 { return r.Dies[i].PeakMemoryBytes }), blockPeaks[i])
		d.PeakMemorySeconds = out.Sample.Dies[i].PeakMemorySeconds
		out.Dies = append(out.Dies, d)
	}
	switch {
	case len(loops) == 0:
		out.Method = "whole step: every run of every block replayed, packet by packet, with the plan's dependencies"
	default:
		out.Method = fmt.Sprintf("steady state: the whole step replayed, packet by packet, with each of its closed loops (%s) run %d and %d times (%d replays), the rest in full, and every figure extrapolated multilinearly to the loops' counts",
			loopsText(loops), cfg.Short, cfg.Short+1, corners)
		if openLoops {
			out.Method += fmt.Sprintf(" (open loops %d and %d times)", cfg.OpenShort, cfg.OpenShort+1)
		}
		if split {
			out.Method += "; the open tail replayed once, after the longest corner, and added as it ran"
		}
		for _, l := range loops {
			if l.Open {
				out.Method += "; open loops (marked *) extrapolated too, their full replay being too large, so the figures are less sure"
				break
			}
		}
	}
	return out, nil
}

// cornerWeights gives each corner's weight in the extrapolation: the step
// is written M(t) = Σ_S D_S·Π_{v∈S} t_v over the sets S of loops, t_v =
// count − Short, D_S the finite difference of the corners' figures over
// S. A set holding two loops at the same depth is left out: sibling loops
// (a micro-batch's forward and backward layers) run one after the other,
// so their joint difference is nothing but the noise of an open loop's
// timing, which Π t (some 3,000 for two 59-layer loops) would multiply
// into seconds. Nested loops (micro-batches × layers) keep theirs: a
// layer runs once per micro-batch. With no two loops at one depth this
// is the plain multilinear weight, Π (t or 1 − t).
func cornerWeights(loops []Loop) []float64 {
	n := len(loops)
	allowed := func(S int) bool {
		for u := range n {
			for v := u + 1; v < n; v++ {
				if S>>u&1 == 1 && S>>v&1 == 1 && loops[u].Depth == loops[v].Depth {
					return false
				}
			}
		}
		return true
	}
	w := make([]float64, 1<<n)
	for S := range 1 << n {
		if !allowed(S) {
			continue
		}
		prod := 1.0
		for v, l := range loops {
			if S>>v&1 == 1 {
				prod *= float64(l.Count - l.Short)
			}
		}
		// D_S = Σ_{c ⊆ S} (−1)^{|S|−|c|} M_c.
		for c := S; ; c = (c - 1) & S {
			sign := 1.0
			if bits.OnesCount(uint(S^c))%2 == 1 {
				sign = -1
			}
			w[c] += sign * prod
			if c == 0 {
				break
			}
		}
	}
	return w
}

// cornerCounts gives each loop's runs in corner c: its Short, plus one
// where bit v of c is set.
func cornerCounts(loops []Loop, c int) []int {
	counts := make([]int, len(loops))
	for v, l := range loops {
		counts[v] = l.Short + (c>>v)&1
	}
	return counts
}

// stepLoops finds the loops to extrapolate: closed nodes that run more
// than cfg.Short+1 times, one variable per (depth, count), and open ones
// too (separate variables) if replaying them in full would exceed
// MaxFullTasks.
//
// tail is the open part of the step after its closed prefix: the nodes
// from the first open top-level node on (nil when the step is closed or
// nothing is extrapolated).
func stepLoops(p *plan.Plan, cfg StepConfig) ([]Loop, map[*plan.Node]int, map[*plan.Node]bool) {
	of := map[*plan.Node]int{}
	if cfg.Full {
		return nil, of, nil
	}
	closed := map[*plan.Node]bool{}
	var mark func(nodes []plan.Node) bool
	mark = func(nodes []plan.Node) bool {
		all := true
		for i := range nodes {
			n := &nodes[i]
			c := true
			if n.Program != nil {
				c = n.Program.Closed()
			}
			if !mark(n.Body) {
				c = false
			}
			closed[n], all = c, all && c
		}
		return all
	}
	index := map[[3]int]int{}
	var loops []Loop
	var walk func(nodes []plan.Node, depth int, open bool)
	walk = func(nodes []plan.Node, depth int, open bool) {
		for i := range nodes {
			n := &nodes[i]
			short := cfg.Short
			if !closed[n] {
				short = cfg.OpenShort
			}
			if n.Count > short+1 && (closed[n] || open) {
				k := [3]int{depth, n.Count, 0}
				if !closed[n] {
					k[2] = 1
				}
				v, ok := index[k]
				if !ok {
					v = len(loops)
					index[k] = v
					loops = append(loops, Loop{Depth: depth, Count: n.Count, Short: short, Open: !closed[n]})
				}
				if !slices.Contains(loops[v].Names, n.Name) {
					loops[v].Names = append(loops[v].Names, n.Name)
				}
				of[n] = v
			}
			// A closed loop inside an open node runs in full: shortening
			// it would change what the open runs overlap with.
			if closed[n] || open {
				walk(n.Body, depth+1, open)
			}
		}
	}
	mark(p.Steps)
	walk(p.Steps, 0, false) // closed loops
	limit := cfg.MaxFullTasks
	if limit <= 0 {
		limit = MaxFullTasks
	}
	if replayTasks(p.Steps, of, loops) > limit {
		// The open loops in full would be too large: extrapolate them too.
		loops, of, index = nil, map[*plan.Node]int{}, map[[3]int]int{}
		walk(p.Steps, 0, true)
	}
	for i := range loops {
		sort.Strings(loops[i].Names)
	}
	var tail map[*plan.Node]bool
	for i := range p.Steps {
		if !closed[&p.Steps[i]] {
			tail = map[*plan.Node]bool{}
			var add func(nodes []plan.Node)
			add = func(nodes []plan.Node) {
				for j := range nodes {
					tail[&nodes[j]] = true
					add(nodes[j].Body)
				}
			}
			add(p.Steps[i:])
			break
		}
	}
	return loops, of, tail
}

// prefixEnd is when the last task before the step's open tail ended in a
// replay: the end of its closed prefix.
func prefixEnd(ex *plan.Expansion, r *Result, tail map[*plan.Node]bool) float64 {
	if tail == nil {
		return 0
	}
	end := len(r.Tasks)
	for _, run := range ex.Runs {
		if tail[run.Node] {
			end = int(run.First)
			break
		}
	}
	t := 0.0
	for i := range end {
		t = max(t, r.Tasks[i].End)
	}
	return t
}

// replayTasks counts the tasks of the longest replay: the nodes of loops
// run their Short+1 times, the others their count.
func replayTasks(nodes []plan.Node, of map[*plan.Node]int, loops []Loop) int64 {
	var total int64
	for i := range nodes {
		n := &nodes[i]
		c := int64(n.Count)
		if v, ok := of[n]; ok {
			c = int64(loops[v].Short + 1)
		}
		var one int64
		if n.Program != nil {
			one = int64(len(n.Program.Tasks))
		}
		one += replayTasks(n.Body, of, loops)
		total += c * one
	}
	return total
}

func loopsText(loops []Loop) string {
	var parts []string
	for _, l := range loops {
		mark := ""
		if l.Open {
			mark = "*"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d%s", strings.Join(l.Names, ", "), l.Count, mark))
	}
	return strings.Join(parts, "; ")
}

func countsText(loops []Loop, counts []int) string {
	if len(loops) == 0 {
		return ""
	}
	var parts []string
	for v, l := range loops {
		parts = append(parts, fmt.Sprintf("%s ×%d", strings.Join(l.Names, ", "), counts[v]))
	}
	return " (replayed with " + strings.Join(parts, "; ") + ")"
}

// blockPeaks extrapolates each die's peak memory block by block: the most
// live memory once a task of a block allocated, over its runs, is affine
// in the loops' counts (a block inside a loop peaks in its last run,
// holding what every run before kept; a block after it holds what the
// loop left) even where the die's overall peak moves from one block to
// another between the short replays and the real step — a stream whose
// transients are small leaves a one-layer replay's peak at the LM head,
// the real step's at the last forward layer. Each block's peak is mixed
// over the corners like every figure; with an open tail (split), a tail
// block's peak is the full replay's, shifted by what the extrapolated
// prefix leaves live beyond what the replayed one did.
func blockPeaks(corner []*Result, cornerEx []*plan.Expansion, weights []float64, sample *Result, sampleEx *plan.Expansion, split bool) []float64 {
	dies := len(sample.Dies)
	peaks := make([]map[*plan.Node][]float64, len(corner))
	for c := range corner {
		peaks[c] = runPeaks(cornerEx[c], corner[c], dies)
	}
	out := make([]float64, dies)
	for n := range peaks[0] {
		for d := range dies {
			x := 0.0
			for c := range corner {
				x += weights[c] * peaks[c][n][d]
			}
			out[d] = max(out[d], x)
		}
	}
	if split {
		last := len(corner) - 1
		mixEnd := make([]float64, dies)
		for c := range corner {
			for d, l := range endLive(cornerEx[c], dies) {
				mixEnd[d] += weights[c] * l
			}
		}
		lastEnd := endLive(cornerEx[last], dies)
		for n, pk := range runPeaks(sampleEx, sample, dies) {
			if _, inPrefix := peaks[0][n]; inPrefix {
				continue
			}
			for d := range dies {
				if pk[d] > 0 {
					out[d] = max(out[d], pk[d]+mixEnd[d]-lastEnd[d])
				}
			}
		}
	}
	return out
}

// runPeaks is, per block and die, the most live memory once one of the
// block's tasks allocated, over all its runs.
func runPeaks(ex *plan.Expansion, r *Result, dies int) map[*plan.Node][]float64 {
	out := map[*plan.Node][]float64{}
	for _, run := range ex.Runs {
		pk := out[run.Node]
		if pk == nil {
			pk = make([]float64, dies)
			out[run.Node] = pk
		}
		for i := range run.Node.Program.Tasks {
			id := run.First + plan.TaskID(i)
			if l := r.Tasks[id].Live; l > pk[ex.Program.Tasks[id].Die] {
				pk[ex.Program.Tasks[id].Die] = l
			}
		}
	}
	return out
}

// endLive is what each die holds once every task of ex has run: what
// they allocated less what they freed.
func endLive(ex *plan.Expansion, dies int) []float64 {
	out := make([]float64, dies)
	for i := range ex.Program.Tasks {
		t := &ex.Program.Tasks[i]
		out[t.Die] += float64(t.Alloc - t.Free)
	}
	return out
}
