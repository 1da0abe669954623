package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tempc/tempc/driver"
	"github.com/tempc/tempc/wafer"
)

func runWafer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wafer", stderr)
	var o driver.WaferOptions
	fs.StringVar(&o.Wafer, "wafer", "temp48", "preset name (temp48, temp32, mesh4x4) or wafer JSON file")
	fs.BoolVar(&o.JSON, "json", false, "print the wafer file format")
	fs.Float64Var(&o.DieRate, "die-rate", 0, "break this fraction of the dies at random (with --seed)")
	fs.Float64Var(&o.LinkRate, "link-rate", 0, "break this fraction of the links at random (with --seed)")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the random fault map")
	fs.StringVar(&o.SVG, "svg", "", "draw the wafer (dead dies and links marked) to this SVG file")
	fs.IntVar(&o.Wafers, "wafers", 1, fmt.Sprintf("a cluster of this many wafers in a row (2 to %d; 9 TB/s between neighbours), for the wafer file --json writes", wafer.MaxWafers))
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := nonEmpty(fs, "wafer", "svg"); err != nil {
		return err
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"die-rate", o.DieRate}, {"link-rate", o.LinkRate}} {
		if !(r.v >= 0 && r.v <= 1) {
			return usageError{fmt.Sprintf("--%s %g: want a fraction in [0, 1]", r.name, r.v)}
		}
	}
	if o.Wafers < 1 || o.Wafers > wafer.MaxWafers {
		return usageError{fmt.Sprintf("--wafers %d: want 1 to %d", o.Wafers, wafer.MaxWafers)}
	}
	return driver.Wafer(ctx, stdout, o)
}
