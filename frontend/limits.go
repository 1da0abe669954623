package frontend

import (
	"fmt"

	"github.com/tempc/tempc/ir"
)

// Limits on the sizes tempc accepts, from any source: Options, a Hugging
// Face config (archLimits), a JSON graph. They lie far above any published
// model and any wafer's memory; their purpose is that a corrupt or hostile
// input is rejected by name instead of overflowing int64 in an element,
// byte or token count downstream, or exhausting memory. With them every
// FLOP count (float64) stays finite.
const (
	// maxTokens bounds batch·seq, the tokens of one step (2^30: 4096 times
	// a 128×2048 step).
	maxTokens = 1 << 30
	// maxLayers bounds the transformer blocks (the deepest published
	// dense models have about 120).
	maxLayers = 4096
	// maxElements bounds the elements of one tensor (2^50, a petabyte of
	// bf16); ir.Verify holds shapes to the same bound.
	maxElements = 1 << 50
	// maxGraphBytes bounds the bytes of all tensors of a training graph
	// (2^56, 64 PiB), so that byte totals cannot overflow int64.
	maxGraphBytes = 1 << 56
	// maxGraphItems bounds the tensors, and separately the ops, listed in
	// a JSON graph (2^20; a generated training graph of maxLayers blocks
	// has about 2^18 of each).
	maxGraphItems = 1 << 20
)

// elements is the element count of shape in float64, which cannot
// overflow, for comparing with the limits.
func elements(shape []int64) float64 {
	n := 1.0
	for _, d := range shape {
		n *= float64(d)
	}
	return n
}

// checkSize rejects a graph with a tensor above maxElements or with more
// than maxGraphBytes of tensors in all. It runs before ir.Verify, whose
// int64 size arithmetic it protects.
func checkSize(g *ir.Graph) error {
	total := 0.0
	for i := range g.Tensors {
		t := &g.Tensors[i]
		n := elements(t.Shape)
		if n > maxElements {
			return fmt.Errorf("frontend: %s: tensor %d %q %v has %.4g elements, beyond tempc's limit of 2^50",
				g.Name, t.ID, t.Name, t.Shape, n)
		}
		total += n * float64(t.DType.Size())
	}
	if total > maxGraphBytes {
		return fmt.Errorf("frontend: %s: the training graph holds %.4g bytes of tensors, beyond tempc's limit of 2^56 (64 PiB)",
			g.Name, total)
	}
	return nil
}
