package driver

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/internal/fileio"
)

// say writes a progress line to w, when there is one.
func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

const gb = 1e9

// writeSolveText prints the report for a person: the plan, why each group runs
// as it does, memory by term, and the solver record.
func writeSolveText(w io.Writer, r *tempc.SolveReport) error {
	l := r.Layout
	fmt.Fprintf(w, "%s on %s, batch %d × seq %d: %s, attention %s\n", r.Model, r.Wafer, r.Batch, r.Seq, r.Configuration, r.Attention)
	fmt.Fprintf(w, "layout     %d DP groups of %s dies (%d dies), micro-batch %d (%d per step), recompute %s, ZeRO %v\n",
		l.DP, l.Group, l.DiesUsed, l.MicroBatch, l.MicroBatches, l.Recompute, l.ZeRO)
	fmt.Fprintf(w, "step       %.4f s  (compute %.4f, exposed comm %.4f of which resharding %.4f, DP sync + optimizer %.4f: the DP all-reduce's %.4f s %.4f exposed beside the last backward pass)\n",
		r.StepSeconds, r.ComputeSeconds, r.CommSeconds, r.ReshardSeconds, r.SyncOptimizerSeconds, r.DPSyncSeconds, r.DPExposedSeconds)
	fmt.Fprintf(w, "throughput %.0f tokens/s, MFU %.1f%%, energy %.0f J per step\n", r.TokensPerSecond, 100*r.MFU, r.EnergyJoulesPerStep)
	e := r.EnergyBreakdown
	fmt.Fprintf(w, "power      %.1f kW on average, %.1f tokens/J; energy: compute %.0f, HBM %.0f, SRAM %.0f, D2D %.0f, static %.0f J\n",
		r.AveragePower/1e3, r.TokensPerJoule, e.Compute, e.HBM, e.SRAM, e.D2D, e.Static)
	m := r.Memory
	by := fileio.Bytes[float64]
	fmt.Fprintf(w, "memory     %s of %s per die: weights %s, gradients %s, optimizer states %s, activations %s, gathered weights %s, transient %s\n",
		by(r.PeakMemoryBytesPerDie), by(r.CapacityBytesPerDie), by(m.Weights), by(m.Grads), by(m.OptStates), by(m.Acts), by(m.Gathered), by(m.Transient))
	fmt.Fprintln(w, "\nstrategies (per step, all layers of a group):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  group\tlayers\tscheme\tin→out\ttime s\tcompute s\tcomm s\tHBM GB/die\tSRAM GB/die\tlink GB/die\tactivations GB\ttransient GB")
	for _, s := range r.Strategies {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s→%s\t%.4f\t%.4f\t%.4f\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\n", s.Group, s.Layers, s.Scheme, s.In, s.Out,
			s.Seconds, s.ComputeSeconds, s.CommSeconds, s.HBMBytesPerDie/gb, s.SRAMBytesPerDie/gb, s.LinkBytesPerDie/gb,
			s.ActivationBytes/gb, s.TransientBytes/gb)
	}
	tw.Flush()
	fmt.Fprintf(w, "  (layouts: R replicated, S split by tokens, C split by columns/heads)\n")
	fmt.Fprintf(w, "\nlocal      mapper %s", r.Mapper)
	for _, m := range r.MapperReports {
		fmt.Fprintf(w, "; DP sync %.4g → %.4g s, busiest DP link %.3g → %.3g GB; group ring round %.4g → %.4g ms (%d annealing moves, %d flows re-routed in %d rounds)",
			m.Before, m.After, m.MaxLinkBefore/gb, m.MaxLinkAfter/gb, m.GroupBefore*1e3, m.GroupAfter*1e3, m.Anneal, m.Reroute, m.RerouteRounds)
		if !m.Applied {
			fmt.Fprint(w, ", not kept: the solve on it ended higher")
		}
	}
	fmt.Fprintln(w)
	if len(r.DualLevel) > 0 {
		fmt.Fprintf(w, "dual-level %d rounds (initial solve, then one per mapped layout):", len(r.DualLevel))
		for _, it := range r.DualLevel {
			fmt.Fprintf(w, " %.6g (%s)", it.Objective, it.Layout)
			if it.Declined {
				fmt.Fprint(w, " declined: above the solve before, its mapping not kept")
			}
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "solver     HiGHS %s: objective %.6g (%s), bound %.6g, gap %.3g%%; %d rows × %d cols, %d nonzeros; formulate %.2f s, solve %.2f s\n",
		r.Status, r.Objective, r.ObjectiveKind, r.DualBound, 100*r.MIPGap, r.ModelRows, r.ModelCols, r.ModelNonzeros,
		r.FormulateSeconds, r.SolveSeconds)
	if err == nil && r.MemoryStatus != "" {
		_, err = fmt.Fprintf(w, "memory     least peak memory of the plans within %.3g%% of the objective (second solve: %s)\n", 100*r.MemoryTolerance, r.MemoryStatus)
	}
	return err
}
