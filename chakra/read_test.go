package chakra

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tempc/tempc/chakra/etpb"
)

// tinyTrace returns the bytes of rank 1's trace of the hand-made step.
func tinyTrace(t testing.TB) []byte {
	t.Helper()
	p, s := tinyPlan(t)
	dir := t.TempDir()
	m, err := Write(context.Background(), dir, p, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, TraceFile(m.Workload, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll reads a whole trace from b.
func readAll(b []byte) (*etpb.GlobalMetadata, []*etpb.Node, error) {
	r, err := NewReader("trace", bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	var nodes []*etpb.Node
	for {
		n, err := r.Next()
		if err == io.EOF {
			return r.Metadata(), nodes, nil
		}
		if err != nil {
			return nil, nil, err
		}
		nodes = append(nodes, n)
	}
}

// frameMsgs frames messages as Chakra does.
func frameMsgs(msgs ...proto.Message) []byte {
	var b []byte
	for _, m := range msgs {
		raw, err := proto.Marshal(m)
		if err != nil {
			panic(err)
		}
		b = binary.AppendUvarint(b, uint64(len(raw)))
		b = append(b, raw...)
	}
	return b
}

// TestReadGzip: a gzip-compressed trace reads as the plain one.
func TestReadGzip(t *testing.T) {
	plain := tinyTrace(t)
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(plain)
	w.Close()
	m1, n1, err1 := readAll(plain)
	m2, n2, err2 := readAll(z.Bytes())
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !proto.Equal(m1, m2) || len(n1) != len(n2) || len(n1) == 0 {
		t.Fatalf("gzip: %d nodes, plain %d", len(n2), len(n1))
	}
	for i := range n1 {
		if !proto.Equal(n1[i], n2[i]) {
			t.Fatalf("node %d differs", i)
		}
	}
}

// TestReadForeign reads a trace framed as Chakra's generator frames
// one, with an attribute type tempc never writes.
func TestReadForeign(t *testing.T) {
	node := &etpb.Node{Id: 0, Name: "COMP_NODE", Type: etpb.NodeType_COMP_NODE, DurationMicros: 5,
		Attr: []*etpb.AttributeProto{{Name: "num_ops", Value: &etpb.AttributeProto_Uint32Val{Uint32Val: 9}},
			{Name: "dims", Value: &etpb.AttributeProto_FloatList{FloatList: &etpb.FloatList{Values: []float32{1, 2}}}}}}
	meta, nodes, err := readAll(frameMsgs(&etpb.GlobalMetadata{Version: "1.0.0"}, node))
	if err != nil {
		t.Fatal(err)
	}
	ops, ok := IntAttr(nodes[0].GetAttr(), "num_ops")
	if meta.GetVersion() != "1.0.0" || len(nodes) != 1 || !ok || ops != 9 || NodeKind(nodes[0]) != "" {
		t.Errorf("read %v, %v: num_ops %d", meta, nodes, ops)
	}
}

// TestReadErrors: malformed traces give errors that name the trace, the
// byte and the message.
func TestReadErrors(t *testing.T) {
	meta := frameMsgs(&etpb.GlobalMetadata{Version: "1.0.0"})
	for _, tc := range []struct {
		name   string
		data   []byte
		errHas string
	}{
		{"empty", nil, "empty trace: no GlobalMetadata"},
		{"size cut", append(append([]byte{}, meta...), 0x80), "byte 8, message 1 (node): truncated message size"},
		{"message cut", append(append([]byte{}, meta...), 10, 8, 1), "byte 8, message 1 (node): truncated message: 2 of 10 bytes"},
		{"huge size", binary.AppendUvarint(nil, 1<<40), "byte 0, message 0 (GlobalMetadata): message of 1099511627776 bytes"},
		{"not protobuf", append(append([]byte{}, meta...), 2, 0xff, 0xff), "byte 8, message 1 (node): "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.HasPrefix(err.Error(), "chakra: trace: ") {
				t.Errorf("got %v, want an error with %q", err, tc.errHas)
			}
		})
	}
}

// FuzzRead: no input makes the reader panic or loop; what it accepts
// re-encodes to a trace it reads back the same.
func FuzzRead(f *testing.F) {
	f.Add(tinyTrace(f))
	f.Add(frameMsgs(&etpb.GlobalMetadata{Version: "1.0.0"}))
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		meta, nodes, err := readAll(data)
		if err != nil {
			return
		}
		msgs := []proto.Message{meta}
		for _, n := range nodes {
			msgs = append(msgs, n)
		}
		meta2, nodes2, err := readAll(frameMsgs(msgs...))
		if err != nil {
			t.Fatalf("re-encoded trace: %v", err)
		}
		if !proto.Equal(meta, meta2) || len(nodes) != len(nodes2) {
			t.Fatalf("re-encoded trace differs")
		}
	})
}

// TestReadRefusesDevice: Read, which holds every node in memory, refuses
// an endless device instead of reading it until memory runs out.
func TestReadRefusesDevice(t *testing.T) {
	_, _, err := Read("/dev/zero")
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("got %v, want a refusal of the device", err)
	}
}
