package frontend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/internal/jsonpos"
	"github.com/tempc/tempc/ir"
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
	// Pipes accepts a pipe or FIFO as the model file, read up to the size
	// limit: for a path the user typed. A path read out of another file,
	// such as a plan's model source, leaves it false, so that it must
	// name a regular file (a FIFO there would block forever). Devices and
	// directories other than a Hugging Face model folder are always
	// refused.
	Pipes bool
}

// Validate rejects negative sizes, and sizes whose tokens per step
// (batch·seq) exceed tempc's limit of 2^30; zero means the default.
func (o Options) Validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"batch", o.Batch}, {"sequence length", o.Seq}} {
		if f.v < 0 {
			return fmt.Errorf("frontend: %s %d must be positive", f.name, f.v)
		}
		if f.v > maxTokens {
			return fmt.Errorf("frontend: %s %d exceeds tempc's limit of %d tokens per step", f.name, f.v, int64(maxTokens))
		}
	}
	if o.Batch*o.Seq > maxTokens { // each is at most 2^30: no overflow
		return fmt.Errorf("frontend: batch %d × sequence length %d exceeds tempc's limit of %d tokens per step",
			o.Batch, o.Seq, int64(maxTokens))
	}
	return nil
}

// Load is LoadContext without a deadline.
func Load(model string, opt Options) (*ir.Graph, error) {
	return LoadContext(context.Background(), model, opt)
}

// LoadContext returns the verified training graph (forward, backward,
// optimizer) of model, which is one of:
//   - a preset name (PresetNames);
//   - a Hugging Face config.json file, or a folder holding one;
//   - an ONNX model, recognised by the .onnx extension (any case) alone:
//     ReadONNX reads its architecture from the graph, which Build turns
//     into tempc's graph, the same as for the equivalent config.json. When
//     the graph does not fix the context length (rotary embeddings computed
//     from position ids), Options.Seq gives it and must be set;
//   - a tempc JSON graph file (recognised by its schema_version field). A
//     graph of forward ops only is completed by Train; a graph that already
//     has backward ops is taken as it is. Batch and sequence are fixed by the
//     file, so Options must leave them zero.
//
// Any other file is read as JSON: a binary file without the .onnx
// extension is reported as malformed JSON, not guessed at. Files are read
// up to maxFileBytes; a device, or a pipe unless Options.Pipes, is refused
// before reading.
//
// Loading stops when ctx is done, with an error wrapping ctx.Err(): the
// context is checked between reading, recognising, building and
// differentiating, and every few thousand nodes or ops within them.
func LoadContext(ctx context.Context, model string, opt Options) (*ir.Graph, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if a, ok := Preset(model); ok {
		return BuildStageContext(ctx, &a, opt, 0, int(a.Layers))
	}
	if err := stopped(ctx, model); err != nil {
		return nil, err
	}
	path, data, err := readModelFile(model, opt.Pipes)
	if err != nil {
		return nil, err
	}
	if err := stopped(ctx, path); err != nil {
		return nil, err
	}
	if isONNXFile(path) {
		return loadONNX(ctx, path, data, opt)
	}
	if isGraphJSON(data) {
		g, err := readGraphJSON(ctx, path, data)
		if err != nil {
			return nil, err
		}
		// A graph file fixes its batch and sequence; asking for the same
		// ones (as a plan naming the file does) is fine.
		if opt.Batch != 0 && opt.Batch != g.Batch || opt.Seq != 0 && opt.Seq != g.Seq {
			return nil, fmt.Errorf("frontend: %s: batch and sequence are fixed by a graph file (%d × %d); do not set others", path, g.Batch, g.Seq)
		}
		if g, err = trainIfForward(ctx, g); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			return nil, &fileError{path, err}
		}
		return g, nil
	}
	a, err := ReadHFConfig(path, data)
	if err != nil {
		return nil, err
	}
	return BuildStageContext(ctx, a, opt, 0, int(a.Layers))
}

// stopped returns nil while ctx is live, else an error naming what was
// being loaded and wrapping ctx.Err(), so that errors.Is tells a deadline
// from a cancellation.
func stopped(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("frontend: loading %s stopped: %w", what, err)
	}
	return nil
}

// LoadArch is LoadArchContext without a deadline, refusing pipes as Load
// does with Options' zero value.
func LoadArch(model string, seq int64) (*Arch, error) {
	return LoadArchContext(context.Background(), model, seq, false)
}

