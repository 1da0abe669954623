package wafer

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RandomFaults returns a copy of s with round(dieRate·dies) more dead dies
// and round(linkRate·links) more dead links (undirected, between
// neighbours), each set drawn uniformly with seed: the same seed and rates
// give the same map. The copy is named after s, the rates and the seed
// (mesh-d0.1-l0.05-s3). Rates outside [0, 1] are an error, as is a map
// the wafer cannot have (Validate: no live die left).
func RandomFaults(s *Spec, dieRate, linkRate float64, seed uint64) (*Spec, error) {
	for _, r := range []struct {
		name string
		v    float64
	}{{"die", dieRate}, {"link", linkRate}} {
		if !(r.v >= 0 && r.v <= 1) {
			return nil, fmt.Errorf("wafer: %s fault rate %g must lie in [0, 1]", r.name, r.v)
		}
	}
	f := *s
	f.Name = fmt.Sprintf("%s-d%g-l%g-s%d", s.Name, dieRate, linkRate, seed)
	rng := rand.New(rand.NewPCG(seed, math.Float64bits(dieRate)^math.Float64bits(linkRate)<<1))
	f.DeadDies = append([]Coord(nil), s.DeadDies...)
	for _, d := range rng.Perm(s.NumDies())[:int(math.Round(dieRate*float64(s.NumDies())))] {
		f.DeadDies = append(f.DeadDies, s.Coord(DieID(d)))
	}
	var links []DeadLink
	for d := DieID(0); int(d) < s.NumDies(); d++ {
		for _, dir := range []Dir{East, South} {
			if l, ok := s.LinkFrom(d, dir); ok {
				_, to := s.LinkEnds(l)
				links = append(links, DeadLink{A: s.Coord(d), B: s.Coord(to)})
			}
		}
	}
	f.DeadLinks = append([]DeadLink(nil), s.DeadLinks...)
	for _, i := range rng.Perm(len(links))[:int(math.Round(linkRate*float64(len(links))))] {
		f.DeadLinks = append(f.DeadLinks, links[i])
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}
