package driver

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
	"github.com/tempc/tempc/wafer/sim"
)

// SimulateOptions are the options of `tempc simulate`.
type SimulateOptions struct {
	// Plan is the plan file; Wafer overrides the wafer it names; Model
	// overrides where the model it was compiled from is read (its
	// model_source), to check the plan computes that graph's work.
	Plan, Wafer, Model string
	JSON               bool
	// Full replays every run of the step instead of extrapolating its
	// steady state (sim.Step).
	Full bool
	// Trace, when set, is a Perfetto trace file of the replay; Window
	// limits it to [from, to) seconds of the step (to 0: the end).
	Trace    string
	Window   [2]float64
	Progress io.Writer
	// Stdin is read for the plan when Plan is "-".
	Stdin io.Reader
	// SVG, when set, receives the wafer heatmap of the step.
	SVG string
}

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

// simResult is a simulated plan.
type simResult struct {
	rep  SimulateReport
	step *sim.StepResult
}

// simulate replays the whole step (sim.Step).
func simulate(p *plan.Plan, s *wafer.Spec, full bool, progress io.Writer) (*simResult, error) {
	start := time.Now()
	st, err := sim.Step(s, p, sim.StepConfig{Full: full})
	if err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	res := &simResult{step: st}
	r := &res.rep
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
	for _, d := range st.Dies {
		if m := p.StaticBytes + d.PeakMemoryBytes; m > r.SimulatedMemory && slices.Contains(p.Dies, d.Die) {
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
	spans := map[*plan.Node][]float64{}
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
		spans[run.Node] = append(spans[run.Node], b-a)
	}
	err = p.Walk(func(n *plan.Node, runs int) error {
		mean := 0.0
		for _, x := range spans[n] {
			mean += x / float64(len(spans[n]))
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
	r.WallSeconds = time.Since(start).Seconds()
	return res, nil
}

// heatmap is the wafer map of a simulated plan.
func (sr *simResult) heatmap(p *plan.Plan, s *wafer.Spec) *waferMap {
	r := &sr.rep
	title := []string{fmt.Sprintf("%s on %s, %s", p.Model, s.Name, p.Layout),
		fmt.Sprintf("step %.4g s simulated (%.4g s predicted); busiest link %s at %.0f%%; peak %.1f GB on %s", r.Simulated, r.Predicted,
			r.MaxLink, 100*r.MaxLinkUtil, r.SimulatedMemory/1e9, r.PeakMemoryDie)}
	return &waferMap{spec: s, title: title, dies: r.Dies, links: r.Links, groups: planGroups(p), stats: true}
}

// Simulate reads a plan, verifies it against its wafer, replays it in the
// bundled simulator and reports simulated against predicted.
func Simulate(w io.Writer, o SimulateOptions) error {
	for _, path := range []string{o.Trace, o.SVG} {
		if err := writable(path); err != nil {
			return err
		}
	}
	var data []byte
	var err error
	if o.Plan == "-" {
		if o.Stdin == nil {
			return errors.New("driver: plan \"-\" (standard input) but no input to read")
		}
		o.Plan = "<stdin>"
		data, err = io.ReadAll(o.Stdin)
	} else {
		data, err = os.ReadFile(o.Plan)
	}
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	p, err := plan.ReadJSON(o.Plan, data)
	if err != nil {
		return err
	}
	s, err := planWafer(p, o.Plan, o.Wafer)
	if err != nil {
		return err
	}
	if err := p.Verify(s); err != nil {
		return err
	}
	if err := checkWork(p, s, o.Plan, o.Model); err != nil {
		return err
	}
	res, err := simulate(p, s, o.Full, o.Progress)
	if err != nil {
		return err
	}
	if o.Trace != "" {
		if err := writeFile(o.Trace, func(f io.Writer) error { return res.writeTrace(f, p, s, o.Window) }); err != nil {
			return err
		}
	}
	if o.SVG != "" {
		if err := writeFile(o.SVG, res.heatmap(p, s).writeSVG); err != nil {
			return err
		}
	}
	if o.JSON {
		return writeJSON(w, res.rep)
	}
	return res.rep.WriteText(w, s)
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
			return nil, fmt.Errorf("driver: %s names wafer %q but carries %q in wafer_spec", file, p.Wafer, own.Name)
		}
	case override == "":
		own, err = wafer.Load(p.Wafer)
	}
	if err != nil || override == "" {
		return own, err
	}
	s, err := wafer.Load(override)
	if err != nil {
		return nil, err
	}
	if own == nil { // a plan without its wafer: compare with the preset it names, if there is one
		if own, err = wafer.Load(p.Wafer); err != nil {
			return s, nil
		}
	}
	if s.Rows != own.Rows || s.Cols != own.Cols {
		return nil, fmt.Errorf("driver: --wafer %s is a %d×%d mesh; the plan %s was compiled for %s, a %d×%d mesh",
			override, s.Rows, s.Cols, file, own.Name, own.Rows, own.Cols)
	}
	for d := range wafer.DieID(s.NumDies()) {
		if s.Alive(d) != own.Alive(d) {
			state := map[bool]string{true: "live", false: "dead"}
			return nil, fmt.Errorf("driver: --wafer %s: die %s is %s there but %s on %s, the wafer the plan %s was compiled for",
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
	if model == "" {
		model = p.ModelSource
	}
	if model == "" {
		return fmt.Errorf("driver: %s has no model_source: pass --model with the model it was compiled from", file)
	}
	g, err := frontend.Load(model, frontend.Options{Batch: p.Batch, Seq: p.Seq})
	if err != nil {
		return fmt.Errorf("driver: reading the model %s was compiled from (pass --model if it moved): %w", file, err)
	}
	sp, err := partition.Build(g, s, partition.Config{MicroBatches: []int{p.MicroBatch}, UnfusedAttention: p.Attention == "unfused"})
	if err != nil {
		return fmt.Errorf("driver: %s: %w", file, err)
	}
	if err := lower.CheckWork(p, sp); err != nil {
		return fmt.Errorf("driver: %s: %w", file, err)
	}
	return nil
}
