package chakra

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tempc/tempc/wafer"
)

// The files Write puts beside the traces.
const (
	networkFile  = "network.yml"
	systemFile   = "system.json"
	memoryFile   = "memory.json"
	manifestFile = "manifest.json"
	readmeFile   = "README"
)

// gib is the byte count of the "GB" in ASTRA-sim's analytical network
// bandwidths (GB/s), which it converts to bytes per ns as 2^30 bytes.
const gib = 1 << 30

// meshDim is one dimension of the mesh as ASTRA-sim sees it.
type meshDim struct {
	npus int
	what string
}

// dims lists the mesh's dimensions in ASTRA-sim's order — the first
// varies fastest in an NPU's ID, and rank r·Cols + c is die (r, c), so
// the first runs along a row — leaving out those of one die, which the
// analytical backend refuses.
func dims(s *wafer.Spec) []meshDim {
	var ds []meshDim
	if s.Cols > 1 {
		ds = append(ds, meshDim{s.Cols, "along a row (column index)"})
	}
	if s.Rows > 1 {
		ds = append(ds, meshDim{s.Rows, "along a column (row index)"})
	}
	return ds
}

// NetworkYAML returns the ASTRA-sim analytical network configuration of
// wafer s: each dimension of the mesh a bidirectional Ring of its dies,
// with one link direction's bandwidth and per-hop latency. See the
// package documentation for what this approximates. It returns nil for
// a single die.
func NetworkYAML(s *wafer.Spec) []byte {
	ds := dims(s)
	if len(ds) == 0 {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# ASTRA-sim analytical network of wafer %s, a %dx%d mesh of dies (written by tempc).\n", s.Name, s.Rows, s.Cols)
	fmt.Fprintf(&b, "# NPU r*%d + c is die (r, c). ASTRA-sim's first dimension varies fastest:\n", s.Cols)
	for i, d := range ds {
		fmt.Fprintf(&b, "#   dimension %d: %d dies %s\n", i+1, d.npus, d.what)
	}
	b.WriteString("# The analytical backend has no mesh. Each mesh dimension is a bidirectional\n" +
		"# Ring, which adds the wrap-around link a mesh lacks; the congestion-unaware\n" +
		"# backend charges a message between dies that differ in both coordinates for\n" +
		"# the first differing dimension only, and models no link contention. The\n" +
		"# congestion-aware backend takes one dimension only and cannot read this file.\n")
	list := func(f func(meshDim) string) string {
		parts := make([]string, len(ds))
		for i, d := range ds {
			parts[i] = f(d)
		}
		return "[ " + strings.Join(parts, ", ") + " ]"
	}
	bw := strconv.FormatFloat(s.Link.Bandwidth/gib, 'f', -1, 64)
	lat := strconv.FormatFloat(s.Link.Latency*1e9, 'f', -1, 64)
	fmt.Fprintf(&b, "topology: %s\n", list(func(meshDim) string { return "Ring" }))
	fmt.Fprintf(&b, "npus_count: %s\n", list(func(d meshDim) string { return strconv.Itoa(d.npus) }))
	fmt.Fprintf(&b, "bandwidth: %s  # GB/s with GB = 2^30 bytes: %g bytes/s per link direction\n",
		list(func(meshDim) string { return bw }), s.Link.Bandwidth)
	fmt.Fprintf(&b, "latency: %s  # ns per hop\n", list(func(meshDim) string { return lat }))
	return b.Bytes()
}

// SystemJSON returns an ASTRA-sim system configuration for the traces of
// wafer s: compute nodes replayed for their recorded durations
// (roofline off), with the die's peak (TFLOPS) and HBM bandwidth (GB/s,
// 10^9 bytes, as the system layer reads it) filled in for those who turn
// the roofline on. The collective settings are ASTRA-sim's example
// values; the traces hold no collective nodes.
func SystemJSON(s *wafer.Spec) []byte {
	impl := make([]string, max(1, len(dims(s))))
	for i := range impl {
		impl[i] = "ring"
	}
	sys := struct {
		Policy        string   `json:"scheduling-policy"`
		EndpointDelay int      `json:"endpoint-delay"`
		ActiveChunks  int      `json:"active-chunks-per-dimension"`
		Splits        int      `json:"preferred-dataset-splits"`
		AllReduce     []string `json:"all-reduce-implementation"`
		AllGather     []string `json:"all-gather-implementation"`
		ReduceScatter []string `json:"reduce-scatter-implementation"`
		AllToAll      []string `json:"all-to-all-implementation"`
		Optimization  string   `json:"collective-optimization"`
		LocalMemBW    float64  `json:"local-mem-bw"`
		PeakPerf      float64  `json:"peak-perf"`
		Roofline      int      `json:"roofline-enabled"`
		BoostMode     int      `json:"boost-mode"`
	}{"LIFO", 10, 1, 4, impl, impl, impl, impl, "localBWAware",
		s.Die.HBMBandwidth / 1e9, s.Die.PeakFLOPS / 1e12, 0, 0}
	b, err := json.MarshalIndent(sys, "", "  ")
	if err != nil {
		panic(err) // plain values always marshal
	}
	return append(b, '\n')
}

// memoryJSON is ASTRA-sim's remote-memory configuration: none (the
// traces hold no memory nodes).
const memoryJSON = "{\n  \"memory-type\": \"NO_MEMORY_EXPANSION\"\n}\n"

// writeConfigs writes the files beside the traces.
func writeConfigs(dir string, s *wafer.Spec, m *Manifest) error {
	man, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("chakra: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{systemFile, SystemJSON(s)},
		{memoryFile, []byte(memoryJSON)},
		{manifestFile, append(man, '\n')},
		{readmeFile, readme(m)},
	}
	if m.Network != "" {
		files = append(files, struct {
			name string
			data []byte
		}{networkFile, NetworkYAML(s)})
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("chakra: %w", err)
		}
	}
	return nil
}

