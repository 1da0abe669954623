package ir

import (
	"fmt"
	"io"
)

// Summary holds the headline figures of a training graph. Its JSON form is
// what `tempc graph --format json` prints; the field names are part of the
// command's documented interface.
type Summary struct {
	Model  string `json:"model"`
	Batch  int64  `json:"batch"`
	Seq    int64  `json:"seq"`
	Layers int    `json:"layers"`
	// Tokens is Batch·Seq, the tokens one step trains on.
	Tokens int64 `json:"tokens_per_step"`
	// Parameters counts the elements of all weight tensors (a tied
	// embedding counts once).
	Parameters int64 `json:"parameters"`
	// FLOPs is the total over all ops of one step; FLOPsByPhase splits it.
	FLOPs        float64      `json:"flops_per_step"`
	FLOPsByPhase PhaseFigures `json:"flops_by_phase"`
	// FLOPsPerToken is FLOPs / Tokens (≈ 6·Parameters plus attention).
	FLOPsPerToken float64 `json:"flops_per_token"`
	Ops           int     `json:"ops"`
	// OpsByKind counts ops per Kind name; OpsByPhase per phase.
	OpsByKind  map[string]int `json:"ops_by_kind"`
	OpsByPhase map[string]int `json:"ops_by_phase"`
	Tensors    int            `json:"tensors"`
	// Bytes of all tensors of each role, as stored (bf16 weights and
	// gradients, fp32 optimizer states).
	WeightBytes     int64 `json:"weight_bytes"`
	GradientBytes   int64 `json:"gradient_bytes"`
	OptStateBytes   int64 `json:"optimizer_state_bytes"`
	ActivationBytes int64 `json:"activation_bytes"`
}

// PhaseFigures is a figure split by training phase.
type PhaseFigures struct {
	Forward   float64 `json:"fwd"`
	Backward  float64 `json:"bwd"`
	Optimizer float64 `json:"opt"`
}

func (p *PhaseFigures) add(ph Phase, v float64) {
	switch ph {
	case Forward:
		p.Forward += v
	case Backward:
		p.Backward += v
	case Optimizer:
		p.Optimizer += v
	}
}

// Summary computes the graph's headline figures.
func (g *Graph) Summary() Summary {
	s := Summary{Model: g.Name, Batch: g.Batch, Seq: g.Seq, Layers: g.Layers, Tokens: g.Batch * g.Seq,
		Ops: len(g.Ops), Tensors: len(g.Tensors), OpsByKind: map[string]int{}, OpsByPhase: map[string]int{}}
	for i := range g.Tensors {
		t := &g.Tensors[i]
		switch t.Role {
		case Weight:
			s.Parameters += t.NumElements()
			s.WeightBytes += t.Bytes()
		case Gradient:
			s.GradientBytes += t.Bytes()
		case OptState:
			s.OptStateBytes += t.Bytes()
		case Activation:
			s.ActivationBytes += t.Bytes()
		}
	}
	for i := range g.Ops {
		op := &g.Ops[i]
		s.FLOPs += op.FLOPs
		s.FLOPsByPhase.add(op.Phase, op.FLOPs)
		s.OpsByKind[op.Kind.String()]++
		s.OpsByPhase[op.Phase.String()]++
	}
	if s.Tokens > 0 {
		s.FLOPsPerToken = s.FLOPs / float64(s.Tokens)
	}
	return s
}

// WriteText prints the summary for a person, one figure a line.
func (s *Summary) WriteText(w io.Writer) error {
	e := &errWriter{w: w}
	e.printf("model            %s\n", s.Model)
	e.printf("step             batch %d × seq %d = %d tokens, %d layers\n", s.Batch, s.Seq, s.Tokens, s.Layers)
	e.printf("parameters       %d (%s)\n", s.Parameters, humanCount(float64(s.Parameters)))
	e.printf("FLOPs per step   %.4g (fwd %.4g, bwd %.4g, opt %.4g)\n", s.FLOPs,
		s.FLOPsByPhase.Forward, s.FLOPsByPhase.Backward, s.FLOPsByPhase.Optimizer)
	e.printf("FLOPs per token  %.4g (%.2f × parameters)\n", s.FLOPsPerToken, s.FLOPsPerToken/float64(max(s.Parameters, 1)))
	e.printf("ops              %d (fwd %d, bwd %d, opt %d)\n", s.Ops,
		s.OpsByPhase[Forward.String()], s.OpsByPhase[Backward.String()], s.OpsByPhase[Optimizer.String()])
	e.printf("ops by kind     ")
	for _, k := range kindNames {
		if n := s.OpsByKind[k]; n > 0 {
			e.printf(" %s=%d", k, n)
		}
	}
	e.printf("\n")
	e.printf("weights          %s\n", humanBytes(s.WeightBytes))
	e.printf("gradients        %s\n", humanBytes(s.GradientBytes))
	e.printf("optimizer states %s\n", humanBytes(s.OptStateBytes))
	e.printf("activations      %s (all forward activations of the step, before any partitioning)\n", humanBytes(s.ActivationBytes))
	return e.err
}

func humanCount(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fB", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func humanBytes(b int64) string {
	const gib = 1 << 30
	const mib = 1 << 20
	switch {
	case b >= gib:
		return fmt.Sprintf("%.2f GiB (%d bytes)", float64(b)/gib, b)
	case b >= mib:
		return fmt.Sprintf("%.2f MiB (%d bytes)", float64(b)/mib, b)
	default:
		return fmt.Sprintf("%d bytes", b)
	}
}
