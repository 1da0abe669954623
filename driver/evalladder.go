package driver

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/tempc/tempc/wafer"
)

// The ladder climbs, per model, from the historical Megatron baseline to
// TEMP one change at a time, each step planned, lowered and simulated:
// what each gain comes from. Its steps (LadderRow.Step) and the
// configuration each is measured by:
//
//	historical    megatron3/gmap: Megatron-LM 2022 as published (unfused attention)
//	flash         megatron3+flash/gmap: + fused attention
//	tp-overlap    megatron-core-nopp/gmap: + TP communication overlap, every recomputation mode
//	pipeline      megatron-core/gmap: + on-wafer pipelining (Megatron-Core as run today)
//	best-modern   the fastest of megatron-core and fsdp2, each with gmap and smap
//	ilp-mix       modern-mix/temp-no-tcme: tempc's ILP mixing the modern baselines' schemes per op group, placed by the temp mapper without re-routing
//	temp-schemes  temp-no-tcme: + TEMP's own schemes (weight rings, relays, sub-chains)
//	tcme          temp: + TCME's re-routing
//
// The last three search on-wafer pipelines of the depth best-modern chose
// (none when it is not pipelined): a search of every cut in tempc's whole
// space takes minutes a model, so it is given the cut the modern
// baseline found best, which keeps it a superset of that baseline.
var ladderSteps = []struct{ step, config string }{
	{"historical", "megatron3/gmap"},
	{"flash", "megatron3+flash/gmap"},
	{"tp-overlap", "megatron-core-nopp/gmap"},
	{"pipeline", "megatron-core/gmap"},
	{"best-modern", ""},
	{"ilp-mix", "modern-mix/temp-no-tcme"},
	{"temp-schemes", "temp-no-tcme"},
	{"tcme", "temp"},
}

// modernConfigs are the modern baselines' configurations, the ladder's
// first phase besides its historical steps.
var modernConfigs = []string{"megatron-core/gmap", "megatron-core/smap", "fsdp2/gmap", "fsdp2/smap"}

// LadderRow is one step of one model's ladder (eval.json "ladder").
type LadderRow struct {
	Model          string  `json:"model"`
	Step           string  `json:"step"`
	Configuration  string  `json:"configuration"`
	SimulatedStep  float64 `json:"simulated_step_seconds"`
	PredictedStep  float64 `json:"predicted_step_seconds"`
	Fits           bool    `json:"fits"`
	Layout         string  `json:"layout,omitempty"`
	PipelineStages int     `json:"pipeline_stages,omitempty"`
}

// ladderCases are the ladder's first phase: every step up to the modern
// baselines, per model.
func ladderCases(st evalSettings, base *wafer.Spec) []evalCase {
	var cs []evalCase
	for _, m := range st.models {
		for _, c := range append([]string{"megatron3/gmap", "megatron3+flash/gmap", "megatron-core-nopp/gmap"}, modernConfigs...) {
			cs = append(cs, evalCase{section: "ladder", config: c, model: m, batch: st.batch, seq: st.seq, spec: base})
		}
	}
	return cs
}

// bestModern is the fastest modern baseline row of model that fits.
func (r *EvalReport) bestModern(model string) (EvalRow, bool) {
	var best EvalRow
	found := false
	for _, c := range modernConfigs {
		if row, ok := r.find("ladder", model, c); ok && row.Fits && (!found || row.TokensPerSecond > best.TokensPerSecond) {
			best, found = row, true
		}
	}
	return best, found
}

// ladderTempCases are the ladder's second phase: tempc's steps, each
// searching on-wafer pipelines of the depth the best modern baseline
// chose.
func (r *EvalReport) ladderTempCases(st evalSettings, base *wafer.Spec) []evalCase {
	var cs []evalCase
	for _, m := range st.models {
		stages := 0
		if b, ok := r.bestModern(m); ok && b.PipelineStages > 1 {
			stages = b.PipelineStages
		}
		for _, c := range []string{"modern-mix/temp-no-tcme", "temp-no-tcme", "temp"} {
			cs = append(cs, evalCase{section: "ladder", config: c, model: m, batch: st.batch, seq: st.seq, spec: base, stages: stages})
		}
	}
	return cs
}

