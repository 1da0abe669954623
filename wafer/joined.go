package wafer

import "fmt"

// Seam marks a Spec as the wafers of a cluster joined into one mesh
// (Joined): the mesh is cut every Cols columns into wafers, and the links
// that cross a cut, one per row and direction, are inter-wafer links with
// figures of their own. Every other link is a die-to-die link of Spec.Link.
type Seam struct {
	// Cols is the width of one wafer in columns: the east link of column
	// c and the west link of column c+1 cross between wafers when c+1 is a
	// multiple of Cols.
	Cols int
	// Link is one inter-wafer link direction's figures: the Cluster's
	// latency, energy and static power, and its edge bandwidth shared by
	// the rows (Cluster.LinkBandwidth).
	Link Link
}

// Joined returns the wafers of s's cluster as one Spec: a Rows × (N·Cols)
// mesh of N wafers side by side, wafer k in columns [k·Cols, (k+1)·Cols),
// so that the east edge of wafer k meets the west edge of wafer k+1 as
// Cluster describes. Every wafer has s's dies, links, kernels and energy
// figures and s's dead dies and links, shifted to its columns; the links
// between neighbouring wafers carry the cluster's figures (Seam). The
// joined Spec is named after s and the wafer count ("temp48×3"), has no
// Cluster, and is validated. A Spec without a cluster is an error: there
// is nothing to join.
//
// A joined Spec is a working form for the stages that route and replay
// traffic across wafers; the cluster's wafer file is what is stored
// (WriteJSON refuses a joined Spec).
func (s *Spec) Joined() (*Spec, error) {
	c := s.Cluster
	if c == nil {
		return nil, fmt.Errorf("wafer: %s describes one wafer, not a cluster: there are no wafers to join", s.Name)
	}
	one := *s // validated as a copy: Joined does not write to s
	if err := one.Validate(); err != nil {
		return nil, err
	}
	j := *s
	j.Name = fmt.Sprintf("%s×%d", s.Name, c.Wafers)
	j.Cols = s.Cols * c.Wafers
	j.Cluster = nil
	j.Seam = &Seam{Cols: s.Cols, Link: Link{Bandwidth: c.LinkBandwidth(s), Latency: c.Latency,
		JoulesPerBit: c.JoulesPerBit, StaticWatts: c.StaticWatts}}
	j.DeadDies = make([]Coord, 0, c.Wafers*len(s.DeadDies))
	j.DeadLinks = make([]DeadLink, 0, c.Wafers*len(s.DeadLinks))
	for w := range c.Wafers {
		shift := func(p Coord) Coord { return Coord{p.R, p.C + w*s.Cols} }
		for _, d := range s.DeadDies {
			j.DeadDies = append(j.DeadDies, shift(d))
		}
		for _, l := range s.DeadLinks {
			j.DeadLinks = append(j.DeadLinks, DeadLink{shift(l.A), shift(l.B)})
		}
	}
	j.dead, j.deadLink = nil, nil
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return &j, nil
}

// OnSeam reports whether link l of the mesh crosses between two wafers of
// a joined Spec (always false without a Seam).
func (s *Spec) OnSeam(l LinkID) bool {
	if s.Seam == nil {
		return false
	}
	c := int(l/4) % s.Cols
	switch Dir(l % 4) {
	case East:
		return c+1 < s.Cols && (c+1)%s.Seam.Cols == 0
	case West:
		return c > 0 && c%s.Seam.Cols == 0
	}
	return false
}

// LinkFigures returns the figures of link l: the Seam's for a link
// between two wafers of a joined Spec, Link's for every other. It is
// arithmetic on l alone, cheap enough for every packet hop of a
// simulation; the result points into s and must not be changed.
func (s *Spec) LinkFigures(l LinkID) *Link {
	if s.OnSeam(l) {
		return &s.Seam.Link
	}
	return &s.Link
}

// Wafers counts the wafers s describes: the cluster's, those joined by a
// Seam, or 1.
func (s *Spec) Wafers() int {
	switch {
	case s.Cluster != nil:
		return s.Cluster.Wafers
	case s.Seam != nil && s.Seam.Cols > 0:
		return s.Cols / s.Seam.Cols
	}
	return 1
}

// WaferOf is the wafer of a joined Spec that die d belongs to, counted
// from the west (0 without a Seam).
func (s *Spec) WaferOf(d DieID) int {
	if s.Seam == nil {
		return 0
	}
	return int(d) % s.Cols / s.Seam.Cols
}

// OnWafer maps die local of one wafer (a DieID on a Rows × Seam.Cols
// mesh, as the cluster's own Spec numbers it) to its DieID on wafer w of
// a joined Spec. Without a Seam the only wafer is 0 and local is
// returned as it is. A wafer or die that does not exist is a bug and
// panics.
func (s *Spec) OnWafer(w int, local DieID) DieID {
	cols := s.Cols
	if s.Seam != nil {
		cols = s.Seam.Cols
	}
	if w < 0 || w >= s.Cols/cols || local < 0 || int(local) >= s.Rows*cols {
		panic(fmt.Sprintf("wafer: %s has no die %d on wafer %d", s.Name, local, w))
	}
	return s.ID(Coord{int(local) / cols, w*cols + int(local)%cols})
}

// seamLimits are the plausible ranges of a seam's figures: those of the
// Cluster it comes from (clusterLimits), its edge bandwidth shared by up
// to maxDies rows.
var seamLimits = []limit{
	{field: "seam.bandwidth_tbps", unit: "TB/s", min: 1e-3 / maxDies, max: 1e5,
		spec: func(s *Spec) float64 { return s.Seam.Link.Bandwidth / tera }},
	{field: "seam.latency_ns", unit: "ns", min: 0, max: 1e7,
		spec: func(s *Spec) float64 { return toNano(s.Seam.Link.Latency) }},
	{field: "seam.pj_per_bit", unit: "pJ/bit", min: 0, max: 1e4,
		spec: func(s *Spec) float64 { return toPico(s.Seam.Link.JoulesPerBit) }},
	{field: "seam.static_w", unit: "W", min: 1e-3, max: 1e5,
		spec: func(s *Spec) float64 { return s.Seam.Link.StaticWatts }},
}

// seamProblems checks a joined Spec's seam: its figures against
// seamLimits, its wafer width against the mesh (checked to be valid
// first), and that it describes no cluster itself.
func (s *Spec) seamProblems() []problem {
	var ps []problem
	for i := range seamLimits {
		if msg := seamLimits[i].check(seamLimits[i].spec(s)); msg != "" {
			ps = append(ps, problem{seamLimits[i].field, -1, msg})
		}
	}
	if n := s.Seam.Cols; n < 1 || s.Cols%n != 0 {
		ps = append(ps, problem{"seam.cols", -1, fmt.Sprintf("seam.cols %d must be positive and divide the mesh's %d columns", n, s.Cols)})
	}
	if s.Cluster != nil {
		ps = append(ps, problem{"cluster", -1, "a joined wafer (with a seam) cannot describe a cluster of its own"})
	}
	return ps
}
