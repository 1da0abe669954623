package driver

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tempc/tempc"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// The pipeline section: one model's throughput against the number of
// wafers it is pipelined across (one stage per wafer), TEMP against the
// canonical baselines, as the paper's multi-wafer comparison.

// runPipeline plans c as a pipeline of c.wafers stages
// (tempc.CompilePipeline: the split of the blocks and, unless c fixes
// it, the micro-batch count searched, lowered into one plan over the
// cluster) and simulates it. A model that no split fits gets the
// planner's reason.
func (o EvalOptions) runPipeline(ctx context.Context, c evalCase) EvalRow {
	row := c.row()
	start := time.Now()
	cp, err := tempc.CompilePipeline(ctx, tempc.PipelineOptions{Options: o.planOptions(c), Stages: c.wafers, MicroBatches: c.microBatches})
	row.PlanWall = time.Since(start).Seconds()
	if err != nil {
		row.Reason = reason(err)
		return row
	}
	row.Layout, row.PredictedStep, row.PredictedMemory = cp.Plan.Layout, cp.StepSeconds, cp.Plan.PredictedMemory
	row.MicroBatches, row.PredictedBubble = cp.MicroBatches, cp.Timeline.Bubble
	// The memory terms are those of the stage with the highest predicted
	// peak, the one PredictedMemory is.
	peak := -1.0
	for _, st := range cp.Stages {
		r := st.Solved.Report
		if row.Attention == "" {
			row.Attention = r.Attention
		}
		if r.PeakMemoryBytesPerDie > peak {
			peak, row.Memory = r.PeakMemoryBytesPerDie, r.Memory
		}
	}
	if s := row.simulate(ctx, cp.Plan, cp.Spec); s != nil && s.Pipeline != nil {
		row.Bubble = s.Pipeline.Bubble
	}
	return row
}

// pipelineWafers lists the wafer counts of the pipeline section in the
// order they ran.
func (r *EvalReport) pipelineWafers() []int {
	var out []int
	for _, row := range r.rows("pipeline") {
		if !slices.Contains(out, row.Wafers) {
			out = append(out, row.Wafers)
		}
	}
	return out
}

// findPipeline returns the pipeline section's row of a configuration on
// a count of wafers.
func (r *EvalReport) findPipeline(config string, wafers int) (EvalRow, bool) {
	for _, row := range r.rows("pipeline") {
		if row.Configuration == config && row.Wafers == wafers {
			return row, true
		}
	}
	return EvalRow{}, false
}

// pipelineCell is a point's simulated throughput with the predicted
// step's error and, across wafers, the simulated bubble.
func pipelineCell(row EvalRow, ok bool) string {
	switch {
	case !ok:
		return "—"
	case !row.Fits:
		return "does not fit"
	}
	s := fmt.Sprintf("%s tok/s (%+.1f%%", thousands(row.TokensPerSecond), 100*(row.SimulatedStep/row.PredictedStep-1))
	if row.Wafers > 1 {
		s += fmt.Sprintf(", bubble %.1f%%", 100*row.Bubble)
	}
	return s + ")"
}

// pipelineSpeedup is TEMP's simulated throughput over a configuration's
// on a count of wafers, when both fit.
func (r *EvalReport) pipelineSpeedup(config string, wafers int) (float64, bool) {
	t, ok1 := r.findPipeline("temp", wafers)
	b, ok2 := r.findPipeline(config, wafers)
	if !(ok1 && ok2 && t.Fits && b.Fits) {
		return 0, false
	}
	return t.TokensPerSecond / b.TokensPerSecond, true
}