// LoadArchContext returns the architecture of model — a preset, a Hugging
// Face config.json (or its folder) or an ONNX file; seq, when the ONNX
// graph does not fix the context length, is taken as it. A tempc JSON
// graph has no architecture (it is a graph already) and is refused. pipes
// is Options.Pipes: whether model may name a pipe or FIFO. Reading stops
// when ctx is done, with an error wrapping ctx.Err().
func LoadArchContext(ctx context.Context, model string, seq int64, pipes bool) (*Arch, error) {
	if a, ok := Preset(model); ok {
		return &a, nil
	}
	if err := stopped(ctx, model); err != nil {
		return nil, err
	}
	path, data, err := readModelFile(model, pipes)
	if err != nil {
		return nil, err
	}
	switch {
	case isONNXFile(path):
		a, err := readONNX(ctx, path, data)
		if err == nil && a.MaxPositions == 0 {
			if seq == 0 {
				return nil, fmt.Errorf("frontend: %s: the graph does not fix the context length; give a sequence length", path)
			}
			a.MaxPositions = seq
		}
		return a, err
	case isGraphJSON(data):
		return nil, fmt.Errorf("frontend: %s is a tempc graph, not an architecture: it cannot be cut into pipeline stages", path)
	}
	return ReadHFConfig(path, data)
}

// isONNXFile tells an ONNX model by its file extension.
func isONNXFile(path string) bool { return strings.EqualFold(filepath.Ext(path), ".onnx") }

// loadONNX builds the training graph of the ONNX model at path.
func loadONNX(ctx context.Context, path string, data []byte, opt Options) (*ir.Graph, error) {
	a, err := readONNX(ctx, path, data)
	if err != nil {
		return nil, err
	}
	if a.MaxPositions == 0 {
		if opt.Seq == 0 {
			return nil, fmt.Errorf("frontend: %s: the graph does not fix the context length (rotary embeddings computed from position ids); give a sequence length, or load the config.json exported beside it", path)
		}
		a.MaxPositions = opt.Seq
	}
	return BuildStageContext(ctx, a, opt, 0, int(a.Layers))
}

// maxFileBytes bounds the files Load reads (1 GiB; a generated graph of
// maxLayers blocks takes a few hundred MB), so that a weights file given
// by mistake is not read into memory. An ONNX model beyond it must keep
// its weights in external data files (ONNX requires that beyond 2 GiB).
const maxFileBytes = 1 << 30

// readModelFile reads the config.json, ONNX or graph file that model
// names: a file, or a folder holding config.json. It refuses devices,
// directories and (unless pipes) pipes before reading a byte, and files
// beyond maxFileBytes.
func readModelFile(model string, pipes bool) (string, []byte, error) {
	path := model
	fi, err := os.Stat(path)
	if err == nil && fi.IsDir() {
		path = filepath.Join(path, "config.json")
		_, err = os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil, fmt.Errorf("frontend: %s: folder has no config.json (want a Hugging Face model folder)", model)
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(model, `/\.`):
		return "", nil, fmt.Errorf("frontend: unknown model %q: not a preset (%s) nor a file",
			model, strings.Join(PresetNames(), ", "))
	case err != nil:
		return "", nil, fmt.Errorf("frontend: %w", err)
	}
	kind := fileio.RegularOnly
	if pipes {
		kind = fileio.AllowPipes
	}
	data, err := fileio.Read(path, maxFileBytes, kind, "model file")
	switch {
	case errors.Is(err, fileio.ErrTooLarge) && isONNXFile(path):
		return "", nil, fmt.Errorf("frontend: %w; save the ONNX model's weights as external data, which tempc does not read", err)
	case err != nil:
		return "", nil, fmt.Errorf("frontend: %w", err)
	}
	return path, data, nil
}

// fileError names the file whose graph a later step (Train, checkSize)
// rejected.
type fileError struct {
	file string
	err  error
}

func (e *fileError) Error() string {
	return "frontend: " + e.file + ": " + strings.TrimPrefix(e.err.Error(), "frontend: ")
}

func (e *fileError) Unwrap() error { return e.err }

// utf8BOM is the byte-order mark some editors put at the start of a file.
var utf8BOM = []byte("\xef\xbb\xbf")

