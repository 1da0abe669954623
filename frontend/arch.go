package frontend

import (
	"fmt"

	"github.com/tempc/tempc/internal/jsonpos"
)

// Arch is the architecture of a decoder-only transformer: the
// hyper-parameters that determine its operator graph. It is what a
// Hugging Face config.json and a built-in preset both reduce to.
type Arch struct {
	// Name identifies the model in reports ("gpt2", "llama2-7b", a file name).
	Name string
	// Family selects the block template: "gpt2" (also GPT-3), "llama", "opt".
	Family string

	Layers  int64
	Hidden  int64
	Heads   int64
	KVHeads int64 // key/value heads; < Heads is grouped-query attention
	// HeadDim is the width of one head. It is Hidden/Heads unless a config
	// sets it explicitly (GPT-3 13B: 40 heads of 128 on a 5140-wide stream).
	HeadDim int64
	FFN     int64 // width of the feed-forward layer
	Vocab   int64
	// MaxPositions is the trained context length; with learned positions it
	// is also the number of rows of the position table.
	MaxPositions int64

	Norm       string // "layernorm" or "rmsnorm"
	Activation string // "gelu", "relu" or "silu"
	// GatedFFN selects a SwiGLU feed-forward (gate and up projections,
	// silu(gate)·up, down projection) as in Llama.
	GatedFFN bool
	// LearnedPositions selects a learned position table (GPT-2, OPT);
	// otherwise rotary embeddings (RoPE) are applied inside attention.
	LearnedPositions bool
	// PositionOffset is how many extra rows the position table has (OPT: 2).
	PositionOffset int64
	// TiedEmbeddings makes the LM head reuse the token embedding table.
	TiedEmbeddings bool
	// AttnBias, MLPBias and NormBias add biases to the attention
	// projections, the FFN projections, and an affine shift to the norms.
	AttnBias, MLPBias, NormBias bool
	// EmbedProjDim, when not zero or Hidden, is the width of the embedding
	// table, projected to Hidden and back (OPT word_embed_proj_dim).
	EmbedProjDim int64
}

// EmbedDim is the width of the token embedding table.
func (a *Arch) EmbedDim() int64 {
	if a.EmbedProjDim == 0 {
		return a.Hidden
	}
	return a.EmbedProjDim
}

// Validate checks that the sizes are positive and consistent; each problem
// is reported with the field it concerns (for a preset or hand-built Arch,
// whose fields have no file position).
func (a *Arch) Validate() error {
	e := &jsonpos.Errs{File: a.Name, Prefix: "frontend"}
	a.validate(e, func(string) jsonpos.Pos { return jsonpos.Pos{File: a.Name} }, nil)
	return e.Err()
}

