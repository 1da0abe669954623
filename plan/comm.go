package plan

import (
	"sort"

	"github.com/tempc/tempc/wafer"
)

// Comm is a block's communication program: per die the DMA descriptors it
// issues (its sends, in program order), per directed link the transfers
// that cross it (in program order, which is the order each link's DMA
// engines issue them).
type Comm struct {
	DMA   map[wafer.DieID][]TaskID
	Links map[wafer.LinkID][]TaskID
}

// Comm derives the communication program of the block; sends without a
// route take the default (XY) route, as the simulator does.
func (p *Program) Comm(s *wafer.Spec) (Comm, error) {
	c := Comm{DMA: map[wafer.DieID][]TaskID{}, Links: map[wafer.LinkID][]TaskID{}}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		if t.Kind != Send && t.Kind != Transfer {
			continue
		}
		c.DMA[t.Die] = append(c.DMA[t.Die], t.ID)
		route := t.Route
		if route == nil {
			r, err := s.Route(t.Die, t.Dst, wafer.XY)
			if err != nil {
				return Comm{}, err
			}
			route = r
		}
		for _, l := range s.Links(route) {
			c.Links[l] = append(c.Links[l], t.ID)
		}
	}
	return c, nil
}

// Busiest returns the link with the most transfers (lowest ID on a tie)
// and their number.
func (c Comm) Busiest() (wafer.LinkID, int) {
	links := make([]wafer.LinkID, 0, len(c.Links))
	for l := range c.Links {
		links = append(links, l)
	}
	sort.Slice(links, func(i, j int) bool { return links[i] < links[j] })
	best, n := wafer.LinkID(-1), 0
	for _, l := range links {
		if len(c.Links[l]) > n {
			best, n = l, len(c.Links[l])
		}
	}
	return best, n
}
