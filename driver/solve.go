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

// Solve chooses the layout (and, with OnWaferStages, the on-wafer
// pipeline: tempc.SolveStep) and per-group strategies of a model on a wafer
// and writes the plan's figures and the solver record to w.
func Solve(ctx context.Context, w io.Writer, o SolveOptions) error {
	if o.OnWaferStages != 0 {
		st, err := tempc.SolveStep(ctx, o.Options)
		if err != nil {
			if o.JSON {
				if werr := writeJSON(w, tempc.Failure(o.Options, err)); werr != nil {
					return werr
				}
			}
			return err
		}
		r := stepReport(st, o.waferName())
		if o.JSON {
			return writeJSON(w, r)
		}
		return writeStepText(w, r)
	}
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

// waferName is the wafer the options name: the Spec's, or Wafer.
func (o SolveOptions) waferName() string {
	if o.Spec != nil {
		return o.Spec.Name
	}
	return o.Wafer
}
