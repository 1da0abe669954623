package wafer

import "fmt"

// Cluster makes a wafer file describe a row of identical wafers joined
// edge to edge, the hardware of pipeline parallelism across wafers: wafer
// k's east edge faces wafer k+1's west edge, and every row r has one
// inter-wafer link, in each direction, between die (r, Cols−1) of wafer k
// and die (r, 0) of wafer k+1. Each wafer keeps its own mesh, faults and
// figures (the Spec's).
type Cluster struct {
	// Wafers counts the wafers, at least 2.
	Wafers int
	// EdgeBandwidth is the bandwidth between two neighbouring wafers in
	// each direction (bytes/s), shared evenly by the Rows links of the
	// edge (LinkBandwidth).
	EdgeBandwidth float64
	// Latency (s), JoulesPerBit and StaticWatts are one inter-wafer link
	// direction's, as Link's are for a die-to-die link.
	Latency      float64
	JoulesPerBit float64
	StaticWatts  float64
}

// MaxWafers bounds Cluster.Wafers: a pipeline of more stages than this is
// far beyond any wafer-scale system announced (Dojo's ExaPOD has 120
// training tiles in 10 cabinets; TEMP's study stops at 6 wafers).
const MaxWafers = 128

// DefaultCluster joins wafers of s as TEMP's multi-wafer study does: 9
// TB/s between neighbouring wafers, after Tesla Dojo's training-tile
// edge (REFERENCE.md; secondary, read from third-party accounts of the
// paper). Latency and energy are assumptions, not sources: an off-wafer
// link crosses SerDes and retimers, so it is taken as 500 ns and 10
// pJ/bit, 2.5× the on-wafer hop's 200 ns and twice its 5 pJ/bit on
// temp48; its static power is a die-to-die link direction's.
func DefaultCluster(s *Spec, wafers int) *Cluster {
	return &Cluster{Wafers: wafers, EdgeBandwidth: 9 * tera, Latency: 500e-9, JoulesPerBit: 10e-12, StaticWatts: s.Link.StaticWatts}
}

// LinkBandwidth is one inter-wafer link's bandwidth in each direction:
// the edge's, shared by the rows of s.
func (c *Cluster) LinkBandwidth(s *Spec) float64 { return c.EdgeBandwidth / float64(s.Rows) }

// clusterLimits are the plausible ranges of a cluster's physical fields
// (see limit), read only when the Spec or file has a cluster: an
// inter-wafer edge of 1e-3–1e5 TB/s (today a few to tens), a link latency
// of 0–1e7 ns, 0–1e4 pJ/bit, 1e-3–1e5 W.
var clusterLimits = []limit{
	{"cluster.edge_tbps", "TB/s", 1e-3, 1e5,
		func(s *Spec) float64 { return s.Cluster.EdgeBandwidth / tera }, func(j *jsonSpec) float64 { return j.Cluster.EdgeTBps }},
	{"cluster.latency_ns", "ns", 0, 1e7,
		func(s *Spec) float64 { return toNano(s.Cluster.Latency) }, func(j *jsonSpec) float64 { return j.Cluster.LatencyNs }},
	{"cluster.pj_per_bit", "pJ/bit", 0, 1e4,
		func(s *Spec) float64 { return toPico(s.Cluster.JoulesPerBit) }, func(j *jsonSpec) float64 { return j.Cluster.PJPerBit }},
	{"cluster.static_w", "W", 1e-3, 1e5,
		func(s *Spec) float64 { return s.Cluster.StaticWatts }, func(j *jsonSpec) float64 { return j.Cluster.StaticW }},
}

// clusterProblems checks a cluster's wafer count and, read by value, its
// physical fields.
func clusterProblems(wafers int, value func(*limit) float64) []problem {
	var ps []problem
	if wafers < 2 || wafers > MaxWafers {
		ps = append(ps, problem{"cluster.wafers", -1, fmt.Sprintf("cluster.wafers must be between 2 and %d, got %d", MaxWafers, wafers)})
	}
	for i := range clusterLimits {
		if msg := clusterLimits[i].check(value(&clusterLimits[i])); msg != "" {
			ps = append(ps, problem{clusterLimits[i].field, -1, msg})
		}
	}
	return ps
}

// SingleWafer refuses a Spec that describes a cluster, or joins one into
// a single mesh (Joined), for the stages that plan or replay one wafer: a
// cluster's figures would be silently ignored, and a joined mesh's
// inter-wafer links taken for die-to-die links.
func (s *Spec) SingleWafer() error {
	if s.Cluster != nil {
		return fmt.Errorf("wafer: %s describes a cluster of %d wafers; this plans one wafer at a time: plan pipeline stages across its wafers with tempc pipeline, or remove its cluster object", s.Name, s.Cluster.Wafers)
	}
	if s.Seam != nil {
		return fmt.Errorf("wafer: %s joins %d wafers of %d columns into one mesh; this stage plans one wafer: give it one wafer of the cluster", s.Name, s.Wafers(), s.Seam.Cols)
	}
	return nil
}
