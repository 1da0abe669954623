package frontend

import "sort"

// Presets: the models of REFERENCE.md. GPT-3 models use the GPT-2
// architecture (pre-LayerNorm, GELU, learned positions, biases, LM head
// tied to the token embedding), as in Brown et al. 2020 ("Language Models
// are Few-Shot Learners", Table 2.1); the alternating locally banded sparse
// attention of that paper is not modelled (dense attention is priced).
// gpt3-76b is the 76.1B configuration of Narayanan et al. 2021 (Table 1).
// Llama and OPT values are those of the published Hugging Face config.json
// files (meta-llama/Llama-2-*-hf, Meta-Llama-3-*, facebook/opt-*).
func gpt(name string, layers, hidden, heads, headDim, ffn int64) Arch {
	return Arch{Name: name, Family: "gpt2", Layers: layers, Hidden: hidden, Heads: heads, KVHeads: heads,
		HeadDim: headDim, FFN: ffn, Vocab: 50257, MaxPositions: 2048, Norm: "layernorm", Activation: "gelu",
		LearnedPositions: true, TiedEmbeddings: true, AttnBias: true, MLPBias: true, NormBias: true}
}

func llama(name string, layers, hidden, heads, kvHeads, ffn, vocab, ctx int64) Arch {
	return Arch{Name: name, Family: "llama", Layers: layers, Hidden: hidden, Heads: heads, KVHeads: kvHeads,
		HeadDim: hidden / heads, FFN: ffn, Vocab: vocab, MaxPositions: ctx, Norm: "rmsnorm", Activation: "silu",
		GatedFFN: true}
}

func opt(name string, layers, hidden, heads, ffn int64) Arch {
	return Arch{Name: name, Family: "opt", Layers: layers, Hidden: hidden, Heads: heads, KVHeads: heads,
		HeadDim: hidden / heads, FFN: ffn, Vocab: 50272, MaxPositions: 2048, Norm: "layernorm",
		Activation: "relu", LearnedPositions: true, PositionOffset: 2, TiedEmbeddings: true,
		AttnBias: true, MLPBias: true, NormBias: true}
}

var presets = map[string]Arch{
	"gpt2": func() Arch {
		a := gpt("gpt2", 12, 768, 12, 64, 3072)
		a.MaxPositions = 1024
		return a
	}(),
	"gpt3-6.7b": gpt("gpt3-6.7b", 32, 4096, 32, 128, 16384),
	// GPT-3 13B: Table 2.1 lists d_model 5140 with 40 heads of 128, so the
	// attention width (5120) differs from the residual width.
	"gpt3-13b":  gpt("gpt3-13b", 40, 5140, 40, 128, 20560),
	"gpt3-76b":  gpt("gpt3-76b", 60, 10240, 80, 128, 40960),
	"gpt3-175b": gpt("gpt3-175b", 96, 12288, 96, 128, 49152),
	// Megatron-Turing NLG 530B (Smith et al. 2022, Table 1): GPT-3's
	// architecture, 105 layers of 20480 with 128 heads of 160, a 51200-token
	// vocabulary (Megatron pads GPT-2's 50257 to a multiple of its TP
	// degree), 2048 positions.
	"mt-nlg-530b": func() Arch {
		a := gpt("mt-nlg-530b", 105, 20480, 128, 160, 81920)
		a.Vocab = 51200
		return a
	}(),
	"llama2-7b": llama("llama2-7b", 32, 4096, 32, 32, 11008, 32000, 4096),
	// TinyLlama 1.1B (Zhang et al. 2024): Llama 2's architecture, small.
	"tinyllama-1.1b": llama("tinyllama-1.1b", 22, 2048, 32, 4, 5632, 32000, 2048),
	"llama2-13b":     llama("llama2-13b", 40, 5120, 40, 40, 13824, 32000, 4096),
	"llama2-70b":     llama("llama2-70b", 80, 8192, 64, 8, 28672, 32000, 4096),
	"llama3-8b":      llama("llama3-8b", 32, 4096, 32, 8, 14336, 128256, 8192),
	"llama3-70b":     llama("llama3-70b", 80, 8192, 64, 8, 28672, 128256, 8192),
	"opt-6.7b":       opt("opt-6.7b", 32, 4096, 32, 16384),
	"opt-175b":       opt("opt-175b", 96, 12288, 96, 49152),
}

// Preset returns the built-in architecture called name.
func Preset(name string) (Arch, bool) {
	a, ok := presets[name]
	return a, ok
}

// PresetNames lists the built-in model names in sorted order.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
