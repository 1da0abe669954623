package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/driver"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

func runPipeline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pipeline", stderr)
	var pf planFlags
	pf.register(fs)
	// --time-limit bounds the whole search here, not one plan.
	pf.timeLimit = tempc.DefaultPipelineTimeLimit
	tl := fs.Lookup("time-limit")
	tl.DefValue = pf.timeLimit.String()
	tl.Usage = fmt.Sprintf("bound on the whole pipeline search: loading the model and every stage's solves (each at most %v)", ilp.DefaultTimeLimit)
	var o driver.PipelineOptions
	fs.IntVar(&o.Stages, "wafers", 0, fmt.Sprintf("pipeline stages, one per wafer (2 to %d; default: the wafer file's cluster.wafers)", wafer.MaxWafers))
	schedule := fs.String("schedule", "1f1b", "pipeline schedule: 1f1b or gpipe")
	fs.IntVar(&o.MicroBatches, "pipeline-micro-batches", 0, "micro-batches per step, shared by the stages (default: each power of two from the stages to the batch that divides it is planned and the best kept)")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&o.Output, "o", "", "lower the pipeline into one plan over the cluster and write it to this file (- for standard output); tempc simulate replays it")
	fs.BoolVar(&o.Simulate, "simulate", false, "lower the pipeline and replay it in the simulator, reporting the simulated step, bubble and inter-wafer traffic")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := nonEmpty(fs, "o"); err != nil {
		return err
	}
	if err := oneOf("schedule", *schedule, []string{"1f1b", "gpipe"}); err != nil {
		return err
	}
	if o.Output == "-" && (o.Simulate || o.JSON) {
		return usageError{"-o -: the plan takes standard output; write it to a file to also --simulate or print --json"}
	}
	if o.Stages < 0 || o.Stages > wafer.MaxWafers || o.MicroBatches < 0 {
		return usageError{fmt.Sprintf("--wafers %d and --pipeline-micro-batches %d: want 2 to %d stages (0: the wafer file's cluster.wafers) and a non-negative count", o.Stages, o.MicroBatches, wafer.MaxWafers)}
	}
	if o.Stages == 1 {
		return usageError{"--wafers 1: a pipeline of one stage is the single-wafer plan: plan it with tempc compile (or solve)"}
	}
	if err := pf.finish(fs, stderr); err != nil {
		return err
	}
	s, err := partition.ParseSchedule(*schedule)
	if err != nil {
		return usageError{"--schedule: " + err.Error()}
	}
	o.Schedule, o.Options = s, pf.o
	return driver.Pipeline(ctx, stdout, o)
}
