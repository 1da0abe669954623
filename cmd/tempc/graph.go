package main

import (
	"context"
	"io"

	"github.com/tempc/tempc/driver"
)

func runGraph(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("graph", stderr)
	var o driver.GraphOptions
	fs.StringVar(&o.Model, "model", "", "preset name, Hugging Face config.json (or its folder), tempc graph JSON, or ONNX file (.onnx)")
	fs.Int64Var(&o.Batch, "batch", 0, "global batch in sequences (default 128)")
	fs.Int64Var(&o.Seq, "seq", 0, "sequence length (default: the model's context length)")
	fs.StringVar(&o.Format, "format", "text", "output: text, json (figures), dot, ir (canonical text), graph-json (tempc graph file)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Model == "" {
		return usageError{"--model is required"}
	}
	if err := positive(fs, "batch", "seq"); err != nil {
		return err
	}
	if err := nonEmpty(fs, "format"); err != nil {
		return err
	}
	if err := oneOf("format", o.Format, driver.GraphFormats); err != nil {
		return err
	}
	return driver.Graph(stdout, o)
}
