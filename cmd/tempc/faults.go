package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tempc/tempc/driver"
)

func runFaults(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("faults", stderr)
	var pf planFlags
	pf.register(fs)
	var o driver.FaultsOptions
	dies := fs.String("die-rate", "0,0.05,0.1,0.25", "fractions of dies to break")
	links := fs.String("link-rate", "0,0.1,0.35", "fractions of links to break")
	fs.IntVar(&o.Seeds, "seeds", 5, "fault maps per point")
	fs.BoolVar(&o.JSON, "json", false, "print the sweep as JSON")
	fs.StringVar(&o.SVGDir, "svg", "", "draw every fault map of the sweep into this directory (NAME.svg)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := nonEmpty(fs, "svg"); err != nil {
		return err
	}
	if err := pf.finish(fs, stderr); err != nil {
		return err
	}
	if o.Seeds < 1 {
		return usageError{fmt.Sprintf("--seeds %d: want at least one fault map per point", o.Seeds)}
	}
	var err error
	if o.DieRates, err = rates("--die-rate", *dies); err != nil {
		return err
	}
	if o.LinkRates, err = rates("--link-rate", *links); err != nil {
		return err
	}
	o.Options = pf.o
	return driver.Faults(ctx, stdout, o)
}

func rates(flag, list string) ([]float64, error) {
	var out []float64
	for _, s := range strings.Split(list, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || !(v >= 0 && v < 1) {
			return nil, usageError{fmt.Sprintf("%s: %q is not a fraction in [0, 1)", flag, s)}
		}
		out = append(out, v)
	}
	return out, nil
}
