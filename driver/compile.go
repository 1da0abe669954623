package driver

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/lower"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// CompileOptions are the options of `tempc compile`.
type CompileOptions struct {
	PlanOptions
	// Output receives the plan JSON ("" for none, "-" for stdout).
	Output string
	// Trace receives a Perfetto/Chrome trace of the simulated plan.
	Trace string
	// DOT receives the plan's loop structure as a Graphviz graph.
	DOT string
	// JSON prints the report as JSON (CompileReport) instead of text.
	JSON bool
}

// CompileReport is `tempc compile --json`: the solve report and what
// lowering made of it.
type CompileReport struct {
	*SolveReport
	Plan PlanSummary `json:"plan"`
}

// PlanSummary is a lowered plan in figures.
type PlanSummary struct {
	// TasksStored counts the tasks of the plan's blocks, TasksExpanded
	// those of the whole step (every run of every block); Blocks the
	// blocks.
	TasksStored   int64   `json:"tasks_stored"`
	TasksExpanded int64   `json:"tasks_expanded"`
	Blocks        int     `json:"blocks"`
	LowerSeconds  float64 `json:"lower_seconds"`
	// DMADescriptors is the step's DMA descriptors over all dies.
	DMADescriptors int64 `json:"dma_descriptors_per_step"`
}

// Compile runs the whole pipeline — graph, strategy space, pricing, ILP,
// lowering, verification — writes the plan, and prints its summary.
func Compile(w io.Writer, o CompileOptions) error {
	for _, path := range []string{o.Output, o.Trace, o.DOT} {
		if err := writable(path); err != nil {
			return err
		}
	}
	c, err := compilePlan(o.PlanOptions)
	if err != nil {
		return err
	}
	p, r, pl, lowering := c.sv.priced, c.report, c.plan, c.lowering
	if err := writePlan(w, o.Output, pl); err != nil {
		return err
	}
	if o.DOT != "" {
		if err := writeFile(o.DOT, func(f io.Writer) error { return plan.WriteDOT(f, pl) }); err != nil {
			return err
		}
	}
	if o.Trace != "" {
		sr, err := simulate(pl, p.spec, false, o.Progress)
		if err != nil {
			return err
		}
		if err := writeFile(o.Trace, func(f io.Writer) error { return sr.writeTrace(f, pl, p.spec, [2]float64{}) }); err != nil {
			return err
		}
	}
	if o.Output == "-" {
		return nil // stdout holds the plan
	}
	stored, expanded := pl.Size()
	if o.JSON {
		descriptors, _, _, _, err := commFigures(pl, p.spec)
		if err != nil {
			return err
		}
		return writeJSON(w, CompileReport{SolveReport: r, Plan: PlanSummary{TasksStored: stored, TasksExpanded: expanded,
			Blocks: blocks(pl), LowerSeconds: lowering.Seconds(), DMADescriptors: descriptors}})
	}
	if err := r.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "plan       %d tasks stored in %d blocks, %d when expanded; lowered and verified in %.2f s\n",
		stored, blocks(pl), expanded, lowering.Seconds())
	return commSummary(w, pl, p.spec)
}

// compiled is a model planned, lowered and verified.
type compiled struct {
	sv       *solved
	report   *SolveReport
	plan     *plan.Plan
	lowering time.Duration
}

// compilePlan plans o, lowers the plan, and holds it to its wafer and its
// graph's work.
func compilePlan(o PlanOptions) (*compiled, error) {
	start := time.Now()
	sv, err := solveAll(o)
	if err != nil {
		return nil, err
	}
	p := sv.priced
	c := &compiled{sv: sv, report: report(sv, o, time.Since(start))}
	lowerStart := time.Now()
	pl, err := lower.Lower(p.table, sv.sol.Assignment)
	if err != nil {
		return nil, err
	}
	pl.ModelSource = modelSource(o.Model)
	pl.Configuration = o.Configuration()
	if err := pl.Verify(p.spec); err != nil {
		return nil, fmt.Errorf("driver: the lowered plan does not verify (a bug): %w", err)
	}
	if err := lower.CheckWork(pl, p.table.Space); err != nil {
		return nil, fmt.Errorf("driver: the lowered plan does not do the graph's work (a bug): %w", err)
	}
	c.plan, c.lowering = pl, time.Since(lowerStart)
	o.say("lowered and verified in %.2f s", c.lowering.Seconds())
	return c, nil
}

// commSummary prints the plan's communication programs in brief: DMA
// descriptors per step, and the block whose busiest link carries the most
// transfers per run.
func commSummary(w io.Writer, pl *plan.Plan, s *wafer.Spec) error {
	descriptors, worst, worstN, worstLink, err := commFigures(pl, s)
	if err != nil || worstN == 0 {
		return err
	}
	_, err = fmt.Fprintf(w, "comm       %d DMA descriptors per step; busiest link %s carries %d transfers per run of %s\n",
		descriptors, s.LinkName(worstLink), worstN, worst)
	return err
}

// commFigures is the step's DMA descriptors, and the block whose busiest
// link carries the most transfers per run, with that link and count.
func commFigures(pl *plan.Plan, s *wafer.Spec) (descriptors int64, worst string, worstN int, worstLink wafer.LinkID, err error) {
	worstLink = -1
	err = pl.Walk(func(n *plan.Node, runs int) error {
		c, err := n.Program.Comm(s)
		if err != nil {
			return err
		}
		for _, d := range c.DMA {
			descriptors += int64(len(d)) * int64(runs)
		}
		if l, k := c.Busiest(); k > worstN {
			worst, worstN, worstLink = n.Name, k, l
		}
		return nil
	})
	return descriptors, worst, worstN, worstLink, err
}

func blocks(p *plan.Plan) int {
	n := 0
	p.Walk(func(*plan.Node, int) error { n++; return nil })
	return n
}

func writePlan(stdout io.Writer, path string, p *plan.Plan) error {
	switch path {
	case "":
		return nil
	case "-":
		return plan.WriteJSON(stdout, p)
	}
	return writeFile(path, func(f io.Writer) error { return plan.WriteJSON(f, p) })
}

// modelSource is what a plan records as its model_source: a preset's
// name, or a model file's absolute path, so that the plan can be
// simulated from any directory.
func modelSource(model string) string {
	if _, ok := frontend.Preset(model); ok {
		return model
	}
	if abs, err := filepath.Abs(model); err == nil {
		return abs
	}
	return model
}

// writeFile writes path atomically: into a temporary file in the same
// directory, renamed over path only when write and close succeed, so a
// failed or interrupted run leaves the previous file whole. A symbolic
// link is written through (its target replaced), and an existing file
// keeps its permissions.
func writeFile(path string, write func(io.Writer) error) (err error) {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	if err := os.Chmod(f.Name(), mode); err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	return nil
}

// writable checks, before any work, that path ("" and "-" need no check)
// can be written: not a directory, in a directory where a file can be
// created.
func writable(path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("driver: cannot write %s: it is a directory", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("driver: cannot write %s: %w", path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
