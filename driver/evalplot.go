package driver

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// figures adds the evaluation's SVG figures, files of dir, to out.
func (r *EvalReport) figures(out *outputs, dir string) error {
	figs := []struct {
		name string
		make func() (*plot.Plot, error)
	}{
		{"throughput.svg", func() (*plot.Plot, error) {
			return r.groupedBars("Throughput relative to TEMP (simulated)", "× TEMP", "main", func(row EvalRow) float64 {
				t, ok := r.find("main", row.Model, "temp")
				if !ok || !t.Fits || !row.Fits {
					return 0
				}
				return row.TokensPerSecond / t.TokensPerSecond
			})
		}},
		{"memory.svg", func() (*plot.Plot, error) {
			// A plan that does not fit draws the least memory it needs.
			return r.groupedBars("Peak memory per die (simulated; OOM: least needed)", "GB", "main", func(row EvalRow) float64 { return row.PeakMemory / 1e9 })
		}},
		{"energy.svg", func() (*plot.Plot, error) {
			return r.groupedBars("Tokens per joule (simulated)", "tokens/J", "main", func(row EvalRow) float64 {
				if !row.Fits {
					return 0
				}
				return row.TokensPerJoule
			})
		}},
		{"ablation.svg", r.ablationPlot},
		{"faults.svg", r.faultPlot},
		{"costmodel.svg", r.costPlot},
		{"degree.svg", r.degreePlot},
		{"pipeline.svg", r.pipelinePlot},
		{"ladder.svg", r.ladderPlot},
	}
	for _, f := range figs {
		p, err := f.make()
		if err != nil {
			return fmt.Errorf("driver: figure %s: %w", f.name, err)
		}
		if err := out.add(filepath.Join(dir, f.name), func(w io.Writer) error { return WriteSVG(w, p) }); err != nil {
			return err
		}
	}
	return nil
}

// groupedBars draws value per configuration (bars) per model (groups) of
// a section; a missing row draws nothing.
func (r *EvalReport) groupedBars(title, ylabel, section string, value func(EvalRow) float64) (*plot.Plot, error) {
	models, configs := r.models(section), r.configs(section)
	vals := make([]plotter.Values, len(configs))
	for i, c := range configs {
		vals[i] = make(plotter.Values, len(models))
		for j, m := range models {
			if row, ok := r.find(section, m, c); ok {
				vals[i][j] = value(row)
			}
		}
	}
	return bars(title, ylabel, models, configs, vals)
}

// ablationPlot draws each model's ablation steps relative to its best
// canonical baseline.
func (r *EvalReport) ablationPlot() (*plot.Plot, error) {
	models := r.models("ablation")
	steps := [][2]string{{"ablation", "tspp/gmap"}, {"ablation", "tatp/gmap"}, {"main", "temp"}}
	vals := make([]plotter.Values, len(steps))
	for i, st := range steps {
		vals[i] = make(plotter.Values, len(models))
		for j, m := range models {
			b, ok := r.bestBaseline(m)
			row, found := r.find(st[0], m, st[1])
			if ok && found && row.Fits {
				vals[i][j] = row.TokensPerSecond / b.TokensPerSecond
			}
		}
	}
	return bars("Ablation: throughput relative to the best canonical baseline", "× baseline", models,
		[]string{"+TSPP", "+TATP", "+TCME"}, vals)
}

// bars draws one bar per series (vals[i], named names[i]) in each group.
func bars(title, ylabel string, groups, names []string, vals []plotter.Values) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.Y.Label.Text = title, ylabel
	// Each group takes 70% of its share of some 560 points of a 9-inch
	// figure's plot width.
	width := vg.Points(0.7 * 560 / float64(max(1, len(groups))*max(1, len(names))))
	for i, v := range vals {
		b, err := plotter.NewBarChart(v, width)
		if err != nil {
			return nil, err
		}
		b.LineStyle.Width = 0
		b.Color = plotutil.Color(i)
		b.Offset = width * vg.Length(float64(i)-float64(len(vals)-1)/2)
		p.Add(b)
		p.Legend.Add(names[i], b)
	}
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.TextStyle.Font.Size = vg.Points(7)
	p.NominalX(groups...)
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	return p, nil
}

