package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/wafer"
)

// FaultsOptions are the options of `tempc faults`.
type FaultsOptions struct {
	tempc.Options
	// DieRates and LinkRates are the fractions of dies and of links to
	// break; every pair is a point of the sweep, run with Seeds fault maps.
	DieRates, LinkRates []float64
	Seeds               int
	JSON                bool
	// SVGDir, when set, receives a picture of every fault map of the
	// sweep (NAME.svg, NAME the map's wafer name).
	SVGDir string
}

// FaultPoint is one point of the sweep: throughput relative to the
// fault-free plan over the seeds whose plan fits.
type FaultPoint struct {
	DieRate  float64 `json:"die_rate"`
	LinkRate float64 `json:"link_rate"`
	Seeds    int     `json:"seeds"`
	Fit      int     `json:"fit"`
	Mean     float64 `json:"mean_relative_throughput"`
	Min      float64 `json:"min_relative_throughput"`
	Max      float64 `json:"max_relative_throughput"`
	// NoFit gives, for each seed that does not fit, why.
	NoFit []string `json:"does_not_fit,omitempty"`
}

// FaultsReport is a whole sweep.
type FaultsReport struct {
	Model       string       `json:"model"`
	Wafer       string       `json:"wafer"`
	BaseSeconds float64      `json:"fault_free_step_seconds"`
	Points      []FaultPoint `json:"points"`
}

// Faults plans the model on the fault-free wafer, then on random fault
// maps — for each die rate and link rate, Seeds maps breaking round(rate ×
// count) dies and (undirected) links chosen uniformly — and reports
// throughput relative to the fault-free plan, or why a map does not fit.
func Faults(ctx context.Context, w io.Writer, o FaultsOptions) error {
	if o.Seeds <= 0 {
		o.Seeds = 5
	}
	if o.SVGDir != "" {
		if err := os.MkdirAll(o.SVGDir, 0o755); err != nil {
			return fmt.Errorf("driver: --svg %s: %w", o.SVGDir, err)
		}
	}
	// The fault maps' pictures are one output set, published once the
	// sweep is done.
	out, err := newOutputs()
	if err != nil {
		return err
	}
	defer out.discard()
	base, err := wafer.Load(o.Wafer)
	if err != nil {
		return err
	}
	ref, err := tempc.Solve(ctx, o.withSpec(base))
	if err != nil {
		return err
	}
	rep := FaultsReport{Model: ref.Table.Space.Graph.Name, Wafer: base.Name, BaseSeconds: ref.Solution.Breakdown.Seconds}
	for _, dr := range o.DieRates {
		for _, lr := range o.LinkRates {
			pt := FaultPoint{DieRate: dr, LinkRate: lr, Seeds: o.Seeds, Min: math.Inf(1)}
			for seed := 1; seed <= o.Seeds; seed++ {
				s, err := wafer.RandomFaults(base, dr, lr, uint64(seed))
				if err == nil && o.SVGDir != "" {
					if err := out.add(filepath.Join(o.SVGDir, s.Name+".svg"), waferPicture(s).writeSVG); err != nil {
						return err
					}
				}
				if err == nil {
					var sv *tempc.Solved
					sv, err = tempc.Solve(ctx, o.withSpec(s))
					if ctx.Err() != nil {
						return context.Cause(ctx) // not a map that does not fit
					}
					if err == nil {
						rel := rep.BaseSeconds / sv.Solution.Breakdown.Seconds
						pt.Fit++
						pt.Mean += rel
						pt.Min, pt.Max = min(pt.Min, rel), max(pt.Max, rel)
						say(o.Progress, "dies %.0f%% links %.0f%% seed %d: %.3f", 100*dr, 100*lr, seed, rel)
						continue
					}
				}
				pt.NoFit = append(pt.NoFit, fmt.Sprintf("seed %d: %s", seed, reason(err)))
				say(o.Progress, "dies %.0f%% links %.0f%% seed %d: does not fit", 100*dr, 100*lr, seed)
			}
			if pt.Fit > 0 {
				pt.Mean /= float64(pt.Fit)
			} else {
				pt.Min = 0
			}
			rep.Points = append(rep.Points, pt)
		}
	}
	if err := out.commit(ctx); err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(w, rep)
	}
	fmt.Fprintf(w, "%s on %s: fault-free step %.4f s; throughput relative to it over %d fault maps per point\n",
		rep.Model, rep.Wafer, rep.BaseSeconds, o.Seeds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "dead dies\tdead links\tfit\tmean\tmin\tmax\t")
	for _, p := range rep.Points {
		if p.Fit == 0 {
			fmt.Fprintf(tw, "%.0f%%\t%.0f%%\t0/%d\tdoes not fit\t\t\t\n", 100*p.DieRate, 100*p.LinkRate, p.Seeds)
			continue
		}
		fmt.Fprintf(tw, "%.0f%%\t%.0f%%\t%d/%d\t%.3f\t%.3f\t%.3f\t\n", 100*p.DieRate, 100*p.LinkRate, p.Fit, p.Seeds, p.Mean, p.Min, p.Max)
	}
	return tw.Flush()
}

func (o FaultsOptions) withSpec(s *wafer.Spec) tempc.Options {
	p := o.Options
	p.Spec = s
	return p
}

// reason is a one-line account of why a fault map does not fit.
func reason(err error) string {
	var oom *ilp.OutOfMemoryError
	if errors.As(err, &oom) {
		return fmt.Sprintf("needs %s per die, has %s", fileio.Bytes(oom.Need), fileio.Bytes(oom.Have))
	}
	return err.Error()
}
