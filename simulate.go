package tempc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
	"github.com/tempc/tempc/wafer/sim"
)

// SimulateReport compares a plan's simulated step with its predicted one.
// Its JSON field names are documented in the README.
type SimulateReport struct {
	Model     string  `json:"model"`
	Wafer     string  `json:"wafer"`
	Simulated float64 `json:"simulated_step_seconds"`
	Predicted float64 `json:"predicted_step_seconds"`
	// RelErr is (simulated − predicted) / predicted; null when the plan
	// carries no prediction (predicted_step_seconds 0).
	RelErr *float64 `json:"rel_err"`
	// SimulatedMemory is the most memory a die held at once over the
	// step — its static bytes and the peak of what its tasks allocated
	// — on die PeakMemoryDie; PredictedMemory the cost model's peak (zero
	// when the plan carries none), MemoryRelErr the relative error; Fits
	// says the simulated peak is within the die's capacity.
	SimulatedMemory float64  `json:"simulated_peak_memory_bytes_per_die"`
	PeakMemoryDie   string   `json:"peak_memory_die"`
	PredictedMemory float64  `json:"predicted_peak_memory_bytes_per_die"`
	MemoryRelErr    *float64 `json:"memory_rel_err"`
	CapacityBytes   float64  `json:"capacity_bytes_per_die"`
	Fits            bool     `json:"fits"`
	// EnergyBreakdown is the simulated step's energy by part (the
	// simulator's own count of what ran, was carried, and for how long);
	// AveragePower is it over the simulated step; TokensPerJoule the
	// step's tokens over it.
	EnergyBreakdown sim.Energy `json:"energy_breakdown_joules"`
	EnergyJoules    float64    `json:"energy_joules_per_step"`
	// PredictedEnergy is the plan's predicted_energy_joules; EnergyRelErr
	// the simulated energy's relative error against it (null without one).
	PredictedEnergy float64  `json:"predicted_energy_joules"`
	EnergyRelErr    *float64 `json:"energy_rel_err"`
	AveragePower    float64  `json:"average_power_watts"`
	TokensPerJoule  float64  `json:"tokens_per_joule"`
	// ExposedComm is the time the busiest compute engine waits: the step
	// minus its compute time.
	ExposedComm  float64 `json:"exposed_comm_seconds"`
	MaxLinkBytes float64 `json:"max_link_bytes"`
	MaxLinkUtil  float64 `json:"max_link_utilization"`
	MaxLink      string  `json:"max_link"`
	// Method says how the step was simulated (sim.Step); Loops are the
	// loops extrapolated and Replays the replays run.
	Method          string      `json:"method"`
	Loops           []sim.Loop  `json:"extrapolated_loops"`
	Replays         []ReplayUse `json:"replays"`
	Events          int64       `json:"events"`
	SpilledMessages int         `json:"spilled_messages"`
	WallSeconds     float64     `json:"wall_seconds"`
	// TopLinks are the most used links; DieIdle each used die's idle time;
	// Blocks each block's runs and how long a run took in the longest
	// replay, from its first task's start to its last task's end (runs
	// overlap: the spans do not add up to the step).
	TopLinks []LinkUse  `json:"top_links"`
	DieIdle  []DieIdle  `json:"die_idle"`
	Blocks   []BlockSim `json:"blocks"`
	// Links are every directed link of the mesh and Dies every die, with
	// their figures over the step (what `--svg` draws).
	Links []LinkMap `json:"links"`
	Dies  []DieMap  `json:"dies"`
	// Pipeline is a pipeline plan's stages and inter-wafer links over
	// the step (absent for a single-wafer plan).
	Pipeline *PipelineSim `json:"pipeline,omitempty"`
}

// ReplayUse is one replay of the step: the runs its extrapolated loops
// kept, its simulated time, size and cost.
type ReplayUse struct {
	Counts []int `json:"counts"`
	// Prefix says the replay stopped before the step's open tail.
	Prefix      bool    `json:"prefix_only,omitempty"`
	Seconds     float64 `json:"simulated_seconds"`
	Tasks       int     `json:"tasks"`
	Events      int64   `json:"events"`
	WallSeconds float64 `json:"wall_seconds"`
}

