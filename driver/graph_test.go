package driver

import (
	"os"
	"strings"
	"testing"
)

func ExampleGraph() {
	err := Graph(os.Stdout, GraphOptions{Model: "gpt2", Batch: 8, Seq: 1024})
	if err != nil {
		panic(err)
	}
	// Output:
	// model            gpt2
	// step             batch 8 × seq 1024 = 8192 tokens, 12 layers
	// parameters       124439808 (124.44M)
	// FLOPs per step   7.027e+12 (fwd 2.346e+12, bwd 4.679e+12, opt 1.742e+09)
	// FLOPs per token  8.577e+08 (6.89 × parameters)
	// ops              497 (fwd 126, bwd 223, opt 148)
	// ops by kind      matmul=147 attention=24 elementwise=122 norm=50 embedding=4 loss=2 adam=148
	// weights          237.35 MiB (248879616 bytes)
	// gradients        237.35 MiB (248879616 bytes)
	// optimizer states 1.39 GiB (1493277696 bytes)
	// activations      3.34 GiB (3591651332 bytes) (all forward activations of the step, before any partitioning)
}

func TestGraphRejectsUnknownFormat(t *testing.T) {
	var b strings.Builder
	err := Graph(&b, GraphOptions{Model: "gpt2", Format: "yaml"})
	if err == nil || !strings.Contains(err.Error(), `unknown format "yaml"`) {
		t.Fatalf("err = %v", err)
	}
	if b.Len() != 0 {
		t.Error("wrote output despite the error")
	}
}
