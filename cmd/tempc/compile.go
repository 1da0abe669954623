package main

import (
	"errors"
	"flag"
	"io"

	"tempc/driver"
)

func runCompile(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compile", stderr)
	var pf planFlags
	pf.register(fs)
	var o driver.CompileOptions
	fs.StringVar(&o.Output, "o", "", "write the plan JSON to this file (- for stdout)")
	fs.StringVar(&o.Trace, "trace", "", "simulate the plan and write a Perfetto/Chrome trace to this file")
	fs.StringVar(&o.DOT, "dot", "", "write the plan's loop structure as a Graphviz graph to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := pf.finish(fs, stderr); err != nil {
		return err
	}
	if pf.o.Space.Unaliased {
		return usageError{"--unaliased: plans are lowered from aliased spaces (identical layers share one program); use it with solve or gap"}
	}
	o.PlanOptions = pf.o
	return driver.Compile(stdout, o)
}

func runSimulate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("simulate", stderr)
	var o driver.SimulateOptions
	fs.StringVar(&o.Wafer, "wafer", "", "wafer preset or file (default: the one the plan names)")
	fs.StringVar(&o.Model, "model", "", "the model the plan was compiled from, if not where its model_source says")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	progress := fs.Bool("progress", false, "report each block on stderr as it is simulated")
	// The plan file may come before or after the flags.
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if err := nonEmpty(fs, "wafer", "model"); err != nil {
		return err
	}
	switch {
	case file == "" && fs.NArg() == 1:
		file = fs.Arg(0)
	case fs.NArg() > 0 || file == "":
		return usageError{"want exactly one plan file: tempc simulate PLAN.json [--json]"}
	}
	o.Plan = file
	if *progress {
		o.Progress = stderr
	}
	return driver.Simulate(stdout, o)
}