// writePipeline writes report.md's pipeline section.
func (r *EvalReport) writePipeline(w io.Writer) {
	fmt.Fprintln(w, "## (j) Pipelines across wafers (the paper's multi-wafer comparison)")
	fmt.Fprintln(w)
	rows, configs, counts := r.rows("pipeline"), r.configs("pipeline"), r.pipelineWafers()
	if len(rows) == 0 {
		fmt.Fprintln(w, "Not run.")
		fmt.Fprintln(w)
		return
	}
	schedule, searched := "1F1B", "the split of the blocks and the micro-batch count"
	if r.PipelineMicroBatches > 0 {
		schedule, searched = fmt.Sprintf("1F1B at %d micro-batches", r.PipelineMicroBatches), "the split of the blocks"
	}
	fmt.Fprintf(w, "%s at batch %d, sequence %d, cut into one pipeline stage per %s wafer (%s; %s searched per point, "+
		"`tempc pipeline`), %.3g TB/s between neighbouring wafers, lowered into one plan over the wafers and its whole step "+
		"simulated; on one wafer, the single-wafer plan (`tempc compile`). `temp` is the temp mapper, the baselines run with "+
		"the sequential mapper only (each point plans %s). Each cell: simulated throughput (the simulated step against the "+
		"predicted, and the simulated pipeline bubble).\n\n",
		rows[0].Model, rows[0].Batch, rows[0].Seq, r.Wafer, schedule, searched, r.PipelineEdgeTBps, searched)
	var lines [][]string
	for _, n := range counts {
		line := []string{strconv.Itoa(n)}
		for _, c := range configs {
			row, ok := r.findPipeline(c, n)
			line = append(line, pipelineCell(row, ok))
		}
		lines = append(lines, line)
	}
	table(w, append([]string{"wafers"}, configs...), lines)
	var why []string
	for _, row := range rows {
		if !row.Fits {
			why = append(why, fmt.Sprintf("- %s on %d wafer%s: %s", row.Configuration, row.Wafers, plural(row.Wafers), row.Reason))
		}
	}
	if len(why) > 0 {
		fmt.Fprintf(w, "Where a configuration does not fit:\n\n%s\n\n", strings.Join(why, "\n"))
	}
	fmt.Fprintln(w, "TEMP's simulated throughput over each baseline's:")
	fmt.Fprintln(w)
	baselines := slices.DeleteFunc(slices.Clone(configs), func(c string) bool { return c == "temp" })
	lines = nil
	for _, n := range counts {
		line := []string{strconv.Itoa(n)}
		for _, c := range baselines {
			x, ok := r.pipelineSpeedup(c, n)
			line = append(line, map[bool]string{true: fmt.Sprintf("%.3f×", x), false: "—"}[ok])
		}
		lines = append(lines, line)
	}
	table(w, append([]string{"wafers"}, baselines...), lines)
	fmt.Fprintln(w, "![pipeline](pipeline.svg)")
	fmt.Fprintln(w)
}

// pipelineText is TEMP's speedup over each baseline across two wafers or
// more, least to most, for the findings.
func (r *EvalReport) pipelineText() string {
	var parts []string
	for _, c := range r.configs("pipeline") {
		lo, hi := math.Inf(1), 0.0
		for _, n := range r.pipelineWafers() {
			if x, ok := r.pipelineSpeedup(c, n); ok && n > 1 && c != "temp" {
				lo, hi = min(lo, x), max(hi, x)
			}
		}
		switch a, b := fmt.Sprintf("%.2f", lo), fmt.Sprintf("%.2f", hi); {
		case hi == 0:
		case a == b:
			parts = append(parts, fmt.Sprintf("%s× over %s", a, c))
		default:
			parts = append(parts, fmt.Sprintf("%s–%s× over %s", a, b, c))
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}

func plural(n int) string { return map[bool]string{true: "s"}[n != 1] }

// thousands prints x rounded to an integer with its thousands separated:
// 49,399.
func thousands(x float64) string {
	s := strconv.FormatFloat(math.Round(x), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// pipelineSeries are each configuration's simulated throughput against
// the wafers, the points that fit.
func (r *EvalReport) pipelineSeries() ([]string, []plotter.XYs) {
	configs := r.configs("pipeline")
	pts := make([]plotter.XYs, len(configs))
	for i, c := range configs {
		for _, n := range r.pipelineWafers() {
			if row, ok := r.findPipeline(c, n); ok && row.Fits {
				pts[i] = append(pts[i], plotter.XY{X: float64(n), Y: row.TokensPerSecond})
			}
		}
	}
	return configs, pts
}

// pipelinePlot draws the pipeline section: simulated tokens/s against
// the wafers, a line with points per configuration.
func (r *EvalReport) pipelinePlot() (*plot.Plot, error) {
	names, pts := r.pipelineSeries()
	return WafersPlot("Pipelines across wafers (simulated)", names, pts)
}

// WafersPlot draws throughput against wafers: tokens/s over the wafer
// count, a line with points per configuration (names[i] with pts[i]). A
// configuration keeps its colour and shape whether or not it has points.
func WafersPlot(title string, names []string, pts []plotter.XYs) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, "wafers", "tokens/s"
	for i, xy := range pts {
		if len(xy) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		l.Color, s.Color, s.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
		p.Add(l, s)
		p.Legend.Add(names[i], l, s)
	}
	p.Legend.Top, p.Legend.Left = true, true
	if p.X.Min <= p.X.Max { // half a wafer's room either side of the points
		p.X.Min, p.X.Max = p.X.Min-0.5, p.X.Max+0.5
	}
	p.X.Tick.Marker = wholeTicks{}
	p.Y.Min = 0
	return p, nil
}

// WriteSVG writes p as the evaluation's figures are written: 9 × 4.5
// inches of SVG.
func WriteSVG(w io.Writer, p *plot.Plot) error {
	wt, err := p.WriterTo(9*vg.Inch, 4.5*vg.Inch, "svg")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

// wholeTicks marks the whole numbers of an axis (the wafer counts), or
// as gonum does when there are too many.
type wholeTicks struct{}

func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi-lo <= 20) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	var ts []plot.Tick
	for x := math.Ceil(lo); x <= hi; x++ {
		ts = append(ts, plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', 0, 64)})
	}
	return ts
}
