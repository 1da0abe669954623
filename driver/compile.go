package driver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/chakra"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// CompileOptions are the options of `tempc compile`.
type CompileOptions struct {
	tempc.Options
	// Output receives the plan JSON ("" for none, "-" for stdout).
	Output string
	// Trace receives a Perfetto/Chrome trace of the simulated plan.
	Trace string
	// DOT receives the plan's loop structure as a Graphviz graph.
	DOT string
	// Chakra, when set, is a directory that receives the step as Chakra
	// execution traces, one per die, with ASTRA-sim's configuration
	// (package chakra).
	Chakra string
	// JSON prints the report as JSON (CompileReport) instead of text.
	JSON bool
}

// CompileReport is `tempc compile --json`: the solve report and what
// lowering made of it.
type CompileReport struct {
	*tempc.SolveReport
	Plan tempc.PlanSummary `json:"plan"`
	// Chakra is the manifest of the Chakra traces written (--chakra).
	Chakra *chakra.Manifest `json:"chakra,omitempty"`
}

// Compile runs the whole pipeline — graph, strategy space, pricing, ILP,
// lowering, verification — writes the plan, and prints its summary.
func Compile(w io.Writer, o CompileOptions) error {
	for _, path := range []string{o.Output, o.Trace, o.DOT} {
		if err := writable(path); err != nil {
			return err
		}
	}
	c, err := tempc.Compile(context.Background(), o.Options)
	if err != nil {
		return err
	}
	p, r, pl := c, c.Report, c.Plan
	if err := writePlan(w, o.Output, pl); err != nil {
		return err
	}
	if o.DOT != "" {
		if err := writeFile(o.DOT, func(f io.Writer) error { return plan.WriteDOT(f, pl) }); err != nil {
			return err
		}
	}
	if o.Trace != "" {
		sr, err := tempc.Simulate(context.Background(), pl, p.Spec, tempc.SimulateOptions{Progress: o.Progress})
		if err != nil {
			return err
		}
		if err := writeFile(o.Trace, func(f io.Writer) error { return writeTrace(sr, f, pl, p.Spec, [2]float64{}) }); err != nil {
			return err
		}
	}
	var traces *chakra.Manifest
	if o.Chakra != "" {
		if traces, err = chakra.Write(o.Chakra, pl, p.Spec, chakra.Options{}); err != nil {
			return err
		}
	}
	if o.Output == "-" {
		return nil // stdout holds the plan
	}
	if o.JSON {
		return writeJSON(w, CompileReport{SolveReport: r, Plan: c.Summary, Chakra: traces})
	}
	if err := writeSolveText(w, r); err != nil {
		return err
	}
	fmt.Fprintf(w, "plan       %d tasks stored in %d blocks, %d when expanded; lowered and verified in %.2f s\n",
		c.Summary.TasksStored, c.Summary.Blocks, c.Summary.TasksExpanded, c.Summary.LowerSeconds)
	if err := commSummary(w, pl, p.Spec); err != nil {
		return err
	}
	if traces != nil {
		var bytes int64
		for _, r := range traces.Ranks {
			bytes += r.Bytes
		}
		_, err = fmt.Fprintf(w, "chakra     %d traces of %d nodes (%d messages, %d sync), %.1f MB in %s; ASTRA-sim workload %s\n",
			len(traces.Ranks), traces.Nodes, traces.Messages, traces.SyncMessages, float64(bytes)/1e6, o.Chakra, traces.Workload)
	}
	return err
}

// commSummary prints the plan's communication programs in brief: DMA
// descriptors per step, and the block whose busiest link carries the most
// transfers per run.
func commSummary(w io.Writer, pl *plan.Plan, s *wafer.Spec) error {
	descriptors, worst, worstN, worstLink, err := tempc.CommFigures(pl, s)
	if err != nil || worstN == 0 {
		return err
	}
	_, err = fmt.Fprintf(w, "comm       %d DMA descriptors per step; busiest link %s carries %d transfers per run of %s\n",
		descriptors, s.LinkName(worstLink), worstN, worst)
	return err
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
