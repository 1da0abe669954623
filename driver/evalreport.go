package driver

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/tempc/tempc/validate"
)

// rows returns the rows of a section, in the order they ran.
func (r *EvalReport) rows(section string) []EvalRow {
	var out []EvalRow
	for _, row := range r.Rows {
		if row.Section == section {
			out = append(out, row)
		}
	}
	return out
}

// find returns the row of a section, model and configuration.
func (r *EvalReport) find(section, model, config string) (EvalRow, bool) {
	for _, row := range r.Rows {
		if row.Section == section && row.Model == model && row.Configuration == config {
			return row, true
		}
	}
	return EvalRow{}, false
}

// models and configs list the models and configurations of a section in
// the order they ran.
func (r *EvalReport) models(section string) []string {
	return r.distinct(section, func(row EvalRow) string { return row.Model })
}

func (r *EvalReport) configs(section string) []string {
	return r.distinct(section, func(row EvalRow) string { return row.Configuration })
}

func (r *EvalReport) distinct(section string, f func(EvalRow) string) []string {
	var out []string
	for _, row := range r.rows(section) {
		if v := f(row); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// cell prints a row's figure, or why it has none.
func cell(row EvalRow, ok bool, f func(EvalRow) string) string {
	switch {
	case !ok:
		return "—"
	case !row.Fits && row.PeakMemory > 0:
		return fmt.Sprintf("OOM (%.1f GB)", row.PeakMemory/1e9)
	case !row.Fits:
		return "no plan"
	}
	return f(row)
}

func table(w io.Writer, head []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(w)
}

// bestBaseline is the canonical baseline with the highest simulated
// throughput on model.
func (r *EvalReport) bestBaseline(model string) (EvalRow, bool) {
	return r.fastest("main", model, canonicalConfigs)
}

// fastest is the row of section and model, of configs, that fits with the
// highest simulated throughput.
func (r *EvalReport) fastest(section, model string, configs []string) (EvalRow, bool) {
	var best EvalRow
	found := false
	for _, c := range configs {
		if row, ok := r.find(section, model, c); ok && row.Fits && (!found || row.TokensPerSecond > best.TokensPerSecond) {
			best, found = row, true
		}
	}
	return best, found
}

// writeMarkdown writes report.md: every figure here is in eval.json too,
// and nothing that varies from run to run (wall times) is.
func (r *EvalReport) writeMarkdown(w io.Writer) error {
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	fmt.Fprintf(w, "# tempc evaluation (%s)\n\n", mode)
	fmt.Fprintf(w, "Wafer %s, batch %d, sequence %d unless a section says otherwise. Every plan is compiled, lowered, "+
		"verified and its whole training step simulated (`tempc simulate`); throughput, memory, power and energy are the "+
		"simulator's, `predicted` the cost model's. Regenerate with `tempc eval --out DIR%s`; wall times are in `eval.json` only.\n\n",
		r.Wafer, r.Batch, r.Seq, map[bool]string{true: " --quick"}[r.Quick])
	fmt.Fprintln(w, "Configurations: `temp` is tempc's full space with the temp mapper (TCME and the dual-level loop); "+
		"`megatron1`, `megatron3`, `fsdp` are the canonical baselines (one scheme per group as the published code runs it, "+
		"only group shape, micro-batch and recomputation on/off searched), mapped by `smap` (sequential) or `gmap` "+
		"(Gemini-style, topology-unaware); `*-tuned` are the families with everything else left to the solver. OOM: no "+
		"assignment fits; the figure is the least memory per die any needs.")
	fmt.Fprintln(w)

	r.writeLadder(w)

	// (a) throughput.
	fmt.Fprintln(w, "## (a) Throughput against the historical baselines (paper Fig. 13)")
	fmt.Fprintln(w)
	models, configs := r.models("main"), r.configs("main")
	var rows [][]string
	for _, m := range models {
		line := []string{m}
		for _, c := range configs {
			row, ok := r.find("main", m, c)
			line = append(line, cell(row, ok, func(x EvalRow) string { return fmt.Sprintf("%.0f", x.TokensPerSecond) }))
		}
		rows = append(rows, line)
	}
	table(w, append([]string{"tokens/s"}, configs...), rows)
	var keys []string
	for k := range r.GeomeanSpeedup {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	rows = nil
	for _, k := range keys {
		rows = append(rows, []string{k, fmt.Sprintf("%.3f×", r.GeomeanSpeedup[k]), fmt.Sprintf("%.3f×", r.GeomeanEfficiency[k])})
	}
	fmt.Fprintln(w, "TEMP against each configuration, geometric mean over the models where both fit (`overall`: every canonical baseline and model):")
	fmt.Fprintln(w)
	table(w, []string{"against", "throughput", "tokens per joule"}, rows)
	fmt.Fprintln(w, "![throughput](throughput.svg)")
	fmt.Fprintln(w)

	// (b) memory.
	fmt.Fprintln(w, "## (b) Memory per die (paper Fig. 13)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Simulated peak, and the cost model's terms (GB):")
	fmt.Fprintln(w)
	rows = nil
	for _, row := range r.rows("main") {
		m := row.Memory
		status := "fits"
		if !row.Fits {
			status = "**OOM**"
			if row.PeakMemory == 0 {
				status = "no plan: " + row.Reason
			}
		}
		rows = append(rows, []string{row.Model, row.Configuration, status, gbs(row.PeakMemory), gbs(row.PredictedMemory),
			gbs(m.Weights), gbs(m.Grads), gbs(m.OptStates), gbs(m.Acts), gbs(m.Gathered), gbs(m.Transient)})
	}
	table(w, []string{"model", "configuration", "", "peak", "predicted", "weights", "gradients", "optimizer", "activations", "gathered", "transient"}, rows)
	fmt.Fprintln(w, "![memory](memory.svg)")
	fmt.Fprintln(w)

	// (c) power and energy.
	fmt.Fprintln(w, "## (c) Power and energy (paper Fig. 14)")
	fmt.Fprintln(w)
	rows = nil
	for _, row := range r.rows("main") {
		if !row.Fits {
			continue
		}
		rows = append(rows, []string{row.Model, row.Configuration, fmt.Sprintf("%.1f", row.Power/1e3),
			fmt.Sprintf("%.0f", row.Energy), fmt.Sprintf("%.2f", row.TokensPerJoule)})
	}
	table(w, []string{"model", "configuration", "average power kW", "energy J/step", "tokens/J"}, rows)
	fmt.Fprintln(w, "![energy](energy.svg)")
	fmt.Fprintln(w)

	// (d) ablation.
	fmt.Fprintln(w, "## (d) Ablation (paper Fig. 16)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The best canonical baseline, then tempc's space with plain TSPP rings (`--schemes -relay-w,-relay-x,-relay-y`, gmap), "+
		"with TATP relays (gmap), and with TCME (`temp`); throughput relative to the baseline.")
	fmt.Fprintln(w)
	rows = nil
	for _, m := range r.models("ablation") {
		b, ok := r.bestBaseline(m)
		line := []string{m}
		if ok {
			line = append(line, fmt.Sprintf("%s %.0f", b.Configuration, b.TokensPerSecond))
		} else {
			line = append(line, "every baseline OOM")
		}
		for _, k := range [][2]string{{"ablation", "tspp/gmap"}, {"ablation", "tatp/gmap"}, {"main", "temp"}} {
			row, found := r.find(k[0], m, k[1])
			line = append(line, cell(row, found, func(x EvalRow) string {
				if !ok {
					return fmt.Sprintf("%.0f", x.TokensPerSecond)
				}
				return fmt.Sprintf("%.3f×", x.TokensPerSecond/b.TokensPerSecond)
			}))
		}
		rows = append(rows, line)
	}
	table(w, []string{"model", "baseline (tokens/s)", "+TSPP", "+TATP", "+TCME"}, rows)
	fmt.Fprintln(w, "![ablation](ablation.svg)")
	fmt.Fprintln(w)

	fmt.Fprintln(w, "## (e) Stream degree (paper Fig. 9)")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%s's `block/mlp.up` alone: its weight streamed (ring-w: TSPP ring; relay-w: TATP relay) over a group of D dies, "+
		"one micro-batch of %d sequences per group, forward and backward, priced and simulated as `tempc validate` does its "+
		"stream-large class (no DP traffic, no memory limit); then relay-w on sub-chains of D dies of the largest group, all at once, "+
		"each die keeping its tokens and 1/D of the weight (the planner's `relay-w/D` options; their once-per-step gradient "+
		"reduce-scatter and weight all-gather among the sub-chains are not in this table). Wafer throughput is the groups' tokens "+
		"over the simulated time.\n\n",
		r.DegreeModel, r.DegreeSeqs)
	rows = nil
	for _, d := range r.Degree {
		rows = append(rows, []string{d.Scheme, fmt.Sprint(d.Degree), d.Group, fmt.Sprintf("%.3f", d.WeightBytes/1e9), map[bool]string{true: "SRAM", false: "HBM"}[d.Resident],
			fmt.Sprintf("%.3f", 1e3*d.Analytic), fmt.Sprintf("%.3f", 1e3*d.Simulated), fmt.Sprintf("%.0f", r.degreeThroughput(d))})
	}
	table(w, []string{"scheme", "degree", "group", "weight GB/die", "blocks land in", "predicted ms", "simulated ms", "wafer tokens/s"}, rows)
	fmt.Fprintln(w, "![degree](degree.svg)")
	fmt.Fprintln(w)

	// (f) long sequences.
	fmt.Fprintf(w, "## (f) Sequence %d, batch %d (paper Figs. 17–18)\n\n", r.LongSeq, r.LongBatch)
	rows = nil
	for _, row := range r.rows("long") {
		rows = append(rows, []string{row.Model, row.Configuration, cell(row, true, func(x EvalRow) string { return fmt.Sprintf("%.0f", x.TokensPerSecond) }),
			gbs(row.PeakMemory), row.Layout})
	}
	table(w, []string{"model", "configuration", "tokens/s", "peak GB", "layout"}, rows)

	// (g) faults.
	fmt.Fprintln(w, "## (g) Faults (paper Fig. 20)")
	fmt.Fprintln(w)
	rows = nil
	for _, row := range r.rows("faults") {
		ref, ok := r.find("main", row.Model, "temp")
		rel := "—"
		if ok && ref.Fits && row.Fits {
			rel = fmt.Sprintf("%.3f", row.TokensPerSecond/ref.TokensPerSecond)
		}
		rows = append(rows, []string{row.Model, row.Wafer, cell(row, true, func(x EvalRow) string { return fmt.Sprintf("%.0f", x.TokensPerSecond) }), rel, row.Layout})
	}
	table(w, []string{"model", "fault map (dies, links, seed)", "tokens/s", "relative to fault-free", "layout"}, rows)
	fmt.Fprintln(w, "![faults](faults.svg)")
	fmt.Fprintln(w)

	// (h) search.
	fmt.Fprintln(w, "## (h) Search (paper Sec. VIII-H)")
	fmt.Fprintln(w)
	rows = nil
	for _, s := range r.Search {
		agree := "too many to enumerate"
		if s.EnumerationAgrees != nil {
			agree = map[bool]string{true: "agrees", false: "**disagrees**"}[*s.EnumerationAgrees]
		}
		rows = append(rows, []string{s.Model, fmt.Sprintf("%d × %d", s.AliasedRows, s.AliasedCols), s.AliasedStatus,
			fmt.Sprintf("%.3g", s.Combinations), agree})
	}
	table(w, []string{"model", "aliased ILP rows × cols", "status", "assignments", "enumeration"}, rows)
	fmt.Fprintln(w, "Solve and enumeration wall times, and the unaliased ILP's status under its time limit, are in `eval.json` (`search`).")
	fmt.Fprintln(w)

	// (i) cost model.
	fmt.Fprintln(w, "## (i) Cost model against the simulator (paper Fig. 21)")
	fmt.Fprintln(w)
	c := r.CostModel
	fmt.Fprintf(w, "Over the %d plans that fit, every section's, each plan once: |simulated − predicted| / predicted median %.2f%%, p95 %.2f%%, max %.2f%%; signed median %+.2f%%.\n\n",
		c.Plans, 100*c.Median, 100*c.P95, 100*c.Max, 100*c.Signed)
	fmt.Fprintln(w, "![cost model](costmodel.svg)")
	fmt.Fprintln(w)

	// (j) pipelines.
	r.writePipeline(w)

	// The paper's findings, measured.
	fmt.Fprintln(w, "## The paper's findings, measured here")
	fmt.Fprintln(w)
	rows = [][]string{
		{"throughput over the best modern baseline (Megatron-Core; geo-mean)", "not measured", r.ladderText()},
		{"throughput over the historical baselines (geo-mean)", "1.7×", fmt.Sprintf("%.3f×", r.GeomeanSpeedup["overall"])},
		{"baselines out of memory", "Megatron-1 and others on 70B–175B", strings.Join(r.ooms(), ", ")},
		{"TEMP's memory against the baselines'", "49–82%", r.memoryRange()},
		{"power efficiency (tokens/J)", "up to ~1.9×", fmt.Sprintf("%.3f× (geo-mean)", r.GeomeanEfficiency["overall"])},
		{"ablation: TATP, then TCME", "1.21×, then 1.14×", r.ablationText()},
		{"throughput at 25% dead dies", "~80%", r.faultText(0.25, 0)},
		{"throughput at 35% dead links", "a cliff", r.faultText(0, 0.35)},
		{"pipelines across wafers: TEMP over the baselines", "1.2–1.6× on 2–6 wafers", r.pipelineText()},
		{"cost model error", "~4.4% against ASTRA-sim", fmt.Sprintf("median %.2f%%, max %.2f%% against the simulator", 100*c.Median, 100*c.Max)},
	}
	table(w, []string{"finding", "paper", "measured"}, rows)
	return nil
}

func gbs(b float64) string { return fmt.Sprintf("%.1f", b/1e9) }

// ooms lists the baselines that do not fit, by model.
func (r *EvalReport) ooms() []string {
	var out []string
	for _, row := range r.rows("main") {
		if !row.Fits {
			out = append(out, row.Configuration+" on "+row.Model)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// memoryRange is TEMP's simulated peak memory over each fitting
// canonical baseline's, min to max.
func (r *EvalReport) memoryRange() string {
	lo, hi := math.Inf(1), 0.0
	for _, row := range r.rows("main") {
		t, ok := r.find("main", row.Model, "temp")
		if !ok || !t.Fits || !row.Fits || !slices.Contains(canonicalConfigs, row.Configuration) {
			continue
		}
		x := t.PeakMemory / row.PeakMemory
		lo, hi = min(lo, x), max(hi, x)
	}
	if hi == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f–%.0f%%", 100*lo, 100*hi)
}

// ablationText is the geometric means of the ablation's steps.
func (r *EvalReport) ablationText() string {
	var tatp, tcme float64
	n := 0
	for _, m := range r.models("ablation") {
		tspp, ok1 := r.find("ablation", m, "tspp/gmap")
		ta, ok2 := r.find("ablation", m, "tatp/gmap")
		tc, ok3 := r.find("main", m, "temp")
		if !(ok1 && ok2 && ok3 && tspp.Fits && ta.Fits && tc.Fits) {
			continue
		}
		tatp += math.Log(ta.TokensPerSecond / tspp.TokensPerSecond)
		tcme += math.Log(tc.TokensPerSecond / ta.TokensPerSecond)
		n++
	}
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.3f×, then %.3f× (geo-mean of %d models)", math.Exp(tatp/float64(n)), math.Exp(tcme/float64(n)), n)
}

// faultText is the fault sweep's relative throughput at a point.
func (r *EvalReport) faultText(dies, links float64) string {
	for _, row := range r.rows("faults") {
		if strings.Contains(row.Wafer, fmt.Sprintf("-d%g-l%g-", dies, links)) {
			ref, ok := r.find("main", row.Model, "temp")
			if !row.Fits || !ok || !ref.Fits {
				return "does not fit"
			}
			return fmt.Sprintf("%.0f%% (%s)", 100*row.TokensPerSecond/ref.TokensPerSecond, row.Model)
		}
	}
	return "not run"
}

// degreeThroughput is the wafer's tokens per second when its dies run
// groups of d.Degree, each streaming the layer for its micro-batch.
func (r *EvalReport) degreeThroughput(d validate.Degree) float64 {
	groups := r.Dies / d.GroupDies
	return float64(groups) * float64(r.DegreeSeqs) * float64(r.Seq) / d.Simulated
}
