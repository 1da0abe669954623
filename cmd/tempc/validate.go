package main

import (
	"context"
	"io"

	"github.com/tempc/tempc/driver"
	"github.com/tempc/tempc/validate"
)

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", stderr)
	var o driver.ValidateOptions
	fs.StringVar(&o.Suite, "suite", "default", "case suite: default or quick")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the random cases")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	fs.Int64Var(&o.Sim.PacketBytes, "packet", 0, "simulator packet size in bytes (default 65536)")
	fs.IntVar(&o.Sim.BufferPackets, "buffer", 0, "simulator buffer per router queue in packets (default: the credit round trip)")
	progress := fs.Bool("progress", false, "report each case on stderr as it finishes")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, "packet", "buffer"); err != nil {
		return err
	}
	if err := nonEmpty(fs, "suite"); err != nil {
		return err
	}
	if err := oneOf("suite", o.Suite, validate.Suites); err != nil {
		return err
	}
	if *progress {
		o.Progress = stderr
	}
	return driver.Validate(stdout, o)
}
