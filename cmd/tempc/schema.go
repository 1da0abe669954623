package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"slices"
	"strings"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// schemas are the JSON Schemas of tempc's file formats, by name.
var schemas = map[string][]byte{"plan": plan.Schema, "wafer": wafer.Schema, "graph": frontend.Schema}

// runSchema prints the JSON Schema of one of tempc's file formats.
func runSchema(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("schema", stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	slices.Sort(names)
	if fs.NArg() != 1 || schemas[fs.Arg(0)] == nil {
		return usageError{"want one format: " + strings.Join(names, ", ")}
	}
	_, err := stdout.Write(schemas[fs.Arg(0)])
	return err
}
