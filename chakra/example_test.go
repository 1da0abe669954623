package chakra_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/tempc/tempc/chakra"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// demo is a step of two layers on two dies of mesh4x4: die 0 computes a
// block and streams it to die 1, which computes on it.
func demo() (*plan.Plan, *wafer.Spec) {
	s, _ := wafer.Preset("mesh4x4")
	var prog plan.Program
	a := prog.Compute("matmul", 0, 3.6e9, 1e6)       // 2 µs at 1800 TFLOP/s
	x := prog.Transfer("block", 0, 1, 1<<20, nil, a) // 1 MiB to the neighbour
	prog.Compute("matmul", 1, 3.6e9, 4e6, x)         // 4 µs: 4 MB at 1 TB/s
	p := &plan.Plan{Model: "demo", Layout: "two dies", Dies: []wafer.DieID{0, 1},
		Steps: []plan.Node{{Name: "layer", Count: 2, Program: &prog}}}
	return p, s
}

// Write exports a step: a trace per die of the mesh, and ASTRA-sim's
// configurations beside them.
func ExampleWrite() {
	p, s := demo()
	dir, err := os.MkdirTemp("", "chakra")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	m, err := chakra.Write(context.Background(), dir, p, s, chakra.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("workload %s: %d ranks\n", m.Workload, len(m.Ranks))
	for _, r := range m.Ranks[:3] {
		fmt.Printf("%s die (%d,%d): %d nodes, %d compute, %d sends, %d recvs, %d µs\n",
			r.File, r.Row, r.Col, r.Nodes, r.Compute, r.Sends, r.Recvs, r.DurationMicros)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".et") {
			names = append(names, e.Name())
		}
	}
	fmt.Println(names)
	// Output:
	// workload demo: 16 ranks
	// demo.0.et die (0,0): 4 nodes, 2 compute, 2 sends, 0 recvs, 4 µs
	// demo.1.et die (0,1): 4 nodes, 2 compute, 0 sends, 2 recvs, 8 µs
	// demo.2.et die (0,2): 0 nodes, 0 compute, 0 sends, 0 recvs, 0 µs
	// [README manifest.json memory.json network.yml system.json]
}

// NetworkYAML describes the mesh to ASTRA-sim's analytical network:
// each dimension a Ring, with one link direction's bandwidth (in GB/s of
// 2^30 bytes) and the per-hop latency.
func ExampleNetworkYAML() {
	s, _ := wafer.Preset("temp48")
	for _, line := range strings.Split(strings.TrimSpace(string(chakra.NetworkYAML(s))), "\n") {
		if !strings.HasPrefix(line, "#") {
			fmt.Println(line)
		}
	}
	// Output:
	// topology: [ Ring, Ring ]
	// npus_count: [ 8, 6 ]
	// bandwidth: [ 3725.290298461914, 3725.290298461914 ]  # GB/s with GB = 2^30 bytes: 4e+12 bytes/s per link direction
	// latency: [ 200, 200 ]  # ns per hop
}

// A Reader streams a trace node by node, for traces too large to hold.
func ExampleNewReader() {
	p, s := demo()
	dir, err := os.MkdirTemp("", "chakra")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	m, err := chakra.Write(context.Background(), dir, p, s, chakra.Options{})
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, m.Ranks[0].File))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r, err := chakra.NewReader(f.Name(), f)
	if err != nil {
		log.Fatal(err)
	}
	kinds := map[chakra.Kind]int{}
	for {
		n, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		kinds[chakra.NodeKind(n)]++
	}
	fmt.Println(kinds[chakra.KindCompute], "compute,", kinds[chakra.KindSend], "sends")
	// Output:
	// 2 compute, 2 sends
}

// Read reads a trace back: its metadata and its nodes.
func ExampleRead() {
	p, s := demo()
	dir, err := os.MkdirTemp("", "chakra")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	m, err := chakra.Write(context.Background(), dir, p, s, chakra.Options{Name: "step"})
	if err != nil {
		log.Fatal(err)
	}
	meta, nodes, err := chakra.Read(filepath.Join(dir, chakra.TraceFile(m.Workload, 1)))
	if err != nil {
		log.Fatal(err)
	}
	die, _ := chakra.Attr(meta.GetAttr(), "die")
	fmt.Println("die", die.GetStringVal())
	for _, n := range nodes {
		size, _ := chakra.IntAttr(n.GetAttr(), "comm_size")
		tag, _ := chakra.IntAttr(n.GetAttr(), "comm_tag")
		fmt.Println(n.GetId(), n.GetType(), n.GetName(), chakra.NodeKind(n), n.GetDataDeps(), n.GetDurationMicros(), size, tag)
	}
	// Output:
	// die (0,1)
	// 0 COMM_RECV_NODE layer/block recv [] 0 1048576 1
	// 1 COMP_NODE layer/matmul compute [0] 4 0 0
	// 2 COMM_RECV_NODE layer/block recv [] 0 1048576 2
	// 3 COMP_NODE layer/matmul compute [2] 4 0 0
}
