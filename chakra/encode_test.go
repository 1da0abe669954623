package chakra

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tempc/tempc/chakra/etpb"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// TestEncoderIsCanonical: every node the hand-written encoder writes is
// byte for byte what the generated code marshals from the node it
// decodes to, on the hand-made step and on gpt2's.
func TestEncoderIsCanonical(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(testing.TB) (*plan.Plan, *wafer.Spec)
	}{
		{"tiny", tinyPlan},
		{"gpt2", func(t testing.TB) (*plan.Plan, *wafer.Spec) { return gpt2Plan(t, gpt2Layouts[1]) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s := tc.build(t)
			dir := t.TempDir()
			m, err := Write(context.Background(), dir, p, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range m.Ranks {
				data, err := os.ReadFile(filepath.Join(dir, r.File))
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; len(data) > 0; i++ {
					size, k := binary.Uvarint(data)
					raw := data[k : k+int(size)]
					data = data[k+int(size):]
					var msg proto.Message = &etpb.Node{}
					if i == 0 {
						msg = &etpb.GlobalMetadata{}
					}
					if err := proto.Unmarshal(raw, msg); err != nil {
						t.Fatalf("%s message %d: %v", r.File, i, err)
					}
					want, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(want, raw) {
						t.Fatalf("%s message %d: encoded\n%x\nthe generated code marshals\n%x", r.File, i, raw, want)
					}
				}
			}
		})
	}
}

// TestNamesAreValidUTF8: a task name that is not valid UTF-8 is
// repaired, so that protobuf readers accept the node.
func TestNamesAreValidUTF8(t *testing.T) {
	p, s := tinyPlan(t)
	p.Steps[0].Body[0].Program.Tasks[0].Name = "bad\xff"
	dir := t.TempDir()
	m, err := Write(context.Background(), dir, p, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, nodes, err := Read(filepath.Join(dir, m.Ranks[0].File))
	if err != nil {
		t.Fatal(err)
	}
	if got := nodes[0].GetName(); got != "fwd/bad\uFFFD" {
		t.Errorf("name %q", got)
	}
}
