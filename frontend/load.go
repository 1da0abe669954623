package frontend

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"tempc/internal/jsonpos"
	"tempc/ir"
)

// DefaultBatch is the global batch (sequences per step) used when Options
// leaves it zero: the batch of TEMP's evaluation (REFERENCE.md).
const DefaultBatch = 128

// Options controls Load. The zero value means defaults.
type Options struct {
	// Batch is the global batch in sequences (0: DefaultBatch).
	Batch int64
	// Seq is the sequence length (0: the model's context length,
	// MaxPositions).
	Seq int64
}

// Validate rejects negative sizes.
func (o Options) Validate() error {
	if o.Batch < 0 {
		return fmt.Errorf("frontend: batch must be positive, got %d", o.Batch)
	}
	if o.Seq < 0 {
		return fmt.Errorf("frontend: sequence length must be positive, got %d", o.Seq)
	}
	return nil
}

// Load returns the verified training graph (forward, backward, optimizer)
// of model, which is one of:
//   - a preset name (PresetNames);
//   - a Hugging Face config.json file, or a folder holding one;
//   - a tempc JSON graph file (recognised by its schema_version field). A
//     graph of forward ops only is completed by Train; a graph that already
//     has backward ops is taken as it is. Batch and sequence are fixed by the
//     file, so Options must leave them zero.
func Load(model string, opt Options) (*ir.Graph, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if a, ok := Preset(model); ok {
		return Build(&a, opt)
	}
	path := model
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "config.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(model, `/\.`) {
			return nil, fmt.Errorf("frontend: unknown model %q: not a preset (%s) nor a file",
				model, strings.Join(PresetNames(), ", "))
		}
		return nil, fmt.Errorf("frontend: %w", err)
	}
	if isGraphJSON(data) {
		if opt.Batch != 0 || opt.Seq != 0 {
			return nil, fmt.Errorf("frontend: %s: batch and sequence are fixed by a graph file; do not set them", path)
		}
		g, err := ReadGraphJSON(path, data)
		if err != nil {
			return nil, err
		}
		return trainIfForward(g)
	}
	a, err := ReadHFConfig(path, data)
	if err != nil {
		return nil, err
	}
	return Build(a, opt)
}

// isGraphJSON tells a tempc graph from a model config by its top-level
// schema_version key; anything unparsable is left to the config reader,
// which reports the error with its position.
func isGraphJSON(data []byte) bool {
	o, err := jsonpos.Parse("", data)
	return err == nil && o.Has("schema_version")
}

// Build returns the verified training graph of a for one step of
// opt.Batch sequences of opt.Seq tokens (defaults as in Options).
func Build(a *Arch, opt Options) (*ir.Graph, error) {
	s := Shape(opt)
	if s.Batch == 0 {
		s.Batch = DefaultBatch
	}
	if s.Seq == 0 {
		s.Seq = a.MaxPositions
	}
	g, err := Forward(a, s)
	if err != nil {
		return nil, err
	}
	return trainIfForward(g)
}

func trainIfForward(g *ir.Graph) (*ir.Graph, error) {
	forwardOnly := true
	for i := range g.Ops {
		forwardOnly = forwardOnly && g.Ops[i].Phase == ir.Forward
	}
	if forwardOnly {
		if err := Train(g); err != nil {
			return nil, err
		}
	}
	if err := g.Verify(); err != nil {
		return nil, fmt.Errorf("frontend: generated graph of %s is invalid (a bug): %w", g.Name, err)
	}
	return g, nil
}

// ErrorList is the error type of the readers: every problem of one file,
// each with its position and field, sorted by position.
type ErrorList = jsonpos.ErrorList