// runLadder runs the ladder's second phase after every other case, its
// rows appended to rep.Rows; a case that plans what an earlier row did
// (temp without pipelines is the main section's) takes that row.
func (o EvalOptions) runLadder(ctx context.Context, st evalSettings, base *wafer.Spec, done map[string]EvalRow, rep *EvalReport, partial string, start time.Time) error {
	cases := rep.ladderTempCases(st, base)
	var todo []evalCase
	prior := rep.Rows
	for _, c := range cases {
		if row, ok := findPlan(prior, c.planKey()); ok {
			row.Section = c.section
			prior = append(prior, row)
			continue
		}
		todo = append(todo, c)
	}
	more := &EvalReport{}
	if err := o.runCases(ctx, todo, done, more, partial, start, prior); err != nil {
		return err
	}
	rep.Rows = append(prior, more.Rows...)
	return nil
}

// findPlan is the first row that measured plan key k.
func findPlan(rows []EvalRow, k string) (EvalRow, bool) {
	for _, row := range rows {
		if row.planKey() == k {
			return row, true
		}
	}
	return EvalRow{}, false
}

// ladder assembles the ladder from the rows, and TEMP's geometric-mean
// speedup over the best modern baseline ("best-modern").
func (r *EvalReport) ladder() {
	r.Ladder = nil
	var logS float64
	n := 0
	for _, m := range r.models("ladder") {
		var top, bm LadderRow
		for _, s := range ladderSteps {
			row, ok := r.find("ladder", m, s.config)
			if s.step == "best-modern" {
				row, ok = r.bestModern(m)
			}
			if !ok {
				continue
			}
			lr := LadderRow{Model: m, Step: s.step, Configuration: row.Configuration, SimulatedStep: row.SimulatedStep,
				PredictedStep: row.PredictedStep, Fits: row.Fits, Layout: row.Layout, PipelineStages: max(row.PipelineStages, 1)}
			r.Ladder = append(r.Ladder, lr)
			switch s.step {
			case "best-modern":
				bm = lr
			case "tcme":
				top = lr
			}
		}
		if top.Fits && bm.Fits {
			logS += math.Log(bm.SimulatedStep / top.SimulatedStep)
			n++
		}
	}
	if n > 0 {
		r.GeomeanSpeedup["best-modern"] = math.Exp(logS / float64(n))
	}
}

// writeLadder writes the ladder's table: each step's simulated step and
// its gain over the step before.
func (r *EvalReport) writeLadder(w io.Writer) {
	fmt.Fprintln(w, "## The ladder: from Megatron-LM 2022 to TEMP, one change at a time")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Each step adds one thing to the one above it; `pipeline` is Megatron-Core as run today "+
		"(`--baseline megatron-core`: fused attention, TP communication overlap, distributed optimizer, on-wafer pipelining), "+
		"`best-modern` the fastest of it and `fsdp2` (PyTorch FSDP2: per-block reshard_after_forward, prefetch, hybrid sharding), each with either mapper. `ilp-mix` lets tempc's ILP mix the modern baselines' schemes per op group "+
		"(placed by the temp mapper, no re-routing); `temp-schemes` adds TEMP's weight rings, relays and sub-chains; `tcme` its "+
		"re-routing (= `temp`). The last three search on-wafer pipelines of the depth `best-modern` chose. Simulated step in "+
		"seconds, the gain over the step above in parentheses.")
	fmt.Fprintln(w)
	var rows [][]string
	var last float64
	for _, lr := range r.Ladder {
		gain := ""
		if lr.Step != "historical" && lr.Fits && last > 0 {
			gain = fmt.Sprintf(" (%.3f×)", last/lr.SimulatedStep)
		}
		if lr.Step == "historical" {
			last = 0
		}
		fig := "does not fit"
		if lr.Fits {
			fig = fmt.Sprintf("%.4f%s", lr.SimulatedStep, gain)
			if lr.Step != "best-modern" {
				last = lr.SimulatedStep
			}
		}
		rows = append(rows, []string{lr.Model, lr.Step, lr.Configuration, fig, fmt.Sprintf("%.4f", lr.PredictedStep), fmt.Sprint(lr.PipelineStages), lr.Layout})
	}
	table(w, []string{"model", "step", "configuration", "simulated s", "predicted s", "stages", "layout"}, rows)
	if g, ok := r.GeomeanSpeedup["best-modern"]; ok {
		fmt.Fprintf(w, "TEMP over the best modern baseline, geometric mean of the simulated steps: **%.3f×**.\n\n", g)
	}
	fmt.Fprintln(w, "![ladder](ladder.svg)")
	fmt.Fprintln(w)
}

// ladderText is the ladder's headline for the findings table.
func (r *EvalReport) ladderText() string {
	g, ok := r.GeomeanSpeedup["best-modern"]
	if !ok {
		return "—"
	}
	var ms []string
	for _, m := range r.models("ladder") {
		ms = append(ms, m)
	}
	return fmt.Sprintf("%.3f× (geo-mean over %s)", g, strings.Join(ms, ", "))
}
