package wafer

import "fmt"

// Tree is a multicast: one payload from Src to every die of Dsts along a
// tree. Edges run between the dies that hold the payload — the source, the
// destinations, and the dies where the tree branches — each a route whose
// intermediate dies only pass the payload on; a parent's edge comes before
// its children's.
type Tree struct {
	Src   DieID
	Dsts  []DieID
	Edges []Route
}

// Merge merges unicast routes from one source into a multicast tree:
// where routes share a prefix, the payload crosses the shared links once
// and is copied where they part. A die reached by two routes keeps the
// path of the first. Routes must be non-empty and start at the same die.
func Merge(routes []Route) (Tree, error) {
	if len(routes) == 0 {
		return Tree{}, fmt.Errorf("wafer: a multicast needs at least one route")
	}
	src := routes[0][0]
	parent := map[DieID]DieID{src: src}
	children := map[DieID][]DieID{}
	t := Tree{Src: src}
	seen := map[DieID]bool{}
	for i, r := range routes {
		if len(r) == 0 || r[0] != src {
			return Tree{}, fmt.Errorf("wafer: multicast route %d does not start at the source die %d", i, src)
		}
		for k := 1; k < len(r); k++ {
			if _, ok := parent[r[k]]; !ok {
				parent[r[k]] = r[k-1]
				children[r[k-1]] = append(children[r[k-1]], r[k])
			}
		}
		if d := r[len(r)-1]; d != src && !seen[d] {
			seen[d] = true
			t.Dsts = append(t.Dsts, d)
		}
	}
	// Holders: the source, the destinations and the branch dies. Walk the
	// tree depth-first from the source, cutting an edge at every holder.
	holder := func(d DieID) bool { return d == src || seen[d] || len(children[d]) > 1 }
	type item struct {
		d    DieID
		path Route // from the last holder to d
	}
	stack := []item{{src, Route{src}}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.d != src && holder(it.d) {
			t.Edges = append(t.Edges, it.path)
			it.path = Route{it.d}
		}
		kids := children[it.d]
		for k := len(kids) - 1; k >= 0; k-- {
			stack = append(stack, item{kids[k], append(append(Route(nil), it.path...), kids[k])})
		}
	}
	return t, nil
}

// Links is the number of links the tree uses (each crossed once), against
// which the unicast routes' total measures what merging saved.
func (t Tree) Links() int {
	n := 0
	for _, e := range t.Edges {
		n += len(e) - 1
	}
	return n
}

// Depth is the most edges on a path from the source to a destination.
func (t Tree) Depth() int {
	depth := map[DieID]int{t.Src: 0}
	most := 0
	for _, e := range t.Edges {
		d := depth[e[0]] + 1
		depth[e[len(e)-1]] = d
		most = max(most, d)
	}
	return most
}
