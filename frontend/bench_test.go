package frontend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

// BenchmarkLoad builds and verifies whole training graphs at the benchmark
// step size (batch 128, sequence 2048).
func BenchmarkLoad(b *testing.B) {
	for _, model := range []string{"gpt2", "llama2-7b", "gpt3-175b"} {
		b.Run(model, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Load(model, Options{Batch: 128, Seq: 1024}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriteGraphJSON(b *testing.B) {
	g, err := Load("gpt3-175b", Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteGraphJSON(io.Discard, g); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleLoad() {
	g, err := Load("llama3-70b", Options{Batch: 128, Seq: 2048})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := g.Summary()
	fmt.Printf("%s: %d parameters, %d layers, %d ops\n", s.Model, s.Parameters, s.Layers, s.Ops)
	fmt.Printf("%.3g FLOPs per token (%.2f × parameters)\n", s.FLOPsPerToken, s.FLOPsPerToken/float64(s.Parameters))
	// Output:
	// llama3-70b: 70553706496 parameters, 80 layers, 2812 ops
	// 4.33e+11 FLOPs per token (6.14 × parameters)
}

func ExampleReadHFConfig() {
	cfg := `{"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32,
  "num_hidden_layers": 32, "intermediate_size": 11008, "vocab_size": 32000,
  "max_position_embeddings": -4096}`
	_, err := ReadHFConfig("config.json", []byte(cfg))
	fmt.Println(err)
	// Output:
	// frontend: config.json:3:3: max_position_embeddings: must be a positive integer, got -4096
}

func BenchmarkReadGraphJSON(b *testing.B) {
	g, err := Load("gpt3-175b", Options{})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteGraphJSON(&buf, g); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadGraphJSON("g.json", buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleLoadContext() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as a time limit that has run out
	_, err := LoadContext(ctx, "llama3-70b", Options{Batch: 128, Seq: 2048})
	fmt.Println(err)
	fmt.Println(errors.Is(err, context.Canceled))
	// Output:
	// frontend: loading llama3-70b stopped: context canceled
	// true
}

func ExampleLoadArchContext() {
	a, err := LoadArchContext(context.Background(), "gpt3-175b", 0, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d layers of %d, %d heads\n", a.Name, a.Layers, a.Hidden, a.Heads)
	// Output:
	// gpt3-175b: 96 layers of 12288, 96 heads
}
