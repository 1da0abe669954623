package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tempc/tempc/driver"
)

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	var o driver.EvalOptions
	fs.StringVar(&o.Out, "out", "", "directory for report.md, eval.json and the SVG figures (required)")
	fs.BoolVar(&o.Quick, "quick", false, "a subset: two models, fewer points")
	fs.StringVar(&o.Wafer, "wafer", "temp48", "wafer preset or file")
	fs.DurationVar(&o.TimeLimit, "time-limit", 600*time.Second, "bound on planning each configuration")
	fs.IntVar(&o.Threads, "threads", 0, "solver threads per case (0: HiGHS decides)")
	fs.IntVar(&o.Jobs, "jobs", 0, "cases planned and simulated at once (0: one per CPU)")
	fs.BoolVar(&o.Resume, "resume", false, "reuse the rows an interrupted run left in DIR/eval.partial.json")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Out == "" {
		return usageError{"--out is required"}
	}
	if o.Jobs < 0 {
		return usageError{fmt.Sprintf("--jobs %d: want 0 (one per CPU) or more", o.Jobs)}
	}
	if err := timeLimit(o.TimeLimit); err != nil {
		return err
	}
	if o.Threads < 0 {
		return usageError{fmt.Sprintf("--threads %d: want 0 (HiGHS decides) or a positive count", o.Threads)}
	}
	if !*quiet {
		o.Progress = stderr
	}
	if err := driver.Eval(ctx, o); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s/report.md, eval.json and figures\n", o.Out)
	return nil
}
