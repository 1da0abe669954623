package driver

import (
	"fmt"
	"io"
	"math"
	"strings"

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
// tempc's three steps search on-wafer pipelines as tempc does by default
// (tempc.GuidedDepth: the cut and micro-batch count Megatron-Core's own
// search chooses).
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

// modernConfigs are the modern baselines' configurations, of which
// best-modern is the fastest.
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

// ladderCases are the ladder's cases, per model (temp's is the main
// section's plan, run once).
func ladderCases(st evalSettings, base *wafer.Spec) []evalCase {
	var cs []evalCase
	for _, m := range st.models {
		configs := []string{"megatron3/gmap", "megatron3+flash/gmap", "megatron-core-nopp/gmap"}
		configs = append(append(configs, modernConfigs...), "modern-mix/temp-no-tcme", "temp-no-tcme", "temp")
		for _, c := range configs {
			cs = append(cs, evalCase{section: "ladder", config: c, model: m, batch: st.batch, seq: st.seq, spec: base})
		}
	}
	return cs
}

// bestModern is the fastest modern baseline row of model that fits.
func (r *EvalReport) bestModern(model string) (EvalRow, bool) {
	return r.fastest("ladder", model, modernConfigs)
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
		"re-routing (= `temp`). The last three search on-wafer pipelines of the depth Megatron-Core's own search chooses, as "+
		"`tempc solve` does by default. Simulated step in "+
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
