package frontend

import (
	"math"
	"strings"
	"testing"
)

// TestOptionsValidate: negative sizes, and sizes whose token count would
// overflow or exceed tempc's limit, are rejected by Load before any work.
func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		want string // "" when valid
	}{
		{"defaults", Options{}, ""},
		{"at the token limit", Options{Batch: 1 << 15, Seq: 1 << 15}, ""},
		{"batch negative", Options{Batch: -3}, "frontend: batch -3 must be positive"},
		{"seq negative", Options{Seq: -1}, "frontend: sequence length -1 must be positive"},
		{"batch min int64", Options{Batch: math.MinInt64}, "frontend: batch -9223372036854775808 must be positive"},
		{"batch beyond tokens", Options{Batch: 1<<30 + 1}, "frontend: batch 1073741825 exceeds tempc's limit of 1073741824 tokens per step"},
		{"batch max int64", Options{Batch: math.MaxInt64}, "frontend: batch 9223372036854775807 exceeds"},
		{"seq max int64", Options{Batch: 1, Seq: math.MaxInt64}, "frontend: sequence length 9223372036854775807 exceeds"},
		{"product overflows int64", Options{Batch: 1 << 32, Seq: 1 << 32}, "frontend: batch 4294967296 exceeds"},
		{"product beyond tokens", Options{Batch: 1 << 20, Seq: 1 << 20}, "frontend: batch 1048576 × sequence length 1048576 exceeds tempc's limit of 1073741824 tokens per step"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opt.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want %q", err, tc.want)
			}
			if _, err := Load("llama2-7b", tc.opt); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Load: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestBuildTooLarge: a step whose tensors would exceed tempc's limits is a
// user error naming the sizes, not an invalid graph reported as a bug.
func TestBuildTooLarge(t *testing.T) {
	wideVocab, _ := Preset("llama3-8b")
	wideVocab.Vocab = 1 << 24 // at the vocabulary limit
	deep, _ := Preset("llama2-7b")
	deep.Layers = 512
	tests := []struct {
		name string
		a    Arch
		opt  Options
		want string
	}{
		// 2^16·2^14 tokens × 2^24 logits = 2^54 elements.
		{"logits beyond 2^50", wideVocab, Options{Batch: 1 << 16, Seq: 1 << 14},
			"frontend: batch 65536 × sequence length 16384 × width 16777216 of llama3-8b is 1.801e+16 elements, beyond tempc's limit of 2^50 per tensor"},
		// 2^30 tokens × 11008 × 2 bytes is 2^44.4 bytes per FFN activation,
		// over a dozen activations per block, 512 blocks: beyond 2^56.
		{"graph beyond 2^56 bytes", deep, Options{Batch: 1 << 18, Seq: 1 << 12},
			"frontend: llama2-7b: the training graph holds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(&tc.a, tc.opt)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "bug") {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