// LinkUse is one link's traffic over the step.
type LinkUse struct {
	Link        string  `json:"link"`
	Bytes       float64 `json:"bytes"`
	Utilization float64 `json:"utilization"`
}

// DieIdle is one die's compute idle time over the step.
type DieIdle struct {
	Die         string  `json:"die"`
	IdleSeconds float64 `json:"idle_seconds"`
}

// BlockSim is one block of the plan: how often it runs per step, its
// tasks, and its runs' mean span in the longest replay.
type BlockSim struct {
	Name    string  `json:"name"`
	Runs    int     `json:"runs"`
	Tasks   int     `json:"tasks"`
	Seconds float64 `json:"mean_span_seconds"`
}

// Simulation is a plan replayed in the bundled simulator.
type Simulation struct {
	// Report compares the simulated step with the plan's prediction
	// (what `tempc simulate --json` prints); Step is the simulator's own
	// result (replays, per-task timings of the longest one, links, dies).
	Report SimulateReport
	Step   *sim.StepResult
}

// SimulateOptions are Simulate's options; the zero value extrapolates the
// step's steady state and reports nothing while it runs.
type SimulateOptions struct {
	// Full replays every run of the step instead of extrapolating its
	// steady state (sim.Step).
	Full bool
	// Progress, when set, receives a line per replay.
	Progress io.Writer
}