// validate reports problems through e; pos maps a config key to its
// position, names maps Arch field names to the config's key names (nil
// keeps the Arch names). A field already reported in e (by the reader, or
// by an earlier check here) is not checked again, nor are the checks
// derived from it, so each problem is reported once, under its own name.
func (a *Arch) validate(e *jsonpos.Errs, pos func(key string) jsonpos.Pos, names map[string]string) {
	key := func(f string) string {
		if k, ok := names[f]; ok {
			return k
		}
		return f
	}
	bad := func(fields ...string) bool {
		for _, f := range fields {
			if e.Reported(key(f)) {
				return true
			}
		}
		return false
	}
	report := func(f, format string, args ...any) { e.Add(pos(key(f)), key(f), format, args...) }
	positive := []struct {
		f string
		v int64
	}{{"layers", a.Layers}, {"hidden", a.Hidden}, {"heads", a.Heads}, {"kv_heads", a.KVHeads},
		{"ffn", a.FFN}, {"vocab", a.Vocab}, {"max_positions", a.MaxPositions}}
	for _, p := range positive {
		if !bad(p.f) && p.v <= 0 {
			report(p.f, "must be a positive integer, got %d", p.v)
		}
	}
	if !bad("embed_proj_dim") && a.EmbedProjDim < 0 {
		report("embed_proj_dim", "must be positive, got %d", a.EmbedProjDim)
	}
	for _, l := range archLimits {
		if l.f == "head_dim" && bad("hidden", "heads") {
			continue // usually derived from them, so not at fault by itself
		}
		if v := l.get(a); !bad(l.f) && v > l.max {
			report(l.f, "%d exceeds tempc's limit of %d", v, l.max)
		}
	}
	switch {
	case bad("hidden", "heads", "head_dim"):
	case a.HeadDim == 0 && a.Hidden%a.Heads != 0:
		// HeadDim is derived as Hidden/Heads unless given explicitly.
		report("heads", "%d heads do not divide hidden size %d", a.Heads, a.Hidden)
	case a.HeadDim <= 0:
		report("head_dim", "must be a positive integer, got %d", a.HeadDim)
	}
	if !bad("heads", "kv_heads") && (a.KVHeads > a.Heads || a.Heads%a.KVHeads != 0) {
		report("kv_heads", "%d key/value heads do not divide %d attention heads", a.KVHeads, a.Heads)
	}
	switch a.Family {
	case "gpt2", "llama", "opt":
	default:
		report("family", "unknown family %q", a.Family)
	}
	if _, ok := normFns[a.Norm]; !ok && !bad("norm") {
		report("norm", "unknown norm %q (want layernorm or rmsnorm)", a.Norm)
	}
	if _, ok := activationFns[a.Activation]; !ok && !bad("activation") {
		report("activation", "unknown activation %q", a.Activation)
	}
}

// archLimits bound the sizes tempc accepts, far above any published model
// (the largest dense models have ~120 layers, 2^15 hidden, 2^18 vocab), so a
// corrupt config is rejected instead of building a graph that exhausts
// memory, and no tensor size overflows int64.
var archLimits = []struct {
	f   string
	max int64
	get func(*Arch) int64
}{
	{"layers", maxLayers, func(a *Arch) int64 { return a.Layers }},
	{"hidden", maxHidden, func(a *Arch) int64 { return a.Hidden }},
	{"heads", 1 << 14, func(a *Arch) int64 { return a.Heads }},
	{"head_dim", 1 << 14, func(a *Arch) int64 { return a.HeadDim }},
	{"ffn", 1 << 22, func(a *Arch) int64 { return a.FFN }},
	{"vocab", 1 << 24, func(a *Arch) int64 { return a.Vocab }},
	{"max_positions", 1 << 24, func(a *Arch) int64 { return a.MaxPositions }},
	{"embed_proj_dim", 1 << 20, func(a *Arch) int64 { return a.EmbedProjDim }},
}

// maxHidden bounds the residual width.
const maxHidden = 1 << 20

var normFns = map[string]bool{"layernorm": true, "rmsnorm": true}
var activationFns = map[string]bool{"gelu": true, "relu": true, "silu": true}

// Shape is the size of one training step.
type Shape struct {
	// Batch is the global batch in sequences; Seq the sequence length.
	Batch, Seq int64
}

func (s Shape) validate(a *Arch) error {
	if err := (Options{Batch: s.Batch, Seq: s.Seq}).Validate(); err != nil {
		return err
	}
	if s.Batch == 0 || s.Seq == 0 {
		return fmt.Errorf("frontend: batch %d and sequence length %d must be positive", s.Batch, s.Seq)
	}
	if a.LearnedPositions && s.Seq > a.MaxPositions {
		return fmt.Errorf("frontend: sequence length %d exceeds the %d rows of %s's learned position table",
			s.Seq, a.MaxPositions, a.Name)
	}
	// The widest activation is [batch, seq, width]; checking it here names
	// the cause better than checkSize on the built graph would.
	width := max(a.Hidden, a.EmbedDim(), a.FFN, (a.Heads+2*a.KVHeads)*a.HeadDim, a.Vocab)
	if n := float64(s.Batch) * float64(s.Seq) * float64(width); n > maxElements {
		return fmt.Errorf("frontend: batch %d × sequence length %d × width %d of %s is %.4g elements, beyond tempc's limit of 2^50 per tensor",
			s.Batch, s.Seq, width, a.Name, n)
	}
	return nil
}
