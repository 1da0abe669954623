package driver

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tempc/tempc/validate"
)

// ValidateOptions selects a validation suite and its output.
type ValidateOptions struct {
	validate.Options
	// JSON prints the report as JSON instead of tables.
	JSON bool
}

// Validate runs the cost model against the simulator over a case suite and
// writes per-case errors and per-class summaries to w.
func Validate(w io.Writer, o ValidateOptions) error {
	rep, err := validate.Run(o.Options)
	if err != nil {
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "class\tcase\tanalytic µs\tsimulated µs\terror\t\n")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%+.2f%%\t\n", r.Class, r.Name, r.Analytic*1e6, r.Simulated*1e6, 100*r.RelErr)
	}
	fmt.Fprintf(tw, "\nclass\tcases\tmedian |err|\tp95 |err|\tmax |err|\t\n")
	for _, s := range append(rep.Classes, rep.Stats) {
		name := s.Class
		if name == "" {
			name = "overall"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f%%\t%.2f%%\t%.2f%%\t\n", name, s.Cases, 100*s.Median, 100*s.P95, 100*s.Max)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "suite %s, seed %d: %d cases in %.1f s\n", rep.Suite, rep.Seed, rep.Cases, rep.WallSeconds)
	return err
}
