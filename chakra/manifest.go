package chakra

import (
	"slices"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// ManifestFormat names the manifest's format and its version.
const ManifestFormat = "tempc-chakra-1"

// Manifest describes an export (Write): its files, the die of each rank
// and what each trace holds. It is written to manifest.json.
type Manifest struct {
	Format string `json:"format"`
	Model  string `json:"model"`
	Wafer  string `json:"wafer"`
	Layout string `json:"layout,omitempty"`
	// Workload is the traces' name: ASTRA-sim's workload configuration
	// is the directory joined with it.
	Workload string `json:"workload"`
	// Network, System and Memory name ASTRA-sim's configuration files.
	// Network is empty when the wafer has a single die: ASTRA-sim's
	// analytical network wants at least two NPUs.
	Network string `json:"network,omitempty"`
	System  string `json:"system"`
	Memory  string `json:"memory"`
	// Rows and Cols are the mesh; rank r is die r, at row r / Cols and
	// column r % Cols.
	Rows  int        `json:"rows"`
	Cols  int        `json:"cols"`
	Ranks []RankInfo `json:"ranks"`
	// Tasks counts the step's tasks (plan.Expand's, barriers excepted),
	// Barriers its barriers.
	Tasks    int64 `json:"tasks"`
	Barriers int64 `json:"barriers"`
	// Nodes, Messages (the plan's), SyncMessages and Joins add up the
	// ranks' figures.
	Nodes        int64 `json:"nodes"`
	Messages     int64 `json:"messages"`
	SyncMessages int64 `json:"sync_messages"`
	Joins        int64 `json:"joins"`
}

// RankInfo is one rank's trace: its die and what it holds.
type RankInfo struct {
	Rank int         `json:"rank"`
	Die  wafer.DieID `json:"die"`
	Row  int         `json:"row"`
	Col  int         `json:"col"`
	File string      `json:"file"`
	// Used says the plan runs tasks on the die; Dead that the die is
	// defective (its trace is empty).
	Used bool `json:"used"`
	Dead bool `json:"dead,omitempty"`
	// Nodes counts the trace's nodes: Compute compute tasks (fixed
	// delays included), Barriers barriers, Sends and Recvs the ends of
	// the plan's messages (a transfer is a send on its source and a
	// receive on its destination), SyncSends and SyncRecvs the ends of
	// sync messages, Joins join nodes (see Kind).
	Nodes     int64 `json:"nodes"`
	Compute   int64 `json:"compute"`
	Barriers  int64 `json:"barriers,omitempty"`
	Sends     int64 `json:"sends"`
	Recvs     int64 `json:"recvs"`
	SyncSends int64 `json:"sync_sends,omitempty"`
	SyncRecvs int64 `json:"sync_recvs,omitempty"`
	Joins     int64 `json:"joins,omitempty"`
	// BytesSent is what the plan's sends carry; FLOPs what its compute
	// does.
	BytesSent int64   `json:"bytes_sent"`
	FLOPs     float64 `json:"flops"`
	// ComputeSeconds adds up the compute nodes' durations before
	// rounding, DurationMicros after (see the package documentation).
	ComputeSeconds float64 `json:"compute_seconds"`
	DurationMicros uint64  `json:"duration_micros"`
	// Bytes is the trace file's size.
	Bytes int64 `json:"bytes"`
}

func newManifest(p *plan.Plan, s *wafer.Spec, name string) *Manifest {
	m := &Manifest{Format: ManifestFormat, Model: p.Model, Wafer: s.Name, Layout: p.Layout, Workload: name,
		System: systemFile, Memory: memoryFile, Rows: s.Rows, Cols: s.Cols, Ranks: make([]RankInfo, s.NumDies())}
	if s.NumDies() > 1 {
		m.Network = networkFile
	}
	for i := range m.Ranks {
		d := wafer.DieID(i)
		c := s.Coord(d)
		m.Ranks[i] = RankInfo{Rank: i, Die: d, Row: c.R, Col: c.C, File: TraceFile(name, i),
			Used: slices.Contains(p.Dies, d), Dead: !s.Alive(d)}
	}
	return m
}

// total adds up the ranks' figures.
func (m *Manifest) total() {
	for _, r := range m.Ranks {
		m.Nodes += r.Nodes
		m.Messages += r.Sends
		m.SyncMessages += r.SyncSends
		m.Joins += r.Joins
	}
}
