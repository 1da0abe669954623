package ir

import (
	"fmt"
	"strings"
	"testing"

	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/simple"
)

func TestFLOPsClosedForms(t *testing.T) {
	d := mlp()
	// up: 2·M·N·K = 2·8·16·8; down: 2·8·8·16; gelu: 8 per element of [2,4,16];
	// add: 1 per element of [2,4,8]; embedding gather: 0.
	want := []float64{0, 2 * 8 * 16 * 8, 8 * 2 * 4 * 16, 2 * 8 * 8 * 16, 2 * 4 * 8}
	for i, w := range want {
		if got := d.g.Ops[i].FLOPs; got != w {
			t.Errorf("%v: FLOPs %g, want %g", &d.g.Ops[i], got, w)
		}
	}
	// Bytes: up reads x (64 bf16) and w1 (128 bf16), writes h (128 bf16).
	if up := d.g.Ops[1]; up.BytesRead != 2*(64+128) || up.BytesWritten != 2*128 {
		t.Errorf("up bytes read %d written %d, want 384 and 256", up.BytesRead, up.BytesWritten)
	}
}

func TestAttentionFLOPs(t *testing.T) {
	tests := []struct {
		name string
		a    AttnAttrs
		p    Phase
		want float64
	}{
		// 4·b·a·s²·d for QKᵀ and PV plus 5 per score for the softmax.
		{"fwd", AttnAttrs{Batch: 2, SeqQ: 8, SeqKV: 8, Heads: 4, KVHeads: 4, HeadDim: 16}, Forward,
			4*2*4*64*16 + 5*2*4*64},
		// backward: twice the GEMMs plus 4 per score.
		{"bwd", AttnAttrs{Batch: 2, SeqQ: 8, SeqKV: 8, Heads: 4, KVHeads: 2, HeadDim: 16}, Backward,
			8*2*4*64*16 + 4*2*4*64},
		// rope: 3 per element of Q (4 heads) and K (2 kv heads).
		{"fwd rope gqa", AttnAttrs{Batch: 1, SeqQ: 8, SeqKV: 8, Heads: 4, KVHeads: 2, HeadDim: 16, Rope: true}, Forward,
			4*4*64*16 + 5*4*64 + 3*8*6*16},
	}
	for _, tc := range tests {
		if got := attentionFLOPs(&tc.a, tc.p); got != tc.want {
			t.Errorf("%s: %g, want %g", tc.name, got, tc.want)
		}
	}
}

func TestTextIsCanonical(t *testing.T) {
	a, b := mlp().g.Text(), mlp().g.Text()
	if a != b {
		t.Fatal("two identical graphs print differently")
	}
	lines := strings.Split(strings.TrimSpace(a), "\n")
	if want := 1 + 9 + 5; len(lines) != want {
		t.Fatalf("%d lines, want %d (header, 9 tensors, 5 ops):\n%s", len(lines), want, a)
	}
	for _, w := range []string{
		"graph test batch=2 seq=4 layers=0",
		"t0 x bf16[2,4,8] activation layer=-",
		"o1 up fwd matmul[batch=1 m=8 n=16 k=8] layer=- class= key= (t0 t1) -> (t2) flops=2048 read=384 write=256",
	} {
		if !strings.Contains(a, w+"\n") {
			t.Errorf("text lacks line %q:\n%s", w, a)
		}
	}
	d := mlp()
	d.g.Ops[1].MatMul.K = 9
	if d.g.Text() == a {
		t.Error("changing an attribute does not change the text")
	}
}

// TestDOTParsesBack reads the DOT output with gonum's parser (an independent
// reader) and checks every op and tensor became a node.
func TestDOTParsesBack(t *testing.T) {
	d := mlp()
	b, err := d.g.DOT()
	if err != nil {
		t.Fatal(err)
	}
	dst := simple.NewDirectedGraph()
	if err := dot.Unmarshal(b, dst); err != nil {
		t.Fatalf("DOT does not parse: %v\n%s", err, b)
	}
	if got, want := dst.Nodes().Len(), len(d.g.Ops)+len(d.g.Tensors); got != want {
		t.Errorf("%d nodes, want %d", got, want)
	}
	// Edges: embed 2 in 1 out, up 2+1, act 1+1, down 2+1, res 2+1 = 14.
	if got := dst.Edges().Len(); got != 14 {
		t.Errorf("%d edges, want 14", got)
	}
}

func TestSummary(t *testing.T) {
	s := mlp().g.Summary()
	// Parameters: w1 8·16 + w2 16·8 + table 10·8.
	if s.Parameters != 128+128+80 {
		t.Errorf("parameters %d, want 336", s.Parameters)
	}
	var sum float64
	for _, op := range mlp().g.Ops {
		sum += op.FLOPs
	}
	if s.FLOPs != sum || s.FLOPsByPhase.Forward != sum {
		t.Errorf("FLOPs %g (fwd %g), want %g", s.FLOPs, s.FLOPsByPhase.Forward, sum)
	}
	if s.OpsByKind["matmul"] != 2 || s.OpsByKind["elementwise"] != 2 || s.Ops != 5 {
		t.Errorf("op counts %+v", s.OpsByKind)
	}
	if s.WeightBytes != 2*336 {
		t.Errorf("weight bytes %d, want %d", s.WeightBytes, 2*336)
	}
	var b strings.Builder
	if err := s.WriteText(&b); err != nil || !strings.Contains(b.String(), "parameters       336") {
		t.Errorf("text summary:\n%s (%v)", b.String(), err)
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for i, n := range KindNames() {
		if k, ok := ParseKind(n); !ok || int(k) != i || k.String() != n {
			t.Errorf("kind %q", n)
		}
	}
	for i, n := range RoleNames() {
		if r, ok := ParseRole(n); !ok || int(r) != i {
			t.Errorf("role %q", n)
		}
	}
	for i, n := range DTypeNames() {
		if d, ok := ParseDType(n); !ok || int(d) != i {
			t.Errorf("dtype %q", n)
		}
	}
	for i, n := range PhaseNames() {
		if p, ok := ParsePhase(n); !ok || int(p) != i {
			t.Errorf("phase %q", n)
		}
	}
	if _, ok := ParseKind("conv"); ok {
		t.Error("ParseKind accepted conv")
	}
	if FP32.Size() != 4 || BF16.Size() != 2 || INT32.Size() != 4 {
		t.Error("dtype sizes")
	}
}

func ExampleGraph_Text() {
	g := &Graph{Name: "tiny", Batch: 1, Seq: 2}
	ids := g.AddTensor("ids", []int64{1, 2}, INT32, Input, NoLayer)
	table := g.AddTensor("table", []int64{16, 4}, BF16, Weight, NoLayer)
	emb := g.AddTensor("emb", []int64{1, 2, 4}, BF16, Activation, NoLayer)
	g.AddOp(Op{Name: "embed", Kind: Embedding, Phase: Forward, Layer: NoLayer, Class: "embed", Key: "tok",
		Inputs: []TensorID{ids, table}, Outputs: []TensorID{emb}})
	fmt.Print(g.Text())
	fmt.Println(g.Verify())
	// Output:
	// graph tiny batch=1 seq=2 layers=0
	// t0 ids int32[1,2] input layer=-
	// t1 table bf16[16,4] weight layer=-
	// t2 emb bf16[1,2,4] activation layer=-
	// o0 embed fwd embedding layer=- class=embed key=tok (t0 t1) -> (t2) flops=0 read=136 write=16
	// <nil>
}
