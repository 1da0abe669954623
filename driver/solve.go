package driver

import (
	"context"
	"io"

	"github.com/tempc/tempc"
)

// SolveOptions are the options of `tempc solve`.
type SolveOptions struct {
	tempc.Options
	JSON bool
}

// Solve chooses the layout and per-group strategies of a model on a wafer
// and writes the plan's figures and the solver record to w.
func Solve(ctx context.Context, w io.Writer, o SolveOptions) error {
	sv, err := tempc.Solve(ctx, o.Options)
	if err != nil {
		if o.JSON {
			if werr := writeJSON(w, tempc.Failure(o.Options, err)); werr != nil {
				return werr
			}
		}
		return err
	}
	if o.JSON {
		return writeJSON(w, sv.Report)
	}
	return writeSolveText(w, sv.Report)
}