// readme says what the directory holds and how to replay it.
func readme(m *Manifest) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Chakra execution traces of one training step of %s on wafer %s (%dx%d dies), layout %s,\n",
		m.Model, m.Wafer, m.Rows, m.Cols, m.Layout)
	fmt.Fprintf(&b, "written by tempc for ASTRA-sim.\n\n")
	fmt.Fprintf(&b, "  %s.<rank>.et  one trace per die; rank r is die (r / %d, r %% %d)\n", m.Workload, m.Cols, m.Cols)
	if m.Network != "" {
		fmt.Fprintf(&b, "  %-14s analytical network: each mesh dimension a Ring (see its comments)\n", m.Network)
	}
	fmt.Fprintf(&b, "  %-14s system: compute nodes replay their durations (roofline off)\n", m.System)
	fmt.Fprintf(&b, "  %-14s remote memory: none\n", m.Memory)
	fmt.Fprintf(&b, "  %-14s ranks, dies and node counts\n\n", manifestFile)
	fmt.Fprintf(&b, "The step's %d tasks and %d barrier(s) make %d nodes: %d messages of the plan,\n", m.Tasks, m.Barriers, m.Nodes, m.Messages)
	fmt.Fprintf(&b, "%d sync messages and %d joins.\n\n", m.SyncMessages, m.Joins)
	fmt.Fprintf(&b, "Replay with the congestion-unaware analytical backend, from this directory:\n\n")
	fmt.Fprintf(&b, "  AstraSim_Analytical_Congestion_Unaware --workload-configuration=%s \\\n", m.Workload)
	fmt.Fprintf(&b, "    --system-configuration=%s --remote-memory-configuration=%s", m.System, m.Memory)
	if m.Network != "" {
		fmt.Fprintf(&b, " \\\n    --network-configuration=%s", m.Network)
	}
	b.WriteString("\n\nWhat the traces approximate is documented in tempc's chakra package.\n")
	return b.Bytes()
}
