package plan

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/tempc/tempc/wafer"
)

// SchemaVersion is the version of the plan JSON format (plan.schema.json).
// Version 2 added what rebuilds the graph a plan was compiled from
// (model_source, batch, seq, graph_sha256); version 1 plans cannot be
// checked against their graph and are refused. Version 3 added where data
// lives (a compute task's sram_bytes and efficiency; a transfer's
// src_sram, dst_sram and reduce): version 2 plans moved every byte
// through HBM implicitly, with roofline compute, and are refused.
// Version 4 replaced the barrier between runs by a per-die handoff (a
// task's out, a node's barrier; see Node) and added
// predicted_peak_memory_bytes_per_die: a version 3 plan's blocks would
// overlap where its compiler meant them not to, and it is refused.
// Version 5 added what the plan was chosen as and by: the compiler's
// version, the model-parallel groups (Groups), each op group's scheme
// and sharding (Strategies) and the solver's record (Solver). Version 4
// plans run the same and are still read, without those records.
// Version 6 added pipeline plans across a wafer cluster (Pipeline); a
// plan without a pipeline is the same as in version 5, which is still
// read.
const SchemaVersion = 6

// OldestSchemaVersion is the oldest plan format ReadJSON and Verify accept.
const OldestSchemaVersion = 4

// Node is a step of a plan: a block of tasks (Program) or a loop (Body),
// run Count times.
//
// Expansion (Expand): the step is the sequence of block runs in Walk
// order — a 96-layer step of 32 micro-batches is a micro-batch loop of
// Count 32 around layer loops of Count 95, and expands to 32·95 copies of
// each layer block. Inside a run, tasks follow their own dependencies.
// Between runs there is no barrier but a handoff, per die: a run's entry
// tasks (those with no dependencies in their block, receives excepted)
// on die d wait for the out tasks (Task.Out) on die d of the latest
// earlier run that has any there — the block's results that the next
// block reads, where a runtime's next kernel waits for the one before it
// on the same stream. Everything else of a run (a gradient bucket's
// all-reduce, a prefetch nobody reads yet) runs on beside the runs after
// it. Where a runtime does have a barrier (the optimizer step, which
// waits for every gradient), the node says so (Barrier): each of its
// runs starts after every task before it has ended, on every die. The
// step ends when its last task has.
type Node struct {
	Name    string   `json:"name"`
	Count   int      `json:"count"`
	Barrier bool     `json:"barrier,omitempty"`
	Program *Program `json:"program,omitempty"`
	Body    []Node   `json:"body,omitempty"`
}

// Plan is the output of the compiler: what every die of a wafer runs for
// one training step.
type Plan struct {
	SchemaVersion int    `json:"schema_version"`
	Model         string `json:"model"`
	// ModelSource is what the model was loaded from — a preset name or a
	// file path, as given to frontend.Load —, Batch the sequences of the
	// step and Seq their length: with them the graph the plan was
	// compiled from can be rebuilt, and GraphSHA256, the hex SHA-256 of
	// that graph's canonical text (ir.Graph.WriteText), tells whether the
	// rebuilt graph is the same.
	ModelSource string `json:"model_source"`
	Batch       int64  `json:"batch"`
	Seq         int64  `json:"seq"`
	GraphSHA256 string `json:"graph_sha256"`
	Wafer       string `json:"wafer"`
	// WaferSpec is the wafer the plan was compiled for, in the wafer file
	// format (dead dies and links included), so that the plan can be
	// simulated without the file it came from.
	WaferSpec json.RawMessage `json:"wafer_spec,omitempty"`
	// Layout names the global level's layout, MicroBatch its sequences
	// per micro-batch (what the strategy space must offer for the layout
	// to be found again); Dies lists the dies used.
	Layout     string        `json:"layout"`
	MicroBatch int           `json:"micro_batch"`
	Dies       []wafer.DieID `json:"dies"`
	// Configuration names what planned it: "temp", a tuned family
	// ("megatron3 (tuned)") or a canonical baseline ("megatron1"), with
	// its mapper. Attention is "unfused" when attention materialises its
	// score matrices (a Megatron baseline's code), empty when fused.
	Configuration string `json:"configuration,omitempty"`
	Attention     string `json:"attention,omitempty"`
	// StaticBytes is each used die's memory held for the whole step
	// (weights, gradients, optimizer states); CapacityBytes its HBM.
	StaticBytes   float64 `json:"static_bytes_per_die"`
	CapacityBytes float64 `json:"capacity_bytes_per_die"`
	// PredictedSeconds is the cost model's step time for this plan; zero
	// means no prediction.
	PredictedSeconds float64 `json:"predicted_step_seconds"`
	// PredictedEnergy is the cost model's energy per step in joules,
	// static power included; zero means no prediction.
	PredictedEnergy float64 `json:"predicted_energy_joules,omitempty"`
	// PredictedMemory is the cost model's peak memory per die (static
	// bytes, saved activations and the largest transient buffer); zero
	// means no prediction.
	PredictedMemory float64 `json:"predicted_peak_memory_bytes_per_die,omitempty"`
	// Compiler is the tempc build that wrote the plan ("tempc v1.2.0").
	Compiler string `json:"compiler,omitempty"`
	// Groups are the model-parallel groups, one per data-parallel
	// replica, each its dies in ring order; Dies is their concatenation.
	Groups [][]wafer.DieID `json:"groups,omitempty"`
	// Strategies are the chosen scheme of every op group, in the order
	// of the strategy space's groups; Solver is the global level's
	// record of how it chose (set by whoever solved: lower.Lower leaves it
	// nil).
	Strategies []Strategy `json:"strategies,omitempty"`
	Solver     *Solver    `json:"solver,omitempty"`
	Steps      []Node     `json:"steps"`
	// Pipeline, when set, makes the plan a wafer cluster's pipeline
	// (schema version 6): its stages hold the work, Steps is empty and
	// Dies lists every stage's dies.
	Pipeline *Pipeline `json:"pipeline,omitempty"`
}

