package main

import (
	"io"

	"tempc/driver"
)

func runWafer(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wafer", stderr)
	var o driver.WaferOptions
	fs.StringVar(&o.Wafer, "wafer", "temp48", "preset name (temp48, temp32, mesh4x4) or wafer JSON file")
	fs.BoolVar(&o.JSON, "json", false, "print the wafer file format")
	if err := parse(fs, args); err != nil {
		return err
	}
	return driver.Wafer(stdout, o)
}
