package frontend

import (
	"encoding/json"
	"fmt"
	"io"
)

// ReportOptions selects a model and how Report prints its graph.
type ReportOptions struct {
	// Model and the sizes are as for Load.
	Model      string
	Batch, Seq int64
	// Format is "text" (default: figures for a person), "json" (the same
	// figures as ir.Summary's JSON), "dot" (Graphviz), "ir" (canonical text
	// form) or "graph-json" (tempc's JSON graph format, readable by Load).
	Format string
}

// ReportFormats lists the formats Report accepts.
var ReportFormats = []string{"text", "json", "dot", "ir", "graph-json"}

// Report loads a model's training graph and writes it to w in o.Format.
func Report(w io.Writer, o ReportOptions) error {
	format := o.Format
	if format == "" {
		format = "text"
	}
	known := false
	for _, f := range ReportFormats {
		known = known || f == format
	}
	if !known {
		return fmt.Errorf("frontend: unknown format %q (want one of %v)", format, ReportFormats)
	}
	g, err := Load(o.Model, Options{Batch: o.Batch, Seq: o.Seq})
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
		return WriteGraphJSON(w, g)
	default:
		s := g.Summary()
		return s.WriteText(w)
	}
}
