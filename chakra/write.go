package chakra

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/tempc/tempc/chakra/etpb"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// Options tunes Write. The zero value means the defaults.
type Options struct {
	// Name is the workload name: the traces are dir/Name.<rank>.et, and
	// ASTRA-sim is given dir/Name as its workload. Empty means the
	// plan's model name with every character but letters, digits, '-',
	// '_' and '.' replaced by '_' ("step" if the plan names no model).
	Name string
	// OnStaging, when set, is told the staging directory's path as soon
	// as Stage creates it, so that a caller that may exit without
	// returning (on a second interrupt) can remove it.
	OnStaging func(path string)
}

// Validate reports whether the options can be used: a name, if given,
// must be a plain file name.
func (o Options) Validate() error {
	if o.Name == "" {
		return nil
	}
	if o.Name == "." || o.Name == ".." || strings.ContainsAny(o.Name, `/\`) || strings.ContainsRune(o.Name, 0) {
		return fmt.Errorf("chakra: workload name %q is not a plain file name", o.Name)
	}
	return nil
}

// name returns the workload name for plan p.
func (o Options) name(p *plan.Plan) string {
	if o.Name != "" {
		return o.Name
	}
	name := []byte(p.Model)
	for i, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			name[i] = '_'
		}
	}
	if s := string(name); strings.Trim(s, ".") != "" {
		return s
	}
	return "step"
}

// TraceFile returns the name of the trace of rank in a workload called
// name, as ASTRA-sim's workload layer looks for it: name.rank.et.
func TraceFile(name string, rank int) string { return fmt.Sprintf("%s.%d.et", name, rank) }

// Write exports the training step of plan p, compiled for wafer s, as
// Chakra execution traces that ASTRA-sim can replay, into directory dir:
// one trace per die of the mesh, TraceFile(name, rank) with rank the
// die's ID (r·Cols + c; dead and unused dies get a trace with no nodes,
// since ASTRA-sim wants one per NPU), the network (network.yml), system
// (system.json) and remote-memory (memory.json) configurations to replay
// them with, manifest.json (the Manifest it also returns) and a README.
// s nil means the wafer the plan embeds.
//
// The export replaces dir whole, atomically (Stage, then Publish): dir
// must be missing, empty or an earlier export (CheckDir), and a failed
// or cancelled export leaves it as it was.
//
// The step is replayed run by run and written as it goes: memory holds
// one run's tasks and what later runs wait for, never the expanded step.
// How tasks map to nodes, and what is approximated, is the package
// documentation's.
func Write(ctx context.Context, dir string, p *plan.Plan, s *wafer.Spec, opt Options) (*Manifest, error) {
	st, err := Stage(ctx, dir, p, s, opt)
	if err != nil {
		return nil, err
	}
	if err := st.Publish(); err != nil {
		st.Discard()
		return nil, err
	}
	return st.Manifest, nil
}

// Stage writes the export Write describes into a new staging directory
// beside dir, leaving dir untouched: Publish then puts it in dir's place,
// Discard removes it. It checks ctx between runs of the step's blocks and
// returns ctx's error, having removed what it wrote, once ctx is done.
func Stage(ctx context.Context, dir string, p *plan.Plan, s *wafer.Spec, opt Options) (_ *Staged, err error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if p.Pipeline != nil {
		return nil, fmt.Errorf("chakra: %s is a pipeline across %d wafers; its stages' cross-wafer schedule is not exported as execution traces", p.Model, len(p.Pipeline.Stages))
	}
	s, err = specOf(p, s)
	if err != nil {
		return nil, err
	}
	if err := check(p, s); err != nil {
		return nil, err
	}
	if dir, err = destination(dir); err != nil {
		return nil, err
	}
	if err := CheckDir(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("chakra: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("chakra: %w", err)
	}
	st := &Staged{dir: dir, tmp: tmp}
	if opt.OnStaging != nil {
		opt.OnStaging(tmp)
	}
	defer func() {
		if err != nil {
			st.Discard()
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("chakra: %w", err)
	}
	m := newManifest(p, s, opt.name(p))
	x, err := openTraces(tmp, p, s, m)
	if err != nil {
		return nil, err
	}
	stp := newStepper[ref](x)
	stp.stop = func() bool { return ctx.Err() != nil }
	stp.step(p)
	m.Tasks, m.Barriers = x.tasks, x.barriers
	if err := closeTraces(x.dies, x.err); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	m.total()
	if err := writeConfigs(tmp, s, m); err != nil {
		return nil, err
	}
	st.Manifest = m
	return st, nil
}

// specOf returns s, or the wafer plan p embeds if s is nil.
func specOf(p *plan.Plan, s *wafer.Spec) (*wafer.Spec, error) {
	if s != nil {
		return s, nil
	}
	if len(p.WaferSpec) == 0 {
		return nil, fmt.Errorf("chakra: no wafer given and the plan embeds none")
	}
	s, err := wafer.ReadJSON("wafer_spec", p.WaferSpec)
	if err != nil {
		return nil, fmt.Errorf("chakra: the plan's wafer: %w", err)
	}
	return s, nil
}

// check refuses what the exporter cannot map: a plan on dies the wafer
// lacks, or a block that is not a valid program (plan.Program.Check:
// dependencies on earlier tasks, every send matched by one receive).
func check(p *plan.Plan, s *wafer.Spec) error {
	for _, d := range p.Dies {
		if !s.Alive(d) {
			return fmt.Errorf("chakra: plan uses dead or missing die %d of wafer %s", d, s.Name)
		}
	}
	return p.Walk(func(n *plan.Node, _ int) error {
		if err := n.Program.Check(s); err != nil {
			return fmt.Errorf("chakra: node %q: %w", n.Name, err)
		}
		return nil
	})
}

// openTraces creates every die's trace, writes its GlobalMetadata and
// returns the exporter that writes the rest.
func openTraces(dir string, p *plan.Plan, s *wafer.Spec, m *Manifest) (*exporter, error) {
	dies := make([]*dieTrace, s.NumDies())
	for i := range dies {
		f, err := os.Create(filepath.Join(dir, m.Ranks[i].File))
		if err != nil {
			closeTraces(dies[:i], nil)
			return nil, fmt.Errorf("chakra: %w", err)
		}
		dies[i] = &dieTrace{w: bufio.NewWriterSize(f, 64<<10), c: f, info: &m.Ranks[i]}
	}
	x := newExporter(s, dies)
	for i, d := range dies {
		raw, err := proto.Marshal(metadata(p, s, i))
		n := 0
		if err == nil {
			n, err = frame(d.w, raw)
		}
		d.err, d.info.Bytes = err, int64(n)
	}
	return x, nil
}

// metadata is the GlobalMetadata of rank's trace.
func metadata(p *plan.Plan, s *wafer.Spec, rank int) *etpb.GlobalMetadata {
	str := func(name, v string) *etpb.AttributeProto {
		return &etpb.AttributeProto{Name: name, Value: &etpb.AttributeProto_StringVal{StringVal: v}}
	}
	u64 := func(name string, v uint64) *etpb.AttributeProto {
		return &etpb.AttributeProto{Name: name, Value: &etpb.AttributeProto_Uint64Val{Uint64Val: v}}
	}
	return &etpb.GlobalMetadata{Version: metadataVersion, Attr: []*etpb.AttributeProto{
		str("producer", "tempc"),
		str("model", p.Model),
		str("wafer", s.Name),
		str("layout", p.Layout),
		u64("rank", uint64(rank)),
		u64("npus", uint64(s.NumDies())),
		str("die", s.Coord(wafer.DieID(rank)).String()),
	}}
}

// closeTraces flushes and closes the traces and returns the first
// error: err, else a write or close error.
func closeTraces(dies []*dieTrace, err error) error {
	for i, d := range dies {
		if d.err == nil {
			d.err = d.w.Flush()
		}
		if cerr := d.c.Close(); d.err == nil {
			d.err = cerr
		}
		if d.err != nil && err == nil {
			err = fmt.Errorf("chakra: rank %d: %w", i, d.err)
		}
	}
	return err
}
