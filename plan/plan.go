package plan

import (
	"encoding/json"
	"fmt"

	"tempc/wafer"
)

// SchemaVersion is the version of the plan JSON format (plan.schema.json).
const SchemaVersion = 1

// Node is a step of a plan: a block of tasks (Program) or a loop (Body),
// run Count times.
//
// Expansion: a node's runs follow one another, and so do the nodes of a
// body; every task of a run starts after every task of the run (or
// sibling) before it has ended — a barrier. Inside a block, tasks follow
// their own dependencies. So a 96-layer step of 32 micro-batches is a
// micro-batch loop of Count 32 around layer loops of Count 96, and it
// expands to 32·96 copies of each layer block.
type Node struct {
	Name    string   `json:"name"`
	Count   int      `json:"count"`
	Program *Program `json:"program,omitempty"`
	Body    []Node   `json:"body,omitempty"`
}

// Plan is the output of the compiler: what every die of a wafer runs for
// one training step.
type Plan struct {
	SchemaVersion int    `json:"schema_version"`
	Model         string `json:"model"`
	Wafer         string `json:"wafer"`
	// WaferSpec is the wafer the plan was compiled for, in the wafer file
	// format (dead dies and links included), so that the plan can be
	// simulated without the file it came from.
	WaferSpec json.RawMessage `json:"wafer_spec,omitempty"`
	// Layout names the global level's layout; Dies lists the dies used.
	Layout string        `json:"layout"`
	Dies   []wafer.DieID `json:"dies"`
	// StaticBytes is each used die's memory held for the whole step
	// (weights, gradients, optimizer states); CapacityBytes its HBM.
	StaticBytes   float64 `json:"static_bytes_per_die"`
	CapacityBytes float64 `json:"capacity_bytes_per_die"`
	// PredictedSeconds is the cost model's step time for this plan.
	PredictedSeconds float64 `json:"predicted_step_seconds"`
	Steps            []Node  `json:"steps"`
}

// Walk calls f for every block of the plan in execution order, with the
// number of times it runs in one step.
func (p *Plan) Walk(f func(n *Node, runs int) error) error {
	return walk(p.Steps, 1, f)
}

func walk(nodes []Node, mult int, f func(*Node, int) error) error {
	for i := range nodes {
		n := &nodes[i]
		if n.Program != nil {
			if err := f(n, mult*n.Count); err != nil {
				return err
			}
		}
		if err := walk(n.Body, mult*n.Count, f); err != nil {
			return err
		}
	}
	return nil
}

// Size counts the plan's tasks as stored and as expanded.
func (p *Plan) Size() (stored, expanded int64) {
	p.Walk(func(n *Node, runs int) error {
		stored += int64(len(n.Program.Tasks))
		expanded += int64(len(n.Program.Tasks)) * int64(runs)
		return nil
	})
	return stored, expanded
}

// Verify is the plan's independent legality check, against its wafer:
// every block is a valid program (dependencies acyclic — they point to
// earlier tasks —, routes of adjacent hops over live links, every receive
// matched by exactly one send of the same size and endpoints), every block
// of every op is computed exactly once per run, and no die's live memory
// ever exceeds its capacity. Errors name the node, die and task.
func (p *Plan) Verify(s *wafer.Spec) error {
	if p.SchemaVersion != SchemaVersion {
		return fmt.Errorf("plan: schema version %d, want %d", p.SchemaVersion, SchemaVersion)
	}
	if err := checkCounts(p.Steps); err != nil {
		return err
	}
	for _, d := range p.Dies {
		if !s.Alive(d) {
			return fmt.Errorf("plan: uses dead or missing die %d", d)
		}
	}
	err := p.Walk(func(n *Node, _ int) error {
		if err := n.Program.Check(s); err != nil {
			return fmt.Errorf("node %q: %w", n.Name, err)
		}
		if err := n.Program.checkBlocks(s); err != nil {
			return fmt.Errorf("node %q: %w", n.Name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return p.checkMemory(s)
}

// checkBlocks checks that, per op, the computed blocks are 0..n−1, each
// exactly once.
func (prog *Program) checkBlocks(s *wafer.Spec) error {
	seen := map[string]map[int]TaskID{}
	for i := range prog.Tasks {
		t := &prog.Tasks[i]
		if t.Kind != Compute || t.Op == "" {
			continue
		}
		m := seen[t.Op]
		if m == nil {
			m = map[int]TaskID{}
			seen[t.Op] = m
		}
		if prev, dup := m[t.Block]; dup {
			return fmt.Errorf("plan: die %s, task %d %q: block %d of %s is already computed by task %d",
				dieName(s, t.Die), i, t.Name, t.Block, t.Op, prev)
		}
		m[t.Block] = TaskID(i)
	}
	for op, m := range seen {
		for b := range len(m) {
			if _, ok := m[b]; !ok {
				return fmt.Errorf("plan: block %d of %s is never computed (%d blocks computed)", b, op, len(m))
			}
		}
	}
	return nil
}

// checkCounts rejects nodes that run fewer than once or more than 2^31
// times, and nodes that are both or neither a block and a loop.
func checkCounts(nodes []Node) error {
	for i := range nodes {
		n := &nodes[i]
		if n.Count <= 0 || n.Count > 1<<31 {
			return fmt.Errorf("plan: node %q runs %d times", n.Name, n.Count)
		}
		if (n.Program != nil) == (len(n.Body) > 0) {
			return fmt.Errorf("plan: node %q must hold either a program or a body", n.Name)
		}
		if err := checkCounts(n.Body); err != nil {
			return err
		}
	}
	return nil
}
