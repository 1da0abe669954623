package partition_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// hfShape is the sizes of a published Hugging Face config.json as
// readHFShape reads them: with encoding/json and the field names of each
// family (REFERENCE.md), apart from the frontend's reader, so that it can
// judge what was built from the config.
type hfShape struct {
	layers, hidden, heads, kvHeads, ffn, vocab int64
	// positions is the rows of a learned position table (0 with RoPE).
	positions int64
	// attnBias and mlpBias add biases to the attention and MLP projections.
	gated, tied, attnBias, mlpBias, rmsNorm bool
}

func readHFShape(t *testing.T, path string) hfShape {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	num := func(key string, def int64) int64 {
		if v, ok := c[key].(float64); ok {
			return int64(v)
		}
		return def
	}
	flag := func(key string, def bool) bool {
		if v, ok := c[key].(bool); ok {
			return v
		}
		return def
	}
	var s hfShape
	switch c["model_type"] {
	case "gpt2": // n_inner null means 4·n_embd; biases throughout
		s = hfShape{layers: num("n_layer", 0), hidden: num("n_embd", 0), heads: num("n_head", 0),
			vocab: num("vocab_size", 0), positions: num("n_positions", 0), tied: flag("tie_word_embeddings", true), attnBias: true, mlpBias: true}
		s.ffn = num("n_inner", 4*s.hidden)
	case "llama":
		s = hfShape{layers: num("num_hidden_layers", 0), hidden: num("hidden_size", 0), heads: num("num_attention_heads", 0),
			ffn: num("intermediate_size", 0), vocab: num("vocab_size", 0), gated: true, rmsNorm: true,
			tied: flag("tie_word_embeddings", false), attnBias: flag("attention_bias", false), mlpBias: flag("mlp_bias", false)}
	case "opt": // the learned position table has two extra rows
		s = hfShape{layers: num("num_hidden_layers", 0), hidden: num("hidden_size", 0), heads: num("num_attention_heads", 0),
			ffn: num("ffn_dim", 0), vocab: num("vocab_size", 0), positions: num("max_position_embeddings", 0) + 2,
			tied: flag("tie_word_embeddings", true), attnBias: flag("enable_bias", true), mlpBias: flag("enable_bias", true)}
	default:
		t.Fatalf("%s: model_type %v is not one this test reads", path, c["model_type"])
	}
	s.kvHeads = num("num_key_value_heads", s.heads)
	return s
}

// norms is the parameters of the norms: one before attention and one
// before the MLP in every layer, one final; a scale each, and a shift
// unless RMSNorm.
func (s hfShape) norms() int64 {
	n := (2*s.layers + 1) * s.hidden
	if !s.rmsNorm {
		n *= 2
	}
	return n
}

// params is the parameter count by closed form: embeddings, the attention
// and MLP projections of every layer (with their biases), the norms, and an
// LM head unless it is tied to the token embedding.
func (s hfShape) params() int64 {
	// A projection from k to n has k·n weights, and n biases if any.
	proj := func(k, n int64, bias bool) int64 {
		if bias {
			return (k + 1) * n
		}
		return k * n
	}
	qkv := s.hidden + 2*s.kvHeads*(s.hidden/s.heads)
	layer := proj(s.hidden, qkv, s.attnBias) + proj(s.hidden, s.hidden, s.attnBias) +
		proj(s.hidden, s.ffn, s.mlpBias) + proj(s.ffn, s.hidden, s.mlpBias)
	if s.gated {
		layer += proj(s.hidden, s.ffn, s.mlpBias) // the gate
	}
	n := (s.vocab+s.positions)*s.hidden + s.layers*layer + s.norms()
	if !s.tied {
		n += s.vocab * s.hidden
	}
	return n
}

// TestHFTestdataSpace builds the strategy space of real published configs
// (../testdata/hf; the frontend's tests check they load) on a 4×4 wafer
// and checks it against the config read independently: the op groups and
// the layers each stands for, the attention shape (grouped-query K/V), and
// the parameters — those the groups own plus the replicated norm weights
// — against the closed-form count.
func TestHFTestdataSpace(t *testing.T) {
	dirs := []string{"openai-community--gpt2-large", "openai-community--gpt2-xl", "facebook--opt-1.3b",
		"meta-llama--Llama-2-7b-hf", "meta-llama--Llama-2-70b-hf", "meta-llama--Meta-Llama-3.1-8B",
		"meta-llama--Meta-Llama-3.1-70B"}
	spec, _ := wafer.Preset("mesh4x4")
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "hf", dir)
			want := readHFShape(t, filepath.Join(path, "config.json"))
			g, err := frontend.Load(path, frontend.Options{Batch: 16, Seq: 512})
			if err != nil {
				t.Fatal(err)
			}
			sp, err := partition.Build(g, spec, partition.Config{})
			if err != nil {
				t.Fatal(err)
			}
			checkGroups(t, sp, want)
			var owned int64
			for _, grp := range sp.Groups {
				owned += grp.Params
			}
			if owned != want.params()-want.norms() || int64(sp.ReplicatedParams) != want.norms() {
				t.Errorf("groups own %d and %v are replicated, want %d and %d (%d in all)",
					owned, sp.ReplicatedParams, want.params()-want.norms(), want.norms(), want.params())
			}
		})
	}
}

// checkGroups checks the op groups of a space against the config's shape.
func checkGroups(t *testing.T, sp *partition.Space, want hfShape) {
	t.Helper()
	keys := []string{"embed/embedding", "block/attn.qkv", "block/attn.core", "block/attn.out", "block/mlp.gate",
		"block/mlp.up", "block/mlp.down", "head/lm_head"}
	if !want.gated {
		keys = slices.DeleteFunc(keys, func(k string) bool { return k == "block/mlp.gate" })
	}
	var got []string
	for _, grp := range sp.Groups {
		got = append(got, grp.Key)
		block := grp.Key != "embed/embedding" && grp.Key != "head/lm_head"
		if block && int64(grp.Mult) != want.layers {
			t.Errorf("%s stands for %d layers, want %d", grp.Key, grp.Mult, want.layers)
		}
		headDim := want.hidden / want.heads
		switch grp.Key {
		case "block/attn.qkv":
			if n := (want.heads + 2*want.kvHeads) * headDim; grp.K != want.hidden || grp.N != n {
				t.Errorf("qkv is %d×%d, want %d×%d", grp.K, grp.N, want.hidden, n)
			}
		case "block/attn.core":
			if grp.Heads != want.heads || grp.KVHeads != want.kvHeads || grp.HeadDim != headDim {
				t.Errorf("attention has %d heads, %d K/V heads of %d, want %d, %d of %d",
					grp.Heads, grp.KVHeads, grp.HeadDim, want.heads, want.kvHeads, headDim)
			}
		case "block/mlp.down":
			if grp.K != want.ffn {
				t.Errorf("down projection from %d, want %d", grp.K, want.ffn)
			}
		case "head/lm_head":
			// A tied head owns no weight but still uses the whole table.
			if (grp.Params == 0) != want.tied || grp.WeightElems != want.vocab*want.hidden {
				t.Errorf("lm_head owns %d of %d weights; tied %v", grp.Params, grp.WeightElems, want.tied)
			}
		}
	}
	if !slices.Equal(got, keys) {
		t.Errorf("groups %v, want %v", got, keys)
	}
}
