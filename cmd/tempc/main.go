// Command tempc compiles LLM training steps to wafer-scale chip plans.
//
// Usage:
//
//	tempc graph --model NAME|PATH [--batch B] [--seq S] [--format text|json|dot|ir|graph-json]
//	tempc wafer [--wafer NAME|FILE] [--json]
//	tempc solve --model M --wafer W [--batch B --seq S] [--json]
//	tempc gap --model M --wafer W
//	tempc compile --model M --wafer W [-o plan.json] [--trace trace.json]
//	tempc simulate PLAN.json [--json]
//	tempc validate [--suite default|quick] [--json]
//	tempc eval --out DIR [--quick]
//	tempc pipeline --model M --wafer W --wafers N [--schedule 1f1b|gpipe]
//	tempc schema plan|wafer|graph
//
// Run `tempc help` for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/driver"
)

// command is one subcommand: it parses its own flags and runs.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// cancellable says run returns soon after ctx is done, publishing no
	// output; an interrupt ends any other command at once.
	cancellable bool
}

var commands = []command{
	{"graph", "build a model's training graph and print its figures", runGraph, false},
	{"wafer", "describe a wafer preset or file", runWafer, false},
	{"solve", "choose the layout and per-op strategies of a model on a wafer (ILP on HiGHS)", runSolve, true},
	{"gap", "how far the plan can be from optimal: MIP gap, LP bound, brute force on small spaces", runGap, true},
	{"compile", "the whole pipeline: plan a model on a wafer, lower and verify it, write it", runCompile, true},
	{"simulate", "replay a plan in the packet-level simulator and compare with its prediction", runSimulate, true},
	{"bench", "compare the temp, gmap and smap mappers on one plan's strategies, simulated", runBench, true},
	{"faults", "sweep random fault maps and report throughput against the fault-free plan", runFaults, true},
	{"validate", "measure the analytic cost model against the packet-level simulator", runValidate, false},
	{"eval", "the paper's evaluation, every step simulated: report.md, eval.json and figures", runEval, true},
	{"pipeline", "plan a model across wafers in pipeline stages (one per wafer), each stage solved on its wafer", runPipeline, true},
	{"schema", "print the JSON Schema of a file format: plan, wafer or graph", runSchema, false},
}

// exitInterrupted is the exit code of a command an interrupt (SIGINT or
// SIGTERM) ended: 128 + SIGINT's number, as shells report it.
const exitInterrupted = 130

// stdin is what `tempc simulate -` reads (tests replace it).
var stdin io.Reader = os.Stdin

func main() {
	// The first SIGINT or SIGTERM cancels ctx: a cancellable command
	// stops, publishes nothing and returns. A second one, or the first
	// during any other command, exits at once, the temporary files of
	// outputs not yet published removed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	patient := len(os.Args) > 1 && slices.ContainsFunc(commands, func(c command) bool { return c.name == os.Args[1] && c.cancellable })
	go func() {
		if patient {
			<-signals
		}
		s := <-signals
		driver.RemoveTemps()
		fmt.Fprintf(os.Stderr, "tempc: %v: stopped\n", s)
		os.Exit(exitInterrupted)
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	driver.RemoveTemps()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code: 0 on
// success, 1 on failure, 2 on a usage error, 130 when ctx was cancelled
// (an interrupt) and the command stopped for it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
		fmt.Fprintln(stdout, "tempc", tempc.Version())
		return 0
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case ctx.Err() != nil:
				fmt.Fprintf(stderr, "tempc %s: stopped: %v\n", c.name, context.Cause(ctx))
				return exitInterrupted
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.As(err, new(usageError)):
				fmt.Fprintf(stderr, "tempc %s: %s\n", c.name, message(err))
				return 2
			default:
				fmt.Fprintf(stderr, "tempc %s: %s\n", c.name, message(err))
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "tempc: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tempc <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'tempc <command> -h' for a command's flags.")
}

// usageError marks errors in how a command was invoked.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tempc "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args and rejects positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// given returns the names of the flags set on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// positive rejects each named flag that was given a value below 1: for
// flags whose zero value means "the default", an explicit 0 (or a
// negative) is a mistake, not a request for the default.
func positive(fs *flag.FlagSet, names ...string) error {
	set := given(fs)
	for _, name := range names {
		if !set[name] {
			continue
		}
		f := fs.Lookup(name)
		v, err := parseNumber(f.Value.String())
		if err != nil || v < 1 {
			return usageError{fmt.Sprintf("--%s %s: want a positive whole number", name, f.Value)}
		}
	}
	return nil
}

// parseNumber reads a flag's value back as a number.
func parseNumber(s string) (float64, error) {
	var v float64
	if _, err := fmt.Sscan(s, &v); err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return v, nil
}

// packages are tempc's packages, whose names prefix their errors.
var packages = []string{"tempc", "highs", "chakra", "driver", "frontend", "ir", "wafer", "sim", "partition", "costmodel", "ilp", "heuristics", "lower", "plan", "validate"}

// message is err's text without the package names that lead it: the
// command's name already says where it failed ("tempc wafer: unknown
// wafer", not "tempc wafer: wafer: unknown wafer").
func message(err error) string {
	msg := err.Error()
	for {
		name, rest, ok := strings.Cut(msg, ": ")
		if !ok || !slices.Contains(packages, name) {
			return msg
		}
		msg = rest
	}
}

// maxTimeLimit bounds --time-limit: 1000 hours (six weeks) is beyond any
// plan's need, and far enough from time.Duration's 292 years that a
// deadline computed from it never overflows.
const maxTimeLimit = 1000 * time.Hour

// timeLimit is a usage error unless d is a positive duration of at most
// maxTimeLimit.
func timeLimit(d time.Duration) error { return durationFlag("time-limit", d) }

// durationFlag is a usage error unless --name's duration is positive and
// at most maxTimeLimit.
func durationFlag(name string, d time.Duration) error {
	if d <= 0 || d > maxTimeLimit {
		return usageError{fmt.Sprintf("--%s %v: want a positive duration of at most %v, such as 60s", name, d, maxTimeLimit)}
	}
	return nil
}

// oneOf is a usage error unless --name's value is one of allowed.
func oneOf[T ~string](name, value string, allowed []T) error {
	for _, a := range allowed {
		if string(a) == value {
			return nil
		}
	}
	want := make([]string, len(allowed))
	for i, a := range allowed {
		want[i] = string(a)
	}
	return usageError{fmt.Sprintf("--%s %q: want %s", name, value, strings.Join(want, ", "))}
}

// nonEmpty rejects each named string flag that was given an empty value:
// an empty --strategy or --format would otherwise silently mean the
// default.
func nonEmpty(fs *flag.FlagSet, names ...string) error {
	set := given(fs)
	for _, name := range names {
		if set[name] && fs.Lookup(name).Value.String() == "" {
			dash := "--"
			if len(name) == 1 {
				dash = "-" // -o
			}
			return usageError{fmt.Sprintf("%s%s is empty", dash, name)}
		}
	}
	return nil
}
