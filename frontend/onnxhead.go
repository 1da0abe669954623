package frontend

import "strings"

// onnxTable is an embedding table read by a Gather.
type onnxTable struct {
	node int
	base string
	rows int64
}

// head reads the LM head after the final norm, the embedding tables, and
// the context length; then checks that every 2-D weight was read, so that
// no parameters are dropped silently.
func (g *onnxGraph) head(a *Arch, final onnxNorm, lins, all []onnxLinear) bool {
	switch len(lins) {
	case 0:
		g.errorf(g.desc(final.at), "is the final norm, but no LM head projection follows it (export the model with its LM head)")
		return false
	case 1:
	default:
		g.errorf(g.desc(lins[1].node), "is a second projection after the final norm %s; want the LM head only", g.desc(final.at))
		return false
	}
	lm := lins[0]
	switch {
	case lm.in != a.Hidden:
		g.errorf(g.desc(lm.node), "projects %d inputs; want the hidden size %d", lm.in, a.Hidden)
		return false
	case lm.bias:
		g.errorf(g.desc(lm.node), "has a bias, which tempc's LM head does not model")
		return false
	}
	a.Vocab = lm.out
	token, position, ok := g.tables(a.Hidden, a.Vocab)
	if !ok {
		return false
	}
	if token.rows != a.Vocab {
		g.errorf(g.desc(lm.node), "has %d outputs, but the token embedding %s has %d rows", a.Vocab, echo(token.base), token.rows)
		return false
	}
	used := map[string]bool{token.base: true}
	for _, l := range all {
		used[l.weight] = true
	}
	a.TiedEmbeddings = lm.weight == token.base
	a.Family = "llama"
	if position != nil {
		a.Family, a.LearnedPositions, a.MaxPositions = "gpt2", true, position.rows
		used[position.base] = true
	}
	if !a.LearnedPositions && !g.rotaryCaches(a, used) {
		return false
	}
	return g.checkWeights(used)
}

// tables finds the embedding tables (Gather on a 2-D constant of hidden
// columns) and tells the token table from the position table: the token
// table's rows are the LM head's outputs (vocab); when both tables have
// that many, the token table is the one indexed by the input_ids input.
func (g *onnxGraph) tables(hidden, vocab int64) (token, position *onnxTable, ok bool) {
	var ts []onnxTable
	seen := map[string]bool{}
	for i, n := range g.nodes {
		if !is(n, "Gather", false) || intAttr(n, "axis", 0) != 0 {
			continue
		}
		if base, rows, cols, ok := g.matrix(input(n, 0)); ok && cols == hidden && !seen[base] {
			seen[base] = true
			ts = append(ts, onnxTable{node: i, base: base, rows: rows})
		}
	}
	switch len(ts) {
	case 0:
		g.errorf("", "no token embedding: no Gather reads a [vocab, %d] table", hidden)
		return nil, nil, false
	case 1:
		return &ts[0], nil, true
	case 2:
		v0, v1 := ts[0].rows == vocab, ts[1].rows == vocab
		if v0 && v1 {
			v0, v1 = g.readsTokens(ts[0].node), g.readsTokens(ts[1].node)
		}
		switch {
		case v0 && !v1:
			return &ts[0], &ts[1], true
		case v1 && !v0:
			return &ts[1], &ts[0], true
		}
		g.errorf(g.desc(ts[0].node), "and %s read [%d, %d] and [%d, %d] tables; cannot tell the token embedding (of %d rows, as the LM head) from the position embedding",
			g.desc(ts[1].node), ts[0].rows, hidden, ts[1].rows, hidden, vocab)
	default:
		g.errorf(g.desc(ts[2].node), "reads a third embedding table %s; want a token table and at most a position table", echo(ts[2].base))
	}
	return nil, nil, false
}

// readsTokens tells whether the Gather at i is indexed by the graph input
// input_ids (through casts and reshapes).
func (g *onnxGraph) readsTokens(i int) bool {
	v := input(g.nodes[i], 1)
	for hop := 0; hop <= maxPathHops; hop++ {
		if g.inputs[v] {
			return strings.Contains(v, "input_ids")
		}
		n, _ := g.producer(v)
		if n == nil {
			return false
		}
		switch n.GetOpType() {
		case "Cast", "Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten":
			v = input(n, 0)
		default:
			return false
		}
	}
	return false
}

// rotaryCaches finds the rotary cos and sin tables of a rotary model
// ([positions, head_dim] or [positions, head_dim/2], read by Gather, Slice
// or a rotary or grouped-query attention operator) and takes the context
// length from their rows.
func (g *onnxGraph) rotaryCaches(a *Arch, used map[string]bool) bool {
	rows := int64(0)
	for i, n := range g.nodes {
		var ins []string
		switch {
		case is(n, "Gather", false), is(n, "Slice", false):
			ins = []string{input(n, 0)}
		case n.GetOpType() == "RotaryEmbedding", is(n, "GroupQueryAttention", true):
			ins = n.GetInput()
		}
		for _, in := range ins {
			base, r, c, ok := g.matrix(in)
			if !ok || used[base] {
				continue
			}
			if c != a.HeadDim && 2*c != a.HeadDim {
				g.errorf(g.desc(i), "reads %s of %d columns as a rotary table; want the head width %d or half of it", echo(base), c, a.HeadDim)
				return false
			}
			if rows != 0 && r != rows {
				g.errorf(g.desc(i), "reads a rotary table %s of %d rows; another has %d", echo(base), r, rows)
				return false
			}
			rows = r
			used[base] = true
		}
	}
	a.MaxPositions = rows
	return true
}

// checkWeights reports 2-D constants read by a projection or a Gather that
// recognition did not take as a weight.
func (g *onnxGraph) checkWeights(used map[string]bool) bool {
	ok := true
	for i, n := range g.nodes {
		var ins []string
		switch {
		case is(n, "MatMul", false):
			ins = n.GetInput()
		case is(n, "Gemm", false), is(n, "Attention", true):
			ins = []string{input(n, 0), input(n, 1)}
		case is(n, "Gather", false):
			ins = []string{input(n, 0)}
		}
		for _, in := range ins {
			if base, r, c, isW := g.matrix(in); isW && !used[base] {
				g.errorf(g.desc(i), "reads the [%d, %d] weight %s, which is not part of a recognised decoder", r, c, echo(base))
				used[base], ok = true, false
			}
		}
	}
	return ok
}
