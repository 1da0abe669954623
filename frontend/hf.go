package frontend

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tempc/tempc/internal/jsonpos"
)

// hfKeys maps Arch fields to the config.json keys of each family
// (REFERENCE.md lists them), for reading and for error messages.
var hfKeys = map[string]map[string]string{
	"gpt2": {"layers": "n_layer", "hidden": "n_embd", "heads": "n_head", "kv_heads": "n_head",
		"head_dim": "n_head", "ffn": "n_inner", "vocab": "vocab_size", "max_positions": "n_positions",
		"activation": "activation_function", "family": "model_type"},
	"llama": {"layers": "num_hidden_layers", "hidden": "hidden_size", "heads": "num_attention_heads",
		"kv_heads": "num_key_value_heads", "head_dim": "head_dim", "ffn": "intermediate_size", "vocab": "vocab_size",
		"max_positions": "max_position_embeddings", "activation": "hidden_act", "family": "model_type"},
	"opt": {"layers": "num_hidden_layers", "hidden": "hidden_size", "heads": "num_attention_heads",
		"kv_heads": "num_attention_heads", "head_dim": "num_attention_heads", "ffn": "ffn_dim", "vocab": "vocab_size",
		"max_positions": "max_position_embeddings", "activation": "activation_function",
		"embed_proj_dim": "word_embed_proj_dim", "family": "model_type"},
}

// hfActivations maps Hugging Face activation names to the functions tempc
// prices; the GELU variants differ in accuracy, not in cost class.
var hfActivations = map[string]string{
	"gelu": "gelu", "gelu_new": "gelu", "gelu_fast": "gelu", "gelu_pytorch_tanh": "gelu", "quick_gelu": "gelu",
	"relu": "relu", "silu": "silu", "swish": "silu",
}

// hfRopeTypes are the rope_scaling variants accepted: each only rescales
// rotary frequencies, so a token costs what it costs with plain RoPE.
var hfRopeTypes = map[string]bool{"default": true, "linear": true, "dynamic": true, "llama3": true, "yarn": true}

// hfMoEKeys mark mixture-of-experts configs, which tempc does not model yet.
var hfMoEKeys = []string{"num_local_experts", "num_experts_per_tok", "num_experts", "n_routed_experts", "moe_intermediate_size"}

// hfMoETypes are mixture-of-experts model types, mapped to the family whose
// keys their configs share, so that all their problems are reported.
var hfMoETypes = map[string]string{"mixtral": "llama"}

