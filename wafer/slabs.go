package wafer

import "fmt"

// Cut is one way to divide a wafer into equal slabs for on-wafer pipeline
// parallelism: Stages slabs of whole columns (each Rows × Cols/Stages),
// or, with AcrossRows, of whole rows (each Rows/Stages × Cols).
type Cut struct {
	Stages     int
	AcrossRows bool
}

// String names the cut: "2 slabs of columns", "6 slabs of rows".
func (c Cut) String() string {
	if c.AcrossRows {
		return fmt.Sprintf("%d slabs of rows", c.Stages)
	}
	return fmt.Sprintf("%d slabs of columns", c.Stages)
}

// Shape is the rows and columns of one slab of c on s, as it lies on the
// wafer.
func (c Cut) Shape(s *Spec) (rows, cols int) {
	if c.AcrossRows {
		return s.Rows / c.Stages, s.Cols
	}
	return s.Rows, s.Cols / c.Stages
}

// Cuts lists the ways to cut s into at least two equal slabs of whole
// columns or whole rows: a divisor of Cols or of Rows each, columns
// first, fewest stages first. A square wafer's row cuts repeat its column
// cuts turned and are left out. A wafer with dead dies or links has no
// cuts (its slabs would differ, and a pipeline's stages share one plan
// shape per wafer: Slabs).
func (s *Spec) Cuts() []Cut {
	if len(s.DeadDies)+len(s.DeadLinks) > 0 || s.Cluster != nil || s.Seam != nil {
		return nil
	}
	var out []Cut
	for p := 2; p <= s.Cols; p++ {
		if s.Cols%p == 0 {
			out = append(out, Cut{Stages: p})
		}
	}
	if s.Rows == s.Cols {
		return out
	}
	for p := 2; p <= s.Rows; p++ {
		if s.Rows%p == 0 {
			out = append(out, Cut{Stages: p, AcrossRows: true})
		}
	}
	return out
}

// Slabs describes the wafer s cut by c as a cluster (Cluster) of c.Stages
// identical slabs, the form pipeline planning takes: each slab is one
// "wafer" of the cluster, and the die-to-die links between two slabs, one
// per row of the slab, are its inter-wafer links, with s's link figures
// (EdgeBandwidth the links' bandwidth together). The cluster joined
// (Joined) is s itself, die for die, or, for a cut across rows, s
// transposed: slabs of whole rows are planned as slabs of whole columns of
// the transposed wafer (die (r, c) of the plan is die (c, r) of s), which
// the mesh's symmetry makes the same machine — every link has s's
// figures in both directions and no die is dead.
//
// The Spec is named after s and the slab shape as it lies on s
// ("temp48.rows1x8": six slabs of one row of eight dies). A wafer with
// faults, or s itself a cluster or joined mesh, is an error: slabs of a
// faulty wafer differ, and a cluster's wafers are identical.
func (s *Spec) Slabs(c Cut) (*Spec, error) {
	if len(s.DeadDies)+len(s.DeadLinks) > 0 {
		return nil, fmt.Errorf("wafer: %s has %d dead dies and %d dead links: its slabs would differ, and on-wafer pipeline stages are planned as identical slabs; plan it without pipelining", s.Name, len(s.DeadDies), len(s.DeadLinks))
	}
	if err := s.SingleWafer(); err != nil {
		return nil, err
	}
	n := s.Cols
	if c.AcrossRows {
		n = s.Rows
	}
	if c.Stages < 2 || n%c.Stages != 0 {
		return nil, fmt.Errorf("wafer: %s (%d×%d) cannot be cut into %d equal slabs of whole %s", s.Name, s.Rows, s.Cols, c.Stages, map[bool]string{false: "columns", true: "rows"}[c.AcrossRows])
	}
	rows, cols := c.Shape(s)
	sl := *s
	sl.DeadDies, sl.DeadLinks, sl.dead, sl.deadLink = nil, nil, nil, nil
	if c.AcrossRows {
		sl.Name = fmt.Sprintf("%s.rows%dx%d", s.Name, rows, cols)
		sl.Rows, sl.Cols = cols, rows // transposed: the slab's rows run down the plan's columns
	} else {
		sl.Name = fmt.Sprintf("%s.cols%dx%d", s.Name, rows, cols)
		sl.Rows, sl.Cols = rows, cols
	}
	sl.Cluster = &Cluster{Wafers: c.Stages, EdgeBandwidth: float64(sl.Rows) * s.Link.Bandwidth, Latency: s.Link.Latency,
		JoulesPerBit: s.Link.JoulesPerBit, StaticWatts: s.Link.StaticWatts}
	if err := sl.Validate(); err != nil {
		return nil, err
	}
	return &sl, nil
}