// parse reads data as one JSON object with positions, once
// checkJSONShape found it within bounds. A leading byte-order
// mark is read as three spaces, which keeps byte columns. An empty or
// binary file is named as such rather than by the JSON decoder's complaint.
func parse(file string, data []byte) (*jsonpos.Object, error) {
	if perr := checkJSONShape(file, data); perr != nil {
		return nil, fmt.Errorf("frontend: %w", jsonpos.ErrorList{perr})
	}
	if bytes.HasPrefix(data, utf8BOM) {
		data = append([]byte("   "), data[len(utf8BOM):]...)
	}
	o, perr := jsonpos.Parse(file, data)
	if perr == nil {
		return o, nil
	}
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		perr = &jsonpos.Error{Pos: jsonpos.Pos{File: file}, Msg: "empty file, want a JSON object"}
	case looksBinary(data):
		perr.Msg += "; the file is binary, not JSON (tempc reads a Hugging Face config.json, a tempc graph JSON or an ONNX model named *.onnx, not safetensors or other weight files)"
	}
	return nil, fmt.Errorf("frontend: %w", jsonpos.ErrorList{perr})
}

// looksBinary tells whether the start of data holds bytes no JSON text
// has: control characters other than whitespace, or invalid UTF-8.
func looksBinary(data []byte) bool {
	head := data[:min(len(data), 512)]
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return true
		}
	}
	for len(head) > 0 {
		r, n := utf8.DecodeRune(head)
		if r == utf8.RuneError && n == 1 && len(head) >= utf8.UTFMax {
			return true // invalid, not merely a rune cut at 512 bytes
		}
		head = head[n:]
	}
	return false
}

// isGraphJSON tells a tempc graph from a model config by its top-level
// schema_version key (even null, which the graph reader then reports);
// anything unparsable is left to the config reader, which reports the
// error with its position.
func isGraphJSON(data []byte) bool {
	o, err := parse("", data)
	if err != nil {
		return false
	}
	_, ok := o.Fields["schema_version"]
	return ok
}

// Build returns the verified training graph of a for one step of
// opt.Batch sequences of opt.Seq tokens (defaults as in Options).
func Build(a *Arch, opt Options) (*ir.Graph, error) {
	return BuildStage(a, opt, 0, int(a.Layers))
}

// BuildStage is BuildStageContext without a deadline.
func BuildStage(a *Arch, opt Options, first, last int) (*ir.Graph, error) {
	return BuildStageContext(context.Background(), a, opt, first, last)
}

// BuildStageContext returns the verified training graph of one pipeline
// stage of a, blocks first to last−1 (ForwardStage), at opt's batch and
// sequence: its forward pass, the backward pass from its loss or from its
// outputs' gradients, and Adam on its own weights. It stops when ctx is
// done (checked every block and every few thousand ops), with an error
// wrapping ctx.Err().
func BuildStageContext(ctx context.Context, a *Arch, opt Options, first, last int) (*ir.Graph, error) {
	s := Shape{Batch: opt.Batch, Seq: opt.Seq}
	if s.Batch == 0 {
		s.Batch = DefaultBatch
	}
	if s.Seq == 0 {
		s.Seq = a.MaxPositions
	}
	g, err := forwardStage(ctx, a, s, first, last)
	if err != nil && ctx.Err() == nil && opt.Seq == 0 && a.Validate() == nil && s.validate(a) != nil {
		return nil, fmt.Errorf("%w (the sequence length defaults to the context length of %s)", err, a.Name)
	}
	if err != nil {
		return nil, err
	}
	return trainIfForward(ctx, g)
}

func trainIfForward(ctx context.Context, g *ir.Graph) (*ir.Graph, error) {
	forwardOnly := true
	for i := range g.Ops {
		forwardOnly = forwardOnly && g.Ops[i].Phase == ir.Forward
	}
	if forwardOnly {
		if err := train(ctx, g); err != nil {
			return nil, err
		}
	}
	if err := checkSize(g); err != nil {
		return nil, err
	}
	if err := stopped(ctx, g.Name); err != nil {
		return nil, err
	}
	if err := g.Verify(); err != nil {
		return nil, fmt.Errorf("frontend: generated graph of %s is invalid (a bug): %w", g.Name, err)
	}
	return g, nil
}

// ErrorList is the error type of the readers: every problem of one file,
// each with its position and field, sorted by position.
type ErrorList = jsonpos.ErrorList
