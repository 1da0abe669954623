package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/tempc/tempc/driver"
)

func runCompile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compile", stderr)
	var pf planFlags
	pf.register(fs)
	pf.registerStep(fs)
	var o driver.CompileOptions
	fs.StringVar(&o.Output, "o", "", "write the plan JSON to this file (- for stdout)")
	fs.StringVar(&o.Trace, "trace", "", "simulate the plan and write a Perfetto/Chrome trace to this file")
	fs.StringVar(&o.DOT, "dot", "", "write the plan's loop structure as a Graphviz graph to this file")
	fs.StringVar(&o.Chakra, "chakra", "", "write the step as Chakra execution traces, one per die, with ASTRA-sim's network, system and memory configuration, to this directory")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON (the solve report and the lowered plan's figures)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := nonEmpty(fs, "o", "trace", "dot", "chakra"); err != nil {
		return err
	}
	if o.JSON && o.Output == "-" {
		return usageError{"--json and -o - both want standard output: write the plan to a file"}
	}
	if err := pf.finish(fs, stderr); err != nil {
		return err
	}
	if err := pf.finishStep(); err != nil {
		return err
	}
	if pf.o.Space.Unaliased {
		return usageError{"--unaliased: plans are lowered from aliased spaces (identical layers share one program); use it with solve or gap"}
	}
	o.Options = pf.o
	return driver.Compile(ctx, stdout, o)
}

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("simulate", stderr)
	var o driver.SimulateOptions
	fs.StringVar(&o.Wafer, "wafer", "", "wafer preset or file (default: the one the plan names)")
	fs.StringVar(&o.Model, "model", "", "the model the plan was compiled from, if not where its model_source says")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	fs.BoolVar(&o.Full, "full", false, "replay every run of the step instead of extrapolating its steady state")
	fs.StringVar(&o.Trace, "trace", "", "write a Perfetto/Chrome trace of the replayed step to this file")
	fs.StringVar(&o.SVG, "svg", "", "write the wafer heatmap (link utilization, die busy share and peak memory, groups and rings) to this SVG file")
	window := fs.String("window", "", "trace only FROM:TO seconds of the step (e.g. 0.1:0.12; TO empty: the end)")
	progress := fs.Bool("progress", false, "report each replay on stderr as it is simulated")
	// The plan file may come before or after the flags.
	var file string
	if len(args) > 0 && (args[0] == "-" || len(args[0]) > 0 && args[0][0] != '-') {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if err := nonEmpty(fs, "wafer", "model", "trace", "svg"); err != nil {
		return err
	}
	switch {
	case file == "" && fs.NArg() == 1:
		file = fs.Arg(0)
	case fs.NArg() > 0 || file == "":
		return usageError{"want exactly one plan file: tempc simulate PLAN.json [--json] (- reads standard input)"}
	}
	o.Plan, o.Stdin = file, stdin
	if *window != "" {
		a, b, ok := strings.Cut(*window, ":")
		from, err1 := strconv.ParseFloat(a, 64)
		to, err2 := 0.0, error(nil)
		if b != "" {
			to, err2 = strconv.ParseFloat(b, 64)
		}
		// !(from >= 0) and !(to > from) refuse NaN too; Inf is no time.
		if !ok || err1 != nil || err2 != nil || !(from >= 0) || math.IsInf(from, 0) || (b != "" && (!(to > from) || math.IsInf(to, 0))) {
			return usageError{fmt.Sprintf("--window %q: want FROM:TO in seconds, finite, FROM ≥ 0 and TO > FROM (or empty for the end)", *window)}
		}
		if o.Trace == "" {
			return usageError{"--window needs --trace FILE"}
		}
		o.Window = [2]float64{from, to}
	}
	if *progress {
		o.Progress = stderr
	}
	return driver.Simulate(ctx, stdout, o)
}
