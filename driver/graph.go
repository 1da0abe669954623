// Package driver runs tempc's pipeline stages for each subcommand: it is
// the one library call behind every `tempc` command, turning options into
// stage calls and stage results into the requested output format. It sits
// above every stage and holds no stage logic of its own.
package driver

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/tempc/tempc/frontend"
)

// GraphOptions selects a model and how Graph prints its training graph.
type GraphOptions struct {
	// Model and the sizes are as for frontend.Load.
	Model      string
	Batch, Seq int64
	// Format is "text" (default: figures for a person), "json" (the same
	// figures as ir.Summary's JSON), "dot" (Graphviz), "ir" (canonical text
	// form) or "graph-json" (tempc's JSON graph format, readable by frontend.Load).
	Format string
}

// GraphFormats lists the formats Graph accepts.
var GraphFormats = []string{"text", "json", "dot", "ir", "graph-json"}

// Graph loads a model's training graph and writes it to w in o.Format.
func Graph(w io.Writer, o GraphOptions) error {
	format := o.Format
	if format == "" {
		format = "text"
	}
	known := false
	for _, f := range GraphFormats {
		known = known || f == format
	}
	if !known {
		return fmt.Errorf("driver: unknown format %q (want one of %v)", format, GraphFormats)
	}
	g, err := frontend.Load(o.Model, frontend.Options{Batch: o.Batch, Seq: o.Seq})
	if err != nil {
		return err
	}
	switch format {
	case "json":
		s := g.Summary()
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(&s)
	case "dot":
		b, err := g.DOT()
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case "ir":
		return g.WriteText(w)
	case "graph-json":
		return frontend.WriteGraphJSON(w, g)
	default:
		s := g.Summary()
		return s.WriteText(w)
	}
}