// Strategy is the scheme chosen for one op group: Group its key
// ("block/attn.qkv"), Layers the layers it stands for, Scheme the
// partition scheme (with its stream degree: "relay-w/8"), In and Out the
// sharding of its input and output activations (R replicated, C split by
// columns, S split by sequence; partition.Act).
type Strategy struct {
	Group  string `json:"group"`
	Layers int    `json:"layers"`
	Scheme string `json:"scheme"`
	In     string `json:"in"`
	Out    string `json:"out"`
}

// Solver is the global level's record: the solver's status ("optimal",
// "gap-limit", "time-limit"), what it minimised ("time" or "energy"), the objective of the plan, the proven bound and relative
// gap, the solve wall time summed over solves, and the size of the last
// integer program.
type Solver struct {
	Name      string  `json:"name"`
	Status    string  `json:"status"`
	Objective string  `json:"objective"`
	Value     float64 `json:"value"`
	DualBound float64 `json:"dual_bound"`
	MIPGap    float64 `json:"mip_gap"`
	Seconds   float64 `json:"seconds"`
	Rows      int     `json:"rows"`
	Cols      int     `json:"cols"`
	Nonzeros  int     `json:"nonzeros"`
}

// Walk calls f for every block of the plan in execution order, with the
// number of times it runs in one step.
// A pipeline plan's blocks are its stages' (Stage.Steps), its
// boundaries' and Tied.
func (p *Plan) Walk(f func(n *Node, runs int) error) error {
	if p.Pipeline != nil {
		return p.Pipeline.walk(f)
	}
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
// its header is sane (checkHeader); every node runs at least once and at
// most 2^31 times per step; every block is a valid program (dependencies
// acyclic — they point to earlier tasks —, sizes finite and not negative,
// routes of adjacent hops over live links, every receive matched by
// exactly one send of the same size and endpoints, no message larger than
// a die's memory, declared buffers read and written in dependency order:
// Program.CheckDataFlow); within a block every
// op's computed blocks are 0..n−1, each exactly once; the step computes
// at least one op; and no die's live memory ever sinks below zero (a free
// of bytes not allocated) or exceeds its capacity. Errors name the node,
// die and task.
//
// How many blocks each op has, and that every op of the graph is computed,
// only the graph knows: lower.CheckWork checks that.
func (p *Plan) Verify(s *wafer.Spec) error {
	if err := p.checkHeader(); err != nil {
		return err
	}
	if err := checkCounts(p.Steps, 1); err != nil {
		return err
	}
	if p.Pipeline != nil {
		if err := p.Pipeline.checkFields(p.Batch); err != nil {
			return err
		}
		if err := p.Pipeline.check(s); err != nil {
			return err
		}
	}
	for _, d := range p.Dies {
		if !s.Alive(d) {
			return fmt.Errorf("plan: uses dead or missing die %d", d)
		}
	}
	// A plan may plan for less memory than the dies it was compiled for
	// have, never more: a capacity of 1e308 would let any plan's memory
	// fit. Those dies are the plan's own wafer_spec when it carries one,
	// so that a replay on another wafer's figures (tempc simulate --wafer)
	// is judged by the simulator, not refused here.
	own := s
	if len(p.WaferSpec) > 0 {
		if w, err := wafer.ReadJSON("wafer_spec", p.WaferSpec); err == nil {
			own = w
		}
	}
	if p.CapacityBytes > own.Die.HBMBytes {
		return fieldError("capacity_bytes_per_die", p.CapacityBytes, fmt.Sprintf("≤ the %g bytes of HBM a die of %s has", own.Die.HBMBytes, own.Name))
	}
	ops := 0
	err := p.Walk(func(n *Node, _ int) error {
		if err := n.Program.Check(s); err != nil {
			return fmt.Errorf("node %q: %w", n.Name, err)
		}
		if err := n.Program.checkBlocks(s); err != nil {
			return fmt.Errorf("node %q: %w", n.Name, err)
		}
		if err := n.Program.CheckDataFlow(s); err != nil {
			return fmt.Errorf("node %q: %w", n.Name, err)
		}
		for i := range n.Program.Tasks {
			t := &n.Program.Tasks[i]
			if t.Kind == Compute && t.Op != "" {
				ops++
			}
			if float64(t.Bytes) > p.CapacityBytes {
				return fmt.Errorf("node %q: plan: die %s, task %d %q: moves %d bytes, more than a die's %.0f", n.Name, dieName(s, t.Die), i, t.Name, t.Bytes, p.CapacityBytes)
			}
			// Bounding every buffer by the capacity also keeps the memory
			// sums exact: they stay far below 2^53.
			if big := max(t.Alloc, t.Free, t.Scratch); float64(big) > p.CapacityBytes {
				return fmt.Errorf("node %q: plan: die %s, task %d %q: a buffer of %d bytes (alloc/free/scratch %d/%d/%d), more than a die's %.0f",
					n.Name, dieName(s, t.Die), i, t.Name, big, t.Alloc, t.Free, t.Scratch, p.CapacityBytes)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if ops == 0 {
		return fmt.Errorf("plan: the step computes no op")
	}
	return p.checkMemory(s)
}

// checkHeader checks the plan's figures: the schema version; the step's
// batch and sequence length positive; the graph digest 64 hex digits; the
// static bytes and the predicted step time finite and not negative (zero
// meaning no prediction), the capacity finite and positive; and at least
// one step.
func (p *Plan) checkHeader() error {
	if p.SchemaVersion < OldestSchemaVersion || p.SchemaVersion > SchemaVersion {
		return fmt.Errorf("plan: schema version %d, want %d to %d", p.SchemaVersion, OldestSchemaVersion, SchemaVersion)
	}
	if err := checkGroups("", p.Layout, p.Dies, p.Groups); err != nil {
		return err
	}
	if err := checkStrategies("", p.Strategies); err != nil {
		return err
	}
	if err := checkSolver("", p.Solver); err != nil {
		return err
	}
	if p.Batch <= 0 || p.Seq <= 0 {
		return fmt.Errorf("plan: batch %d and seq %d must be positive", p.Batch, p.Seq)
	}
	if p.MicroBatch <= 0 || int64(p.MicroBatch) > p.Batch {
		return fmt.Errorf("plan: micro_batch %d must lie in [1, batch %d]", p.MicroBatch, p.Batch)
	}
	if p.Attention != "" && p.Attention != "unfused" {
		return fmt.Errorf("plan: attention %q: want \"unfused\" or nothing (fused)", p.Attention)
	}
	if !isSHA256(p.GraphSHA256) {
		return fmt.Errorf("plan: graph_sha256 %q is not 64 lower-case hex digits", p.GraphSHA256)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"predicted_step_seconds", p.PredictedSeconds}, {"predicted_energy_joules", p.PredictedEnergy},
		{"predicted_peak_memory_bytes_per_die", p.PredictedMemory}, {"static_bytes_per_die", p.StaticBytes}} {
		if err := checkBytes(f.name, f.v); err != nil {
			return err
		}
	}
	if !(p.CapacityBytes > 0) || math.IsInf(p.CapacityBytes, 0) {
		return fieldError("capacity_bytes_per_die", p.CapacityBytes, "a finite number > 0")
	}
	switch {
	case p.Pipeline != nil && len(p.Steps) > 0:
		return fmt.Errorf("plan: a pipeline plan's work is in its stages; steps must be empty")
	case p.Pipeline == nil && len(p.Steps) == 0:
		return fmt.Errorf("plan: steps is empty: the plan does no work")
	case p.Pipeline != nil && p.SchemaVersion < 6:
		return fmt.Errorf("plan: a pipeline plan needs schema version 6, not %d", p.SchemaVersion)
	}
	return nil
}

func isSHA256(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
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

// maxRuns bounds how many times a node may run per step: far above any
// real plan (a 96-layer model of 1024 micro-batches runs its layer blocks
// about 10^5 times), low enough that run counts times task counts, bytes
// and FLOPs stay exact.
const maxRuns = 1 << 31

// checkCounts rejects nodes that run fewer than once, or more than maxRuns
// times per step counting the runs of the loops around them (mult), and
// nodes that are both or neither a block and a loop.
func checkCounts(nodes []Node, mult int64) error {
	for i := range nodes {
		n := &nodes[i]
		if n.Count <= 0 || n.Count > maxRuns {
			return fmt.Errorf("plan: node %q runs %d times; it must run 1 to 2^31 times per step", n.Name, n.Count)
		}
		if runs := mult * int64(n.Count); runs > maxRuns {
			return fmt.Errorf("plan: node %q runs %d times per step with its loops; at most 2^31", n.Name, runs)
		}
		if (n.Program != nil) == (len(n.Body) > 0) {
			return fmt.Errorf("plan: node %q must hold either a program or a body", n.Name)
		}
		if err := checkCounts(n.Body, mult*int64(n.Count)); err != nil {
			return err
		}
	}
	return nil
}
