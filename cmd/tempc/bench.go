package main

import (
	"context"
	"io"

	"github.com/tempc/tempc/driver"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	var pf planFlags
	pf.register(fs)
	var o driver.BenchOptions
	fs.BoolVar(&o.JSON, "json", false, "print the comparison as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := pf.finish(fs, stderr); err != nil {
		return err
	}
	o.Options = pf.o
	return driver.Bench(ctx, stdout, o)
}
