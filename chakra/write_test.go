package chakra

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tempc/tempc/chakra/etpb"
	"github.com/tempc/tempc/internal/golden"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// TestWrite exports steps and reads them back (checkExport): the
// hand-made step on a wafer with a dead die, and gpt2's on mesh4x4 in
// three layouts. In every gpt2 step the only dependencies across dies
// that no message of the plan carries are the optimizer barrier's, so
// the traces have at most 2·(dies − 1) sync messages per barrier.
func TestWrite(t *testing.T) {
	cases := []struct {
		name  string
		build func(testing.TB) (*plan.Plan, *wafer.Spec)
		// maxSyncs bounds the sync messages; −1: 2·(dies − 1) per barrier.
		maxSyncs int64
	}{
		// tiny: die 3's compute waits for die 0's in each of the 6 runs
		// of its block (6 syncs), and the barrier for 4 other dies and
		// 4 other dies for it (8).
		{"tiny", tinyPlan, 14},
		// long: the barrier on die 1 waits for die 0 (1 sync), die 0's
		// optimizer for the barrier (1).
		{"long", longPlan, 2},
	}
	for _, l := range gpt2Layouts {
		cases = append(cases, struct {
			name     string
			build    func(testing.TB) (*plan.Plan, *wafer.Spec)
			maxSyncs int64
		}{"gpt2 " + l, func(t testing.TB) (*plan.Plan, *wafer.Spec) { return gpt2Plan(t, l) }, -1})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, s := tc.build(t)
			dir := t.TempDir()
			m, err := Write(context.Background(), dir, p, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			syncs := checkExport(t, dir, m, p, s)
			bound := tc.maxSyncs
			if bound < 0 {
				bound = 2 * int64(len(p.Dies)-1) * m.Barriers
			}
			if syncs != m.SyncMessages || syncs > bound {
				t.Errorf("%d sync messages (manifest %d), want at most %d", syncs, m.SyncMessages, bound)
			}
			var onDisk Manifest
			if b, err := os.ReadFile(filepath.Join(dir, manifestFile)); err != nil || json.Unmarshal(b, &onDisk) != nil {
				t.Fatalf("manifest.json: %v", err)
			}
			if d := cmp.Diff(*m, onDisk); d != "" {
				t.Errorf("manifest.json differs from the returned manifest (-returned +file):\n%s", d)
			}
			if tc.name == "long" && m.Ranks[0].Joins < 65 {
				// 65,536 sinks make a tree of 64 joins and its root.
				t.Errorf("die 0 has %d joins: its sinks were not compacted", m.Ranks[0].Joins)
			}
			t.Logf("%d tasks, %d barriers → %d nodes, %d messages, %d sync messages, %d joins",
				m.Tasks, m.Barriers, m.Nodes, m.Messages, m.SyncMessages, m.Joins)
		})
	}
}

// TestWriteTinyGolden pins the hand-made step's export: every trace's
// nodes as text, the manifest, the README and the ASTRA-sim
// configurations. Regenerate with UPDATE_GOLDEN=1 go test ./chakra.
func TestWriteTinyGolden(t *testing.T) {
	p, s := tinyPlan(t)
	dir := t.TempDir()
	m, err := Write(context.Background(), dir, p, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for rank := range s.NumDies() {
		meta, nodes, err := Read(filepath.Join(dir, TraceFile(m.Workload, rank)))
		if err != nil {
			t.Fatal(err)
		}
		dump(&b, rank, meta, nodes)
	}
	golden.Check(t, filepath.Join("testdata", "tiny", "traces.txt"), b.String())
	for _, f := range []string{manifestFile, readmeFile, networkFile, systemFile, memoryFile} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", "tiny", f), string(got))
	}
}

