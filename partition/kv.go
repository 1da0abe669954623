package partition

import "github.com/tempc/tempc/wafer"

// KVShare says, when an attention group's query heads are dealt to P dies
// (the Heads scheme), which dies need each die's slice of K and V.
//
// Query head h runs on die ⌊h·P/H⌋ (contiguous blocks of heads, dies in
// chain order) and reads KV head ⌊h·KV/H⌋ (grouped-query attention). The
// projection producing K and V deals whole KV heads when there are at
// least as many as dies (KV head k on die ⌊k·P/KV⌋), else splits their
// columns evenly: die j holds columns [j·C/P, (j+1)·C/P) of K and of V,
// C = KV·headDim. When a die reads a KV head that other dies hold — always
// when P > KV, never for multi-head attention — those dies multicast
// their slices to it before the attention, and the gradients flow back
// the same way. KVShare returns, per die j, the other dies that read j's
// slice (nil when no die needs another's).
func KVShare(heads, kvHeads, headDim, p int64) [][]int {
	if p <= 1 || heads <= 0 || kvHeads <= 0 || headDim <= 0 {
		return nil
	}
	// Die i reads KV heads needLo[i]..needHi[i].
	needLo, needHi := make([]int64, p), make([]int64, p)
	for i := range needLo {
		needLo[i], needHi[i] = -1, -2
	}
	for h := int64(0); h < heads; h++ {
		i, kv := h*p/heads, h*kvHeads/heads
		if needLo[i] < 0 {
			needLo[i] = kv
		}
		needHi[i] = kv
	}
	out := make([][]int, p)
	shared := false
	for j := int64(0); j < p; j++ {
		kLo, kHi := kvHeld(kvHeads, headDim, p, j) // KV heads the slice touches
		if kHi < kLo {
			continue
		}
		for i := int64(0); i < p; i++ {
			if i != j && needLo[i] >= 0 && needLo[i] <= kHi && kLo <= needHi[i] {
				out[j] = append(out[j], int(i))
				shared = true
			}
		}
	}
	if !shared {
		return nil
	}
	return out
}

// kvHeld is the range of KV heads die j's slice of K and V touches (empty
// when hi < lo).
func kvHeld(kvHeads, headDim, p, j int64) (lo, hi int64) {
	if p <= kvHeads { // whole heads: k with ⌊k·P/KV⌋ = j
		return (j*kvHeads + p - 1) / p, ((j+1)*kvHeads+p-1)/p - 1
	}
	cols := kvHeads * headDim
	c0, c1 := j*cols/p, (j+1)*cols/p // columns [c0, c1)
	if c1 <= c0 {
		return 0, -1
	}
	return c0 / headDim, (c1 - 1) / headDim
}

// KVSliceColumns is the most columns of K (and of V) one die of P holds.
func KVSliceColumns(kvHeads, headDim, p int64) int64 {
	if p <= kvHeads {
		return (kvHeads + p - 1) / p * headDim
	}
	return (kvHeads*headDim + p - 1) / p
}

// KVNeeded is the most KV heads one die reads when query heads are dealt
// as in KVShare: the K and V it holds whole while it computes attention.
func KVNeeded(heads, kvHeads, p int64) int64 {
	if p <= 0 || heads <= 0 || kvHeads <= 0 {
		return 0
	}
	var most, lo, i int64 = 0, -1, -1
	for h := int64(0); h < heads; h++ {
		d, kv := h*p/heads, h*kvHeads/heads
		if d != i {
			i, lo = d, kv
		}
		most = max(most, kv-lo+1)
	}
	return most
}

// KVTrees builds the multicast of every die's K and V slice to the dies
// that read it (KVShare) along the group's chain: the unicast routes run
// along the chain, and merging them sends each slice once over every
// chain link it crosses, copied on at each reader.
func KVTrees(chain []wafer.DieID, share [][]int) []wafer.Tree {
	var trees []wafer.Tree
	for j, dsts := range share {
		if len(dsts) == 0 {
			continue
		}
		var routes []wafer.Route
		for _, i := range dsts {
			var r wafer.Route
			for k := j; ; {
				r = append(r, chain[k])
				if k == i {
					break
				}
				if i > j {
					k++
				} else {
					k--
				}
			}
			routes = append(routes, r)
		}
		t, _ := wafer.Merge(routes) // routes share their source
		trees = append(trees, t)
	}
	return trees
}
