package driver

import (
	"context"
	"fmt"
	"io"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/wafer"
)

// WaferOptions selects a wafer and how Wafer prints it.
type WaferOptions struct {
	// Wafer is a preset name or a wafer file.
	Wafer string
	// JSON prints the wafer file format instead of a summary.
	JSON bool
	// DieRate and LinkRate break round(rate × count) of the wafer's dies
	// and links at random, drawn with Seed (as `tempc faults` draws them),
	// on top of its own faults.
	DieRate, LinkRate float64
	Seed              uint64
	// SVG, when set, receives a picture of the wafer: its dies and links,
	// the dead ones marked.
	SVG string
	// Wafers, when above 1, makes it a cluster of that many wafers joined
	// as TEMP's multi-wafer study joins them (wafer.DefaultCluster).
	Wafers int
}

// Wafer loads a wafer and writes it to w: a summary with a die map (. a
// healthy die, X a dead one), or the wafer file format.
func Wafer(ctx context.Context, w io.Writer, o WaferOptions) error {
	s, err := wafer.Load(o.Wafer)
	if err != nil {
		return err
	}
	if !(o.DieRate >= 0 && o.DieRate <= 1 && o.LinkRate >= 0 && o.LinkRate <= 1) { // NaN too
		return fmt.Errorf("wafer: fault rates %g (dies) and %g (links) must lie in [0, 1]", o.DieRate, o.LinkRate)
	}
	if o.Wafers > 1 {
		if s.Cluster != nil {
			return fmt.Errorf("wafer: %s already describes a cluster of %d wafers", s.Name, s.Cluster.Wafers)
		}
		s.Cluster, s.Name = wafer.DefaultCluster(s, o.Wafers), fmt.Sprintf("%s-x%d", s.Name, o.Wafers)
		if err := s.Validate(); err != nil {
			return err
		}
	}
	if o.DieRate > 0 || o.LinkRate > 0 {
		if s, err = wafer.RandomFaults(s, o.DieRate, o.LinkRate, o.Seed); err != nil {
			return err
		}
	}
	if o.SVG != "" {
		if err := writeFile(ctx, o.SVG, waferPicture(s).writeSVG, o.Wafer); err != nil {
			return err
		}
	}
	if o.JSON {
		return wafer.WriteJSON(w, s)
	}
	each := ""
	if s.Cluster != nil {
		each = " per wafer"
	}
	fmt.Fprintf(w, "wafer     %s: %d×%d mesh, %d healthy dies, %d dead links%s\n", s.Name, s.Rows, s.Cols, s.NumHealthy(), len(s.DeadLinks), each)
	fmt.Fprintf(w, "die       %.0f TFLOPS bf16, %.0f GB HBM at %.2f TB/s, %.0f MB SRAM, %d DMA engines\n",
		s.Die.PeakFLOPS/1e12, s.Die.HBMBytes/1e9, s.Die.HBMBandwidth/1e12, s.Die.SRAMBytes/1e6, s.Die.DMAEngines)
	fmt.Fprintf(w, "link      %.2f TB/s per direction, %.0f ns per hop, %.2f pJ/bit\n",
		s.Link.Bandwidth/1e12, s.Link.Latency*1e9, s.Link.JoulesPerBit*1e12)
	if c := s.Cluster; c != nil {
		fmt.Fprintf(w, "cluster   %d wafers in a row, %.2f TB/s between neighbours per direction (%d links of %.2f TB/s), %.0f ns and %.2f pJ/bit per crossing\n",
			c.Wafers, c.EdgeBandwidth/1e12, s.Rows, c.LinkBandwidth(s)/1e12, c.Latency*1e9, c.JoulesPerBit*1e12)
	}
	fmt.Fprintf(w, "energy    %.2f TFLOPS/W, HBM %.2f pJ/bit, SRAM %.2f pJ/bit\n", s.FLOPSPerWatt/1e12, s.HBMJoulesPerBit*1e12, s.SRAMJoulesPerBit*1e12)
	k := s.Kernel
	fmt.Fprintf(w, "kernels   GEMM %.0f%% and attention %.0f%% of peak, %d-wide matrix engine; GEMM tiles of side %.0f in %.0f%% of SRAM, %.0f MB for streams\n",
		100*k.GEMMEfficiency, 100*k.AttentionEfficiency, k.ArrayTile, s.GEMMTile(), 100*k.GEMMSRAMFraction, s.StreamSRAM()/1e6)
	fmt.Fprintf(w, "static    %.0f W per die, %.0f W per link direction: %.0f W for the wafer\n", s.Die.StaticWatts, s.Link.StaticWatts, s.StaticWatts())
	for r := 0; r < s.Rows; r++ {
		row := make([]byte, 0, 2*s.Cols)
		for c := 0; c < s.Cols; c++ {
			ch := byte('.')
			if !s.Alive(s.ID(wafer.Coord{R: r, C: c})) {
				ch = 'X'
			}
			row = append(row, ch, ' ')
		}
		fmt.Fprintf(w, "          %s\n", row)
	}
	return nil
}

// waferPicture is the map of s alone: live and dead dies and links.
func waferPicture(s *wafer.Spec) *waferMap {
	dies := make([]tempc.DieMap, s.NumDies())
	for i := range dies {
		c := s.Coord(wafer.DieID(i))
		dies[i] = tempc.DieMap{Die: [2]int{c.R, c.C}, Alive: s.Alive(wafer.DieID(i)), Used: true, Group: -1}
	}
	title := []string{fmt.Sprintf("%s: %d×%d mesh, %d healthy dies, %d dead links", s.Name, s.Rows, s.Cols, s.NumHealthy(), len(s.DeadLinks))}
	return &waferMap{spec: s, title: title, dies: dies, links: tempc.MeshLinks(s, func(wafer.LinkID) (float64, float64) { return 0, 0 })}
}