// faultPlot draws the fault sweep's relative throughput against the fault
// rate, dies and links apart.
func (r *EvalReport) faultPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = "Faults: throughput relative to the fault-free wafer", "fault rate", "× fault-free"
	dies, links := plotter.XYs{{X: 0, Y: 1}}, plotter.XYs{{X: 0, Y: 1}}
	for _, row := range r.rows("faults") {
		ref, ok := r.find("main", row.Model, "temp")
		if !ok || !ref.Fits {
			continue
		}
		var d, l float64
		var seed int
		name := row.Wafer[strings.LastIndex(row.Wafer, "-d"):]
		if _, err := fmt.Sscanf(name, "-d%g-l%g-s%d", &d, &l, &seed); err != nil {
			return nil, fmt.Errorf("fault map %q: %w", row.Wafer, err)
		}
		y := 0.0
		if row.Fits {
			y = row.TokensPerSecond / ref.TokensPerSecond
		}
		if l == 0 {
			dies = append(dies, plotter.XY{X: d, Y: y})
		} else {
			links = append(links, plotter.XY{X: l, Y: y})
		}
	}
	if err := plotutil.AddLinePoints(p, "dead dies", dies, "dead links", links); err != nil {
		return nil, err
	}
	p.Y.Min = 0
	return p, nil
}

// costPlot draws simulated against predicted step time, every plan that
// fits once, with the diagonal.
func (r *EvalReport) costPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = "Cost model against the simulator", "predicted step (s)", "simulated step (s)"
	var pts plotter.XYs
	hi := 0.0
	for _, row := range r.plans() {
		pts = append(pts, plotter.XY{X: row.PredictedStep, Y: row.SimulatedStep})
		hi = max(hi, row.PredictedStep, row.SimulatedStep)
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, err
	}
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: hi, Y: hi}})
	if err != nil {
		return nil, err
	}
	diag.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(s, diag)
	return p, nil
}

// degreePlot draws the wafer's throughput against the stream degree, one
// line per scheme.
func (r *EvalReport) degreePlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = "Stream degree: one linear layer (simulated)", "dies per stream", "wafer tokens/s"
	lines := map[string]plotter.XYs{}
	var names []string
	for _, d := range r.Degree {
		if _, ok := lines[d.Scheme]; !ok {
			names = append(names, d.Scheme)
		}
		lines[d.Scheme] = append(lines[d.Scheme], plotter.XY{X: float64(d.Degree), Y: r.degreeThroughput(d)})
	}
	var args []any
	for _, n := range names {
		args = append(args, n, lines[n])
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return nil, err
	}
	p.Y.Min = 0
	return p, nil
}

// ladderPlot draws each model's ladder: every step's simulated throughput
// relative to the historical baseline's (0 where a step does not fit).
func (r *EvalReport) ladderPlot() (*plot.Plot, error) {
	models := r.models("ladder")
	var steps []string
	for _, s := range ladderSteps {
		steps = append(steps, s.step)
	}
	vals := make([]plotter.Values, len(steps))
	for i := range vals {
		vals[i] = make(plotter.Values, len(models))
	}
	for j, m := range models {
		var hist float64
		for _, lr := range r.Ladder {
			if lr.Model != m || !lr.Fits {
				continue
			}
			if lr.Step == "historical" {
				hist = lr.SimulatedStep
			}
			if i := slices.Index(steps, lr.Step); i >= 0 && hist > 0 {
				vals[i][j] = hist / lr.SimulatedStep
			}
		}
	}
	return bars("Each step of the ladder against Megatron-LM 2022 (simulated)", "× megatron3/gmap", models, steps, vals)
}
