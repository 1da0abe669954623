package driver

import (
	"fmt"
	"io"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/wafer"
)

// writeSimulateText prints the comparison for a person: simulated against
// predicted, the blocks, the busiest links, and a die grid of idle time.
func writeSimulateText(w io.Writer, r *tempc.SimulateReport, s *wafer.Spec) error {
	fmt.Fprintf(w, "%s on %s\n", r.Model, r.Wafer)
	if r.RelErr != nil {
		fmt.Fprintf(w, "step        simulated %.4f s, predicted %.4f s (%+.2f%%)\n", r.Simulated, r.Predicted, 100**r.RelErr)
	} else {
		fmt.Fprintf(w, "step        simulated %.4f s (the plan carries no prediction)\n", r.Simulated)
	}
	fmt.Fprintf(w, "exposed     %.4f s of waiting for data on the busiest compute engine\n", r.ExposedComm)
	e := r.EnergyBreakdown
	fmt.Fprintf(w, "energy      simulated %.0f J per step", r.EnergyJoules)
	if r.EnergyRelErr != nil {
		fmt.Fprintf(w, ", predicted %.0f J (%+.2f%%)", r.PredictedEnergy, 100**r.EnergyRelErr)
	}
	fmt.Fprintf(w, "; %.1f kW on average, %.1f tokens/J: compute %.0f, HBM %.0f, SRAM %.0f, D2D %.0f, static %.0f J\n",
		r.AveragePower/1e3, r.TokensPerJoule, e.Compute, e.HBM, e.SRAM, e.D2D, e.Static)
	fmt.Fprintf(w, "memory      simulated peak %s per die (die %s)", fileio.Bytes(r.SimulatedMemory), r.PeakMemoryDie)
	if r.MemoryRelErr != nil {
		fmt.Fprintf(w, ", predicted %s (%+.2f%%)", fileio.Bytes(r.PredictedMemory), 100**r.MemoryRelErr)
	}
	verdict := "fits"
	if !r.Fits {
		verdict = "DOES NOT FIT"
	}
	fmt.Fprintf(w, "; capacity %s: %s\n", fileio.Bytes(r.CapacityBytes), verdict)
	fmt.Fprintf(w, "method      %s\n", r.Method)
	fmt.Fprintf(w, "simulated   %d replays, %d events in %.1f s\n", len(r.Replays), r.Events, r.WallSeconds)
	if pl := r.Pipeline; pl != nil {
		fmt.Fprintf(w, "pipeline    %s, %d micro-batches: bubble %.1f%% simulated, %.1f%% predicted; %s over the links between wafers\n",
			pl.Schedule, pl.MicroBatches, 100*pl.Bubble, 100*pl.PredictedBubble, fileio.Bytes(pl.InterWaferBytes))
		for _, st := range pl.Stages {
			fmt.Fprintf(w, "  stage %-3d wafer %d, blocks %d–%d, %s: in passes %.4g s (bubble %.1f%%), dies busy %.4g s on average, peak %s per die\n",
				st.Stage, st.Wafer, st.FirstBlock, st.LastBlock, st.Layout, st.PassSeconds, 100*st.Bubble, st.BusySeconds, fileio.Bytes(st.PeakMemory))
		}
		busiest := 0.0
		for _, l := range pl.InterWafer {
			busiest = max(busiest, l.Utilization)
		}
		fmt.Fprintf(w, "  %d links between wafers, the busiest %.2f%% busy\n", len(pl.InterWafer), 100*busiest)
	}
	fmt.Fprintln(w, "\nblocks (mean span of a run, first task's start to last task's end; runs overlap):")
	for _, b := range r.Blocks {
		fmt.Fprintf(w, "  %-24s ×%-6d %7d tasks  %.6g s\n", b.Name, b.Runs, b.Tasks, b.Seconds)
	}
	fmt.Fprintln(w, "\nbusiest links (bytes over the step, utilisation):")
	for _, l := range r.TopLinks {
		fmt.Fprintf(w, "  %-14s %10.3f GB  %5.1f%%\n", l.Link, l.Bytes/1e9, 100*l.Utilization)
	}
	idle := map[string]float64{}
	for _, d := range r.DieIdle {
		idle[d.Die] = d.IdleSeconds
	}
	fmt.Fprintln(w, "\ncompute idle per die (% of the step; - unused):")
	for row := 0; row < s.Rows; row++ {
		fmt.Fprint(w, " ")
		for col := 0; col < s.Cols; col++ {
			c := wafer.Coord{R: row, C: col}
			if v, ok := idle[c.String()]; ok && r.Simulated > 0 {
				fmt.Fprintf(w, " %5.1f", 100*v/r.Simulated)
			} else {
				fmt.Fprint(w, "     -")
			}
		}
		fmt.Fprintln(w)
	}
	return nil
}