// dump writes a trace as text, one node a line.
func dump(b *strings.Builder, rank int, meta *etpb.GlobalMetadata, nodes []*etpb.Node) {
	fmt.Fprintf(b, "rank %d: version %s", rank, meta.GetVersion())
	for _, a := range meta.GetAttr() {
		fmt.Fprintf(b, " %s=%s", a.GetName(), attrText(a))
	}
	b.WriteString("\n")
	for _, n := range nodes {
		fmt.Fprintf(b, "  %d %s %q deps=%v", n.GetId(), n.GetType(), n.GetName(), n.GetDataDeps())
		if n.GetDurationMicros() > 0 {
			fmt.Fprintf(b, " us=%d", n.GetDurationMicros())
		}
		for _, a := range n.GetAttr() {
			fmt.Fprintf(b, " %s=%s", a.GetName(), attrText(a))
		}
		b.WriteString("\n")
	}
}

func attrText(a *etpb.AttributeProto) string {
	switch v := a.GetValue().(type) {
	case *etpb.AttributeProto_StringVal:
		return fmt.Sprintf("%q", v.StringVal)
	case *etpb.AttributeProto_BoolVal:
		return fmt.Sprint(v.BoolVal)
	case *etpb.AttributeProto_Int32Val:
		return fmt.Sprintf("%d(i32)", v.Int32Val)
	case *etpb.AttributeProto_Int64Val:
		return fmt.Sprintf("%d(i64)", v.Int64Val)
	case *etpb.AttributeProto_Uint64Val:
		return fmt.Sprintf("%d(u64)", v.Uint64Val)
	}
	return fmt.Sprintf("%v", a.GetValue())
}

// TestWriteIsDeterministic: writing the same plan twice gives
// byte-identical files.
func TestWriteIsDeterministic(t *testing.T) {
	p, s := gpt2Plan(t, gpt2Layouts[1])
	dirs := [2]string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		if _, err := Write(context.Background(), d, p, s, Options{Name: "step"}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		a, _ := os.ReadFile(filepath.Join(dirs[0], e.Name()))
		b, err := os.ReadFile(filepath.Join(dirs[1], e.Name()))
		if err != nil || string(a) != string(b) {
			t.Errorf("%s differs between two writes (%v)", e.Name(), err)
		}
	}
}

// TestWriteRefuses: bad options, a plan with no wafer, a plan on a dead
// die, an invalid block.
func TestWriteRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*plan.Plan, **wafer.Spec, *Options)
		errHas string
	}{
		{"name with a slash", func(_ *plan.Plan, _ **wafer.Spec, o *Options) { o.Name = "a/b" }, "not a plain file name"},
		{"no wafer", func(_ *plan.Plan, s **wafer.Spec, _ *Options) { *s = nil }, "embeds none"},
		{"dead die", func(p *plan.Plan, _ **wafer.Spec, _ *Options) { p.Dies = append(p.Dies, 5) }, "dead or missing die 5"},
		{"dependency on a later task", func(p *plan.Plan, _ **wafer.Spec, _ *Options) {
			p.Steps[0].Body[0].Program.Tasks[0].Deps = []plan.TaskID{3}
		}, `node "fwd"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s := tinyPlan(t)
			var o Options
			tc.edit(p, &s, &o)
			_, err := Write(context.Background(), t.TempDir(), p, s, o)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.HasPrefix(err.Error(), "chakra: ") {
				t.Errorf("got %v, want an error with %q", err, tc.errHas)
			}
		})
	}
}

// TestWriteUsesEmbeddedWafer: with no wafer given, Write takes the one
// the plan embeds.
func TestWriteUsesEmbeddedWafer(t *testing.T) {
	p, s := gpt2Plan(t, gpt2Layouts[2])
	if len(p.WaferSpec) == 0 {
		t.Fatal("lowered plan embeds no wafer")
	}
	m, err := Write(context.Background(), t.TempDir(), p, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Wafer != s.Name || len(m.Ranks) != s.NumDies() || m.Workload != "gpt2" {
		t.Errorf("wafer %s with %d ranks, workload %q; want %s, %d, gpt2", m.Wafer, len(m.Ranks), m.Workload, s.Name, s.NumDies())
	}
}
