package driver

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/heuristics"
	"github.com/tempc/tempc/lower"
)

// BenchOptions are the options of `tempc bench`.
type BenchOptions struct {
	tempc.Options
	JSON bool
}

// MapperResult is one mapper's plan with the strategies held fixed.
type MapperResult struct {
	Mapper string `json:"mapper"`
	// Predicted and Simulated step; ExposedComm the simulated time compute
	// engines wait for data; MaxLinkBytes the busiest link's bytes over the
	// step (simulated).
	Predicted    float64 `json:"predicted_step_seconds"`
	Simulated    float64 `json:"simulated_step_seconds"`
	ExposedComm  float64 `json:"exposed_comm_seconds"`
	MaxLinkBytes float64 `json:"max_link_bytes"`
	MaxLink      string  `json:"max_link"`
	// DPMaxLinkBytes is the busiest link's bytes in the DP gradient
	// all-reduce alone, as the cost model counts them on the mapping (the
	// traffic the mappers place; the step's busiest link is usually a
	// group-internal one no mapping can unload).
	DPMaxLinkBytes float64 `json:"dp_max_link_bytes"`
}

// BenchReport compares mappers on one plan's strategies.
type BenchReport struct {
	Model   string         `json:"model"`
	Wafer   string         `json:"wafer"`
	Layout  string         `json:"layout"`
	Mappers []MapperResult `json:"mappers"`
}

// Bench plans the model with the temp mapper, then holds its layout and
// strategies fixed and maps the layout with each mapper — temp, gmap,
// smap —, lowers and simulates each, and compares maximum link load and
// simulated communication time.
func Bench(ctx context.Context, w io.Writer, o BenchOptions) error {
	o.Mapper = "temp"
	sv, err := tempc.Solve(ctx, o.Options)
	if err != nil {
		return err
	}
	p, a := sv, sv.Solution.Assignment
	sp := p.Table.Space
	rep := BenchReport{Model: sp.Graph.Name, Wafer: p.Spec.Name, Layout: sp.Layouts[a.Layout].Name()}
	for _, name := range []string{"temp", "gmap", "smap"} {
		mapper, err := o.NewMapper(name)
		if err != nil {
			return err
		}
		mpg, mrep, err := heuristics.Judged(mapper, p.CostModel, p.Table, a, o.Objective).Map(p.CostModel, sp, a.Layout)
		if err != nil {
			return err
		}
		t, err := p.CostModel.Reprice(p.Table, a.Layout, mpg)
		if err != nil {
			return err
		}
		pl, err := lower.Lower(t, a)
		if err != nil {
			return err
		}
		if err := pl.Verify(p.Spec); err != nil {
			return fmt.Errorf("driver: %s plan does not verify (a bug): %w", name, err)
		}
		res, err := tempc.Simulate(ctx, pl, p.Spec, tempc.SimulateOptions{Progress: o.Progress})
		if err != nil {
			return err
		}
		r := res.Report
		rep.Mappers = append(rep.Mappers, MapperResult{Mapper: name, Predicted: r.Predicted, Simulated: r.Simulated,
			ExposedComm: r.ExposedComm, MaxLinkBytes: r.MaxLinkBytes, MaxLink: r.MaxLink, DPMaxLinkBytes: mrep.MaxLinkAfter})
	}
	if o.JSON {
		return writeJSON(w, rep)
	}
	fmt.Fprintf(w, "%s on %s, layout %s, strategies fixed (chosen with the temp mapper)\n", rep.Model, rep.Wafer, rep.Layout)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "mapper\tpredicted s\tsimulated s\texposed comm s\tbusiest link GB\tbusiest DP link GB (model)\t")
	for _, m := range rep.Mappers {
		fmt.Fprintf(tw, "%s\t%.5f\t%.5f\t%.5f\t%.3f (%s)\t%.3f\t\n", m.Mapper, m.Predicted, m.Simulated, m.ExposedComm, m.MaxLinkBytes/1e9, m.MaxLink,
			m.DPMaxLinkBytes/1e9)
	}
	return tw.Flush()
}