// ReadHFConfig parses a Hugging Face config.json for the gpt2, llama (Llama 2
// and 3, grouped-query attention) and opt families. Options it does not
// model — other model types, mixture of experts (each expert field named),
// sliding-window attention, cross-attention, post-norm OPT, unknown
// activations or RoPE variants — are rejected by name, as are sizes that
// are missing, null, not integers, not positive, beyond tempc's limits
// (archLimits) or inconsistent (heads not dividing the hidden size,
// key/value heads not dividing the heads). All problems are returned
// together as an ErrorList with file positions.
func ReadHFConfig(file string, data []byte) (*Arch, error) {
	o, err := parse(file, data)
	if err != nil {
		return nil, err
	}
	e := &jsonpos.Errs{File: file, Prefix: "frontend"}
	mt, ok := o.Str(e, "model_type", true)
	if !ok {
		return nil, e.Err()
	}
	rejectUnsupported(e, o)
	family := mt
	if base, moe := hfMoETypes[mt]; moe {
		e.Add(o.FieldPos("model_type"), "model_type",
			"%s is a mixture-of-experts model, which tempc does not model (supported: gpt2, llama, opt)", echo(mt))
		family = base // read the rest, to report its other problems too
	}
	keys, known := hfKeys[family]
	if !known {
		e.Add(o.FieldPos("model_type"), "model_type", "unknown model_type %s (supported: gpt2, llama, opt)", echo(mt))
		return nil, e.Err()
	}
	a := &Arch{Name: hfName(o, file), Family: family}
	switch family {
	case "gpt2":
		readGPT2(e, o, a)
	case "llama":
		readLlama(e, o, a)
	case "opt":
		readOPT(e, o, a)
	}
	a.validate(e, o.FieldPos, keys)
	if err := e.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// hfName names the model after _name_or_path, else the folder holding a
// config.json, else the file.
func hfName(o *jsonpos.Object, file string) string {
	var p string
	if f, ok := o.Fields["_name_or_path"]; ok && json.Unmarshal(f.Raw, &p) == nil && p != "" {
		return filepath.Base(p)
	}
	base := filepath.Base(file)
	if base == "config.json" {
		if dir := filepath.Base(filepath.Dir(file)); dir != "." && dir != "/" {
			return dir
		}
	}
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func rejectUnsupported(e *jsonpos.Errs, o *jsonpos.Object) {
	for _, k := range hfMoEKeys {
		if o.Has(k) {
			e.Add(o.FieldPos(k), k, "mixture-of-experts configs are not supported")
		}
	}
	if o.Has("sliding_window") && o.Bool(e, "use_sliding_window", true) {
		e.Add(o.FieldPos("sliding_window"), "sliding_window", "sliding-window attention is not supported (set it to null)")
	}
	if o.Bool(e, "add_cross_attention", false) {
		e.Add(o.FieldPos("add_cross_attention"), "add_cross_attention", "cross-attention is not supported (decoder-only models only)")
	}
	if o.Bool(e, "is_encoder_decoder", false) {
		e.Add(o.FieldPos("is_encoder_decoder"), "is_encoder_decoder", "encoder-decoder models are not supported")
	}
}

// activation reads key (default def) and maps it to a priced function.
func activation(e *jsonpos.Errs, o *jsonpos.Object, key, def string) string {
	name, ok := o.Str(e, key, false)
	if !ok {
		name = def
	}
	fn, known := hfActivations[name]
	if !known {
		e.Add(o.FieldPos(key), key, "activation %s is not supported (supported: %s)", echo(name),
			strings.Join(sortedNames(hfActivations), ", "))
	}
	return fn
}

func readGPT2(e *jsonpos.Errs, o *jsonpos.Object, a *Arch) {
	a.Hidden, _ = o.Int(e, "n_embd", true)
	a.Layers, _ = o.Int(e, "n_layer", true)
	a.Heads, _ = o.Int(e, "n_head", true)
	a.KVHeads = a.Heads
	a.Vocab, _ = o.Int(e, "vocab_size", true)
	a.MaxPositions, _ = o.Int(e, "n_positions", true)
	if n, ok := o.Int(e, "n_inner", false); ok {
		a.FFN = n
	} else {
		// n_inner null means 4·n_embd; a bad n_embd is reported once, under
		// its own name, not again through the derived width.
		a.FFN = 4 * min(max(a.Hidden, 1), maxHidden)
	}
	a.Activation = activation(e, o, "activation_function", "gelu_new")
	a.Norm, a.LearnedPositions, a.NormBias, a.AttnBias, a.MLPBias = "layernorm", true, true, true, true
	a.TiedEmbeddings = o.Bool(e, "tie_word_embeddings", true)
	a.HeadDim = headDim(a)
}

func readLlama(e *jsonpos.Errs, o *jsonpos.Object, a *Arch) {
	a.Hidden, _ = o.Int(e, "hidden_size", true)
	a.Layers, _ = o.Int(e, "num_hidden_layers", true)
	a.Heads, _ = o.Int(e, "num_attention_heads", true)
	if kv, ok := o.Int(e, "num_key_value_heads", false); ok {
		a.KVHeads = kv
	} else {
		a.KVHeads = a.Heads // absent means multi-head attention
	}
	a.FFN, _ = o.Int(e, "intermediate_size", true)
	a.Vocab, _ = o.Int(e, "vocab_size", true)
	a.MaxPositions, _ = o.Int(e, "max_position_embeddings", true)
	a.Activation = activation(e, o, "hidden_act", "silu")
	a.Norm, a.GatedFFN = "rmsnorm", true
	a.TiedEmbeddings = o.Bool(e, "tie_word_embeddings", false)
	a.AttnBias = o.Bool(e, "attention_bias", false)
	a.MLPBias = o.Bool(e, "mlp_bias", false)
	a.HeadDim = headDim(a)
	if hd, ok := o.Int(e, "head_dim", false); ok {
		a.HeadDim = hd
	}
	if rs := o.Child(e, "rope_scaling"); rs != nil {
		key := "rope_type" // older configs call it type
		if !rs.Has(key) {
			key = "type"
		}
		typ, ok := rs.Str(e, key, false)
		supported := strings.Join(sortedNames(hfRopeTypes), ", ")
		switch {
		case !rs.Has(key):
			e.Add(o.FieldPos("rope_scaling"), "rope_scaling", "has no rope_type (supported: %s)", supported)
		case ok && !hfRopeTypes[typ]:
			e.Add(o.FieldPos("rope_scaling"), "rope_scaling", "RoPE variant %s is not supported (supported: %s)", echo(typ), supported)
		}
	}
	if o.Has("partial_rotary_factor") {
		e.Add(o.FieldPos("partial_rotary_factor"), "partial_rotary_factor", "partial rotary embeddings are not supported")
	}
}

func readOPT(e *jsonpos.Errs, o *jsonpos.Object, a *Arch) {
	a.Hidden, _ = o.Int(e, "hidden_size", true)
	a.Layers, _ = o.Int(e, "num_hidden_layers", true)
	a.Heads, _ = o.Int(e, "num_attention_heads", true)
	a.KVHeads = a.Heads
	a.FFN, _ = o.Int(e, "ffn_dim", true)
	a.Vocab, _ = o.Int(e, "vocab_size", true)
	a.MaxPositions, _ = o.Int(e, "max_position_embeddings", true)
	a.PositionOffset = 2 // OPT's learned position table has two extra rows
	if p, ok := o.Int(e, "word_embed_proj_dim", false); ok && p != a.Hidden {
		a.EmbedProjDim = p
	}
	a.Activation = activation(e, o, "activation_function", "relu")
	a.Norm, a.LearnedPositions = "layernorm", true
	bias := o.Bool(e, "enable_bias", true)
	a.AttnBias, a.MLPBias = bias, bias
	a.NormBias = true
	a.TiedEmbeddings = o.Bool(e, "tie_word_embeddings", true)
	a.HeadDim = headDim(a)
	if !o.Bool(e, "do_layer_norm_before", true) {
		e.Add(o.FieldPos("do_layer_norm_before"), "do_layer_norm_before", "post-norm OPT blocks are not supported")
	}
	if !o.Bool(e, "layer_norm_elementwise_affine", true) {
		e.Add(o.FieldPos("layer_norm_elementwise_affine"), "layer_norm_elementwise_affine", "norms without affine parameters are not supported")
	}
}

// headDim is Hidden/Heads when it divides, else 0 (Validate reports it).
func headDim(a *Arch) int64 {
	if a.Heads > 0 && a.Hidden%a.Heads == 0 {
		return a.Hidden / a.Heads
	}
	return 0
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
