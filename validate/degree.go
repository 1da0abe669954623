package validate

import (
	"fmt"
	"slices"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
	"github.com/tempc/tempc/wafer/sim"
)

// Degree is one stream degree of a sweep: a linear layer's weight stream
// (ring-w, TSPP; relay-w, TATP) over Degree dies of a group of GroupDies
// (the whole group, or its sub-chains at once), one micro-batch of its
// forward and backward passes, priced and simulated.
type Degree struct {
	Scheme    string `json:"scheme"`
	Degree    int    `json:"degree"`
	Group     string `json:"group"`
	GroupDies int    `json:"group_dies"`
	// WeightBytes is the layer's weight each die keeps.
	WeightBytes float64 `json:"weight_bytes_per_die"`
	Resident    bool    `json:"blocks_in_sram"`
	Analytic    float64 `json:"predicted_seconds"`
	Simulated   float64 `json:"simulated_seconds"`
}

// degreeRects are the group rectangles of a sweep, by size.
var degreeRects = []wafer.Rect{{Rows: 1, Cols: 2}, {Rows: 2, Cols: 2}, {Rows: 2, Cols: 4}, {Rows: 3, Cols: 4},
	{Rows: 2, Cols: 8}, {Rows: 3, Cols: 8}, {Rows: 6, Cols: 8}}

// DegreeSweep streams group key of model (at the given batch and
// sequence, micro-batches of seqs sequences per group) over groups of 2 to
// 48 dies on s — those rectangles s holds — with ring-w on the group's
// Hamiltonian cycle (its snake closed by a wrap-around where there is
// none, as the planner does) and relay-w on its snake; then, on the
// largest of those groups, relay-w on its sub-chains of every degree the
// planner offers (partition.SubChainDegrees), all at once, each die
// keeping its tokens. It returns each degree's forward plus backward
// time, priced and simulated as `tempc validate` does its stream-large
// class.
func DegreeSweep(model, key string, s *wafer.Spec, batch, seq int64, seqs int) ([]Degree, error) {
	groups, err := groupsOf(model, s, batch, seq, seqs)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(groups, func(g partition.Group) bool { return g.Key == key })
	if i < 0 {
		return nil, fmt.Errorf("validate: %s has no op group %s", model, key)
	}
	grp := &groups[i]
	m, err := costmodel.New(s, costmodel.Params{})
	if err != nil {
		return nil, err
	}
	per := float64(seqs) / float64(batch) / float64(grp.Mult)
	var out []Degree
	for _, r := range degreeRects {
		if !s.Contains(r) {
			continue
		}
		chain := s.Snake(r)
		cycle, ok := s.Cycle(r)
		if !ok {
			cycle = chain
		}
		for _, sc := range []partition.Scheme{partition.RingW, partition.RelayW} {
			mv := costmodel.SchemeMove(s, grp, sc, float64(r.Size()), per, float64(seqs)*float64(seq), seq)
			d := Degree{Scheme: sc.String(), Degree: r.Size(), Group: fmt.Sprintf("%dx%d", r.Rows, r.Cols), GroupDies: r.Size(),
				WeightBytes: 2 * float64(grp.WeightElems) / float64(r.Size()), Resident: mv.Resident}
			groups := [][]wafer.DieID{cycle}
			if sc == partition.RelayW {
				groups = [][]wafer.DieID{chain}
			}
			if err := d.measure(s, m, sc == partition.RelayW, groups, mv); err != nil {
				return nil, fmt.Errorf("validate: %s on %d dies: %w", sc, r.Size(), err)
			}
			out = append(out, d)
		}
	}
	// Sub-chains of the largest group.
	var big wafer.Rect
	for _, r := range degreeRects {
		if s.Contains(r) {
			big = r
		}
	}
	if big.Size() < 2 {
		return out, nil
	}
	P := big.Size()
	l := partition.Layout{DP: 1, Shape: big}
	chain := s.Snake(big)
	for _, deg := range partition.SubChainDegrees(&l) {
		mv := costmodel.DegreeMove(s, grp, partition.RelayW, float64(P), deg, per, float64(seqs)*float64(seq), seq)
		d := Degree{Scheme: "relay-w/sub-chains", Degree: deg, Group: fmt.Sprintf("%dx%d", big.Rows, big.Cols), GroupDies: P,
			WeightBytes: 2 * float64(grp.WeightElems) / float64(deg), Resident: mv.Resident}
		if err := d.measure(s, m, true, partition.SubChains([][]wafer.DieID{chain}, deg), mv); err != nil {
			return nil, fmt.Errorf("validate: relay-w on sub-chains of %d dies: %w", deg, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// measure adds to d the streams of mv's passes on groups (rings, or
// chains for a relay), at once: priced and simulated.
func (d *Degree) measure(s *wafer.Spec, m *costmodel.Model, relay bool, groups [][]wafer.DieID, mv costmodel.Move) error {
	for _, ps := range []costmodel.Pass{mv.Fwd, mv.Bwd} {
		for _, st := range ps.Streams {
			c := streamsCase(s, "", relay, groups, st, mv)
			a, err := c.Analytic(m)
			if err != nil {
				return err
			}
			var p plan.Program
			c.Build(&p)
			res, err := sim.Run(s, &p, sim.Config{})
			if err != nil {
				return err
			}
			d.Analytic += a
			d.Simulated += res.Makespan
		}
	}
	return nil
}