// Simulate replays the whole training step of p on s in the packet-level
// simulator (sim.Step) and compares it with the plan's predictions. p
// must verify on s (ReadPlan does both). When ctx ends, the replays stop
// within 16,384 events and Simulate returns ctx's error. A
// replay that would not fit the memory left is refused before it starts
// (*sim.MemoryError).
func Simulate(ctx context.Context, p *plan.Plan, s *wafer.Spec, o SimulateOptions) (*Simulation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	full, progress := o.Full, o.Progress
	start := time.Now()
	var st *sim.StepResult
	var err error
	cfg := sim.StepConfig{Config: sim.Config{Cancel: ctx.Done()}, Full: full}
	if p.Pipeline != nil {
		st, err = sim.PipelineStep(s, p, cfg)
	} else {
		st, err = sim.Step(s, p, cfg)
	}
	if errors.Is(err, sim.ErrCancelled) && ctx.Err() != nil {
		return nil, fmt.Errorf("tempc: simulation stopped: %w", context.Cause(ctx))
	}
	if err != nil {
		return nil, fmt.Errorf("tempc: %w", err)
	}
	res := &Simulation{Step: st}
	r := &res.Report
	r.Model, r.Wafer, r.Predicted, r.Method, r.Loops = p.Model, s.Name, p.PredictedSeconds, st.Method, st.Loops
	r.Simulated, r.Events, r.SpilledMessages = st.Makespan, st.Events, st.Sample.SpilledMessages
	for _, rp := range st.Replays {
		r.Replays = append(r.Replays, ReplayUse{Counts: rp.Counts, Prefix: rp.Prefix, Seconds: rp.Makespan, Tasks: rp.Tasks, Events: rp.Events, WallSeconds: rp.WallClock})
		if progress != nil {
			fmt.Fprintf(progress, "replayed the step with loops %v: %d tasks, %d events, %.6g s simulated in %.1f s\n", rp.Counts, rp.Tasks, rp.Events, rp.Makespan, rp.WallClock)
		}
	}
	r.EnergyBreakdown = st.Energy
	r.CapacityBytes = p.CapacityBytes
	static := staticBytes(p)
	for _, d := range st.Dies {
		if m := static(d.Die) + d.PeakMemoryBytes; m > r.SimulatedMemory && slices.Contains(p.Dies, d.Die) {
			r.SimulatedMemory, r.PeakMemoryDie = m, s.Coord(d.Die).String()
		}
	}
	r.Fits = r.SimulatedMemory <= p.CapacityBytes
	r.PredictedMemory = p.PredictedMemory
	if p.PredictedMemory > 0 {
		e := (r.SimulatedMemory - p.PredictedMemory) / p.PredictedMemory
		r.MemoryRelErr = &e
	}
	// Blocks: their runs per step and their runs' spans in the sample.
	spans := map[*plan.Program][]float64{}
	ex, tm := st.Expansion, st.Sample.Tasks
	for _, run := range ex.Runs {
		n := len(run.Node.Program.Tasks)
		if n == 0 {
			continue
		}
		// A receive without dependencies "starts" at once, waiting for
		// its message: the span starts at the run's first other task.
		a, b := math.Inf(1), 0.0
		for i := range n {
			x := tm[int(run.First)+i]
			if ex.Program.Tasks[int(run.First)+i].Kind != plan.Recv {
				a = min(a, x.Start)
			}
			b = max(b, x.End)
		}
		if math.IsInf(a, 1) {
			a = b
		}
		spans[run.Node.Program] = append(spans[run.Node.Program], b-a)
	}
	err = p.Walk(func(n *plan.Node, runs int) error {
		mean := 0.0
		for _, x := range spans[n.Program] {
			mean += x / float64(len(spans[n.Program]))
		}
		r.Blocks = append(r.Blocks, BlockSim{Name: n.Name, Runs: runs, Tasks: len(n.Program.Tasks), Seconds: mean})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r.Predicted > 0 {
		e := (r.Simulated - r.Predicted) / r.Predicted
		r.RelErr = &e
	}
	r.EnergyJoules, r.PredictedEnergy = r.EnergyBreakdown.Total(), p.PredictedEnergy
	if p.PredictedEnergy > 0 {
		e := (r.EnergyJoules - p.PredictedEnergy) / p.PredictedEnergy
		r.EnergyRelErr = &e
	}
	if r.Simulated > 0 {
		r.AveragePower = r.EnergyJoules / r.Simulated
	}
	if r.EnergyJoules > 0 {
		r.TokensPerJoule = float64(p.Batch*p.Seq) / r.EnergyJoules
	}
	var uses []LinkUse
	for _, l := range st.Links {
		if l.Bytes > 0 {
			uses = append(uses, LinkUse{Link: l.Name, Bytes: l.Bytes, Utilization: l.Utilization})
		}
	}
	sort.SliceStable(uses, func(i, j int) bool { return uses[i].Bytes > uses[j].Bytes })
	if len(uses) > 0 {
		r.MaxLinkBytes, r.MaxLink = uses[0].Bytes, uses[0].Link
		for _, u := range uses {
			r.MaxLinkUtil = max(r.MaxLinkUtil, u.Utilization)
		}
	}
	r.TopLinks = uses[:min(len(uses), 10)]
	busiest := 0.0
	for _, d := range p.Dies {
		busy := st.Dies[d].BusySeconds
		r.DieIdle = append(r.DieIdle, DieIdle{Die: s.Coord(d).String(), IdleSeconds: r.Simulated - busy})
		busiest = max(busiest, busy)
	}
	r.ExposedComm = max(0, r.Simulated-busiest)
	r.Dies, r.Links = simMaps(p, s, st)
	if p.Pipeline != nil {
		pipelineReport(r, p, s, st)
	}
	r.WallSeconds = time.Since(start).Seconds()
	return res, nil
}

// ReadPlan reads a plan file's contents (name says where they came from,
// for errors), finds its wafer — the one the plan carries, or the preset
// it names; waferOverride, when set, replaces it (same mesh, same live
// dies) — verifies the plan on it, and rebuilds the graph the plan was
// compiled from (model, or the plan's model_source when empty) to hold
// the plan to that graph's work: a plan missing blocks, ops or the
// optimizer is rejected rather than simulated faster.
func ReadPlan(name string, data []byte, waferOverride, model string) (*plan.Plan, *wafer.Spec, error) {
	p, err := plan.ReadJSON(name, data)
	if err != nil {
		return nil, nil, err
	}
	s, err := planWafer(p, name, waferOverride)
	if err != nil {
		return nil, nil, err
	}
	if p.Pipeline != nil {
		return readPipeline(p, s, name, model)
	}
	if err := s.SingleWafer(); err != nil {
		return nil, nil, fmt.Errorf("tempc: %s is a single-wafer plan: %w", name, err)
	}
	if err := p.Verify(s); err != nil {
		return nil, nil, err
	}
	if err := checkWork(p, s, name, model); err != nil {
		return nil, nil, err
	}
	return p, s, nil
}

// planWafer is the wafer a plan runs on: the one it carries (wafer_spec),
// else the preset it names; override, when set, replaces it but must have
// the same mesh shape and the same live dies — a plan's die numbers and
// routes mean nothing on another mesh. (Its figures — bandwidths,
// latencies, capacities — may differ: that is what an override is for.)
func planWafer(p *plan.Plan, file, override string) (*wafer.Spec, error) {
	var own *wafer.Spec
	var err error
	switch {
	case len(p.WaferSpec) > 0:
		if own, err = wafer.ReadJSON(file+": wafer_spec", p.WaferSpec); err == nil && own.Name != p.Wafer {
			return nil, fmt.Errorf("tempc: %s names wafer %q but carries %q in wafer_spec", file, p.Wafer, own.Name)
		}
	case override == "":
		own, err = wafer.LoadNamed(p.Wafer)
	}
	if err != nil || override == "" {
		return own, err
	}
	s, err := wafer.Load(override)
	if err != nil {
		return nil, err
	}
	if (p.Pipeline != nil) != (s.Cluster != nil) {
		return nil, fmt.Errorf("tempc: --wafer %s: a pipeline plan runs on a wafer file with a cluster object, any other plan on one without", override)
	}
	if own == nil { // a plan without its wafer: compare with the preset it names, if there is one
		if own, err = wafer.LoadNamed(p.Wafer); err != nil {
			return s, nil
		}
	}
	if s.Rows != own.Rows || s.Cols != own.Cols {
		return nil, fmt.Errorf("tempc: --wafer %s is a %d×%d mesh; the plan %s was compiled for %s, a %d×%d mesh",
			override, s.Rows, s.Cols, file, own.Name, own.Rows, own.Cols)
	}
	for d := range wafer.DieID(s.NumDies()) {
		if s.Alive(d) != own.Alive(d) {
			state := map[bool]string{true: "live", false: "dead"}
			return nil, fmt.Errorf("tempc: --wafer %s: die %s is %s there but %s on %s, the wafer the plan %s was compiled for",
				override, s.Coord(d), state[s.Alive(d)], state[own.Alive(d)], own.Name, file)
		}
	}
	return s, nil
}

// checkWork rebuilds the graph a plan names — from model (or, when empty,
// the plan's model_source) at the plan's batch and sequence — and its
// strategy space on s, and holds the plan to that graph's work
// (lower.CheckWork): a plan missing blocks, ops or the optimizer is
// rejected rather than simulated faster.
func checkWork(p *plan.Plan, s *wafer.Spec, file, model string) error {
	typed := model != "" // a model the user named may be a pipe; a plan's model_source must be a file
	model, err := planModel(p, file, model)
	if err != nil {
		return err
	}
	g, err := frontend.Load(model, frontend.Options{Batch: p.Batch, Seq: p.Seq, Pipes: typed})
	if err != nil {
		return fmt.Errorf("tempc: reading the model %s was compiled from (pass --model if it moved): %w", file, err)
	}
	sp, err := partition.Build(g, s, partition.Config{MicroBatches: []int{p.MicroBatch}, UnfusedAttention: p.Attention == "unfused"})
	if err != nil {
		return fmt.Errorf("tempc: %s: %w", file, err)
	}
	if err := lower.CheckWork(p, sp); err != nil {
		return fmt.Errorf("tempc: %s: %w", file, err)
	}
	return nil
}

// planModel is the model a plan was compiled from: model when given (the
// file moved), else the plan's model_source.
func planModel(p *plan.Plan, file, model string) (string, error) {
	if model == "" {
		model = p.ModelSource
	}
	if model == "" {
		return "", fmt.Errorf("tempc: %s has no model_source: pass --model with the model it was compiled from", file)
	}
	return model, nil
}

// LinkMap is one directed link of the mesh over a simulated step.
type LinkMap struct {
	From        [2]int  `json:"from"`
	To          [2]int  `json:"to"`
	Alive       bool    `json:"alive"`
	Bytes       float64 `json:"bytes"`
	Utilization float64 `json:"utilization"`
}

// DieMap is one die of the mesh over a simulated step: whether the plan
// uses it and in which model-parallel group (−1: none), its compute
// engine's busy and idle time, the bytes through its HBM port, and its
// peak memory (the plan's static bytes included).
type DieMap struct {
	Die             [2]int  `json:"die"`
	Alive           bool    `json:"alive"`
	Used            bool    `json:"used"`
	Group           int     `json:"group"`
	BusySeconds     float64 `json:"busy_seconds"`
	IdleSeconds     float64 `json:"idle_seconds"`
	HBMBytes        float64 `json:"hbm_bytes"`
	PeakMemoryBytes float64 `json:"peak_memory_bytes"`
}

// layoutShape reads a layout name's group rectangle ("dp4-3x4-mb8-…").
var layoutShape = regexp.MustCompile(`^dp\d+-(\d+)x(\d+)-`)

// PlanGroups is a plan's model-parallel groups: a pipeline's stages'
// groups one after another, those it records, or for
// a version 4 plan, which does not, its dies (the groups' rings, one after
// another) split by its layout's group size; nil when the layout name
// does not say it or the dies do not divide.
func PlanGroups(p *plan.Plan) [][]wafer.DieID {
	if p.Pipeline != nil {
		var out [][]wafer.DieID
		for _, st := range p.Pipeline.Stages {
			out = append(out, st.Groups...)
		}
		return out
	}
	if len(p.Groups) > 0 {
		return p.Groups
	}
	m := layoutShape.FindStringSubmatch(p.Layout)
	if m == nil {
		return nil
	}
	r, _ := strconv.Atoi(m[1])
	c, _ := strconv.Atoi(m[2])
	n := r * c
	if n <= 0 || len(p.Dies)%n != 0 {
		return nil
	}
	var out [][]wafer.DieID
	for i := 0; i < len(p.Dies); i += n {
		out = append(out, p.Dies[i:i+n:i+n])
	}
	return out
}

// simMaps is every die and link of s over step st of plan p.
func simMaps(p *plan.Plan, s *wafer.Spec, st *sim.StepResult) ([]DieMap, []LinkMap) {
	static := staticBytes(p)
	group := map[wafer.DieID]int{}
	for g, ds := range PlanGroups(p) {
		for _, d := range ds {
			group[d] = g
		}
	}
	used := map[wafer.DieID]bool{}
	for _, d := range p.Dies {
		used[d] = true
	}
	dies := make([]DieMap, s.NumDies())
	for i := range dies {
		d := wafer.DieID(i)
		c := s.Coord(d)
		g, ok := group[d]
		if !ok {
			g = -1
		}
		dies[i] = DieMap{Die: [2]int{c.R, c.C}, Alive: s.Alive(d), Used: used[d], Group: g}
		if i < len(st.Dies) {
			ds := st.Dies[i]
			dies[i].BusySeconds, dies[i].IdleSeconds, dies[i].HBMBytes = ds.BusySeconds, ds.IdleSeconds, ds.HBMBytes
			if used[d] {
				dies[i].PeakMemoryBytes = static(d) + ds.PeakMemoryBytes
			}
		}
	}
	stats := map[wafer.LinkID]sim.LinkStats{}
	for _, l := range st.Links {
		stats[l.Link] = l
	}
	return dies, MeshLinks(s, func(l wafer.LinkID) (float64, float64) { return stats[l].Bytes, stats[l].Utilization })
}

// MeshLinks lists every directed link of s between neighbours, with the
// bytes and utilization figures gives it.
func MeshLinks(s *wafer.Spec, figures func(wafer.LinkID) (bytes, util float64)) []LinkMap {
	var out []LinkMap
	for d := range s.NumDies() {
		for dir := range wafer.Dir(4) {
			l, ok := s.LinkFrom(wafer.DieID(d), dir)
			if !ok {
				continue
			}
			a, b := s.LinkEnds(l)
			ca, cb := s.Coord(a), s.Coord(b)
			bytes, util := figures(l)
			out = append(out, LinkMap{From: [2]int{ca.R, ca.C}, To: [2]int{cb.R, cb.C}, Alive: s.LinkAlive(l), Bytes: bytes, Utilization: util})
		}
	}
	return out
}
