package plan

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/tempc/tempc/wafer"
)

// Pipeline makes a plan a wafer cluster's: the model cut into contiguous
// stages, stage k on wafer Stages[k].Wafer of the cluster, micro-batches
// flowing through them under a pipeline schedule. Die IDs are the joined
// cluster mesh's (wafer.Spec.Joined): wafer w's die (r, c) is (r,
// w·Cols + c). A pipeline plan's Steps are empty; each stage says what
// one micro-batch's forward and backward pass run on its dies and in
// which order its passes run (Order), the boundaries what moves between
// neighbouring stages per micro-batch, Tied what the first and last stage
// exchange before their optimizers.
//
// Semantics (Plan.Expand). Each stage runs its passes in its order, with
// the handoff of Node within the stage: a pass's first blocks on a die
// wait for the results there of the pass before. Nothing else orders the
// stages: stage k+1's forward pass of micro-batch i waits, on each of its
// dies, for the out tasks there of Boundaries[k].Forward's run for i, whose
// tasks without dependencies wait for the out tasks on their die of stage
// k's forward pass of i; backward passes likewise, from stage k+1 to k,
// over Boundaries[k].Backward. A stage's Finish (the optimizer, a barrier)
// waits for everything of its stage, the boundary runs bringing it data
// and, on the first and last stage, Tied, which waits for all their
// passes.
type Pipeline struct {
	// Schedule names the schedule the orders follow ("1f1b", "gpipe");
	// the orders are what runs.
	Schedule     string `json:"schedule"`
	MicroBatches int    `json:"micro_batches"`
	// PredictedBubble is the cost model's timeline's idle share of the
	// stages (costmodel.PipelineTimeline.Bubble); zero: no prediction.
	PredictedBubble float64    `json:"predicted_bubble,omitempty"`
	Stages          []Stage    `json:"stages"`
	Boundaries      []Boundary `json:"boundaries"`
	// Tied, when set, sums the gradient of a weight the first and the
	// last stage both hold (a tied token embedding) across them.
	Tied *Program `json:"tied,omitempty"`
}

// Stage is one pipeline stage: blocks FirstBlock to EndBlock−1 of the
// model (with the embedding on the first stage, the head on the last) on
// wafer Wafer, planned as the single-wafer plan whose header fields it
// repeats (its graph is the stage graph), and its passes.
type Stage struct {
	Wafer      int    `json:"wafer"`
	FirstBlock int    `json:"first_block"`
	EndBlock   int    `json:"end_block"`
	Model      string `json:"model"`
	// GraphSHA256 is the stage graph's digest, as Plan's.
	GraphSHA256 string          `json:"graph_sha256"`
	Layout      string          `json:"layout"`
	MicroBatch  int             `json:"micro_batch"`
	Dies        []wafer.DieID   `json:"dies"`
	Groups      [][]wafer.DieID `json:"groups,omitempty"`
	Strategies  []Strategy      `json:"strategies,omitempty"`
	Solver      *Solver         `json:"solver,omitempty"`
	// StaticBytes is what each of its dies holds all step;
	// PredictedMemory the cost model's peak, the activations of the
	// micro-batches in flight included.
	StaticBytes     float64 `json:"static_bytes_per_die"`
	PredictedMemory float64 `json:"predicted_peak_memory_bytes_per_die,omitempty"`
	// Order lists the stage's passes in the order it runs them; every
	// micro-batch has one forward and, after it, one backward pass.
	Order []PassRef `json:"order"`
	// Forward and Backward are one micro-batch's passes; LastBackward is
	// the stage's last backward pass, which also carries the DP gradient
	// sync; Finish runs after all of them (the optimizer).
	Forward      []Node `json:"forward"`
	Backward     []Node `json:"backward"`
	LastBackward []Node `json:"last_backward"`
	Finish       []Node `json:"finish"`
}

// Boundary is what crosses between stages k and k+1 for one micro-batch:
// Forward its activation, from stage k's dies to stage k+1's, Backward
// that activation's gradient, back.
type Boundary struct {
	Forward  *Program `json:"forward"`
	Backward *Program `json:"backward"`
}

// PassRef names a pass of a micro-batch: "F3" is micro-batch 3's forward,
// "B3" its backward.
type PassRef struct {
	Micro    int
	Backward bool
}

func (r PassRef) String() string {
	if r.Backward {
		return "B" + strconv.Itoa(r.Micro)
	}
	return "F" + strconv.Itoa(r.Micro)
}

// MarshalText writes r as String does.
func (r PassRef) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads "F<n>" or "B<n>".
func (r *PassRef) UnmarshalText(b []byte) error {
	s := string(b)
	if len(s) < 2 || (s[0] != 'F' && s[0] != 'B') {
		return fmt.Errorf("plan: pass %q: want F or B and a micro-batch number", s)
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 {
		return fmt.Errorf("plan: pass %q: want F or B and a micro-batch number", s)
	}
	*r = PassRef{Micro: n, Backward: s[0] == 'B'}
	return nil
}

// passes is the stage's order restricted to micro-batches below micro:
// a pipeline of that many micro-batches under the same schedule, for
// GPipe and 1F1B (whose order for m micro-batches, with those from m on
// dropped, is their order for fewer).
func (st *Stage) passes(micro int) []PassRef {
	out := make([]PassRef, 0, 2*micro)
	for _, r := range st.Order {
		if r.Micro < micro {
			out = append(out, r)
		}
	}
	return out
}

// Steps is the stage's step as a node tree, for micro micro-batches: its
// passes in order — runs of forward passes, of forward–backward pairs
// and of backward passes as loops —, the last backward pass, then
// Finish.
func (st *Stage) Steps(micro int) []Node {
	order := st.passes(micro)
	fwd := Node{Name: "forward", Count: 1, Body: st.Forward}
	bwd := Node{Name: "backward", Count: 1, Body: st.Backward}
	var out []Node
	last := len(order) - 1 // the last backward pass
	for i := 0; i < last; {
		switch {
		case !order[i].Backward && i+1 < last && order[i+1].Backward:
			n := 0
			for i+1 < last && !order[i].Backward && order[i+1].Backward {
				n, i = n+1, i+2
			}
			out = append(out, Node{Name: "forward-backward", Count: n, Body: []Node{fwd, bwd}})
		default:
			b, n := order[i].Backward, 0
			for i < last && order[i].Backward == b && !(!b && i+1 < last && order[i+1].Backward) {
				n, i = n+1, i+1
			}
			one := fwd
			if b {
				one = bwd
			}
			one.Count = n
			out = append(out, one)
		}
	}
	if last >= 0 {
		out = append(out, Node{Name: "last backward", Count: 1, Body: st.LastBackward})
	}
	return append(out, st.Finish...)
}

// walk calls f for every block of the pipeline: each stage's step
// (Stage.Steps), then the boundaries' programs (a run per micro-batch) and
// Tied.
func (pl *Pipeline) walk(f func(n *Node, runs int) error) error {
	for k := range pl.Stages {
		if err := walk(pl.Stages[k].Steps(pl.MicroBatches), 1, f); err != nil {
			return fmt.Errorf("stage %d: %w", k, err)
		}
	}
	for k, b := range pl.Boundaries {
		for _, n := range []Node{{Name: fmt.Sprintf("boundary %d→%d", k, k+1), Count: pl.MicroBatches, Program: b.Forward},
			{Name: fmt.Sprintf("boundary %d→%d", k+1, k), Count: pl.MicroBatches, Program: b.Backward}} {
			if err := f(&n, n.Count); err != nil {
				return err
			}
		}
	}
	if pl.Tied != nil {
		n := Node{Name: "tied", Count: 1, Program: pl.Tied}
		return f(&n, 1)
	}
	return nil
}

// check checks what the node trees do not: stage and boundary counts, the
// wafers, every stage's dies on its wafer, every order a valid one (each
// micro-batch once forward, then once backward), the boundaries' programs
// non-nil, their tasks without dependencies on the sending stage's dies
// and their out tasks on the receiving stage's.
func (pl *Pipeline) check(s *wafer.Spec) error {
	if s.Seam == nil {
		return fmt.Errorf("plan: a pipeline plan runs on a wafer cluster; wafer %s is one wafer", s.Name)
	}
	wafers := s.Cols / s.Seam.Cols
	p := len(pl.Stages)
	if p < 2 || p > wafers {
		return fmt.Errorf("plan: pipeline of %d stages on %d wafers: want 2 to %d stages", p, wafers, wafers)
	}
	if len(pl.Boundaries) != p-1 {
		return fmt.Errorf("plan: pipeline of %d stages has %d boundaries, want %d", p, len(pl.Boundaries), p-1)
	}
	if pl.MicroBatches < 1 {
		return fmt.Errorf("plan: pipeline micro_batches %d must be positive", pl.MicroBatches)
	}
	stageOf := map[wafer.DieID]int{}
	used := map[int]bool{}
	for k := range pl.Stages {
		st := &pl.Stages[k]
		if st.Wafer < 0 || st.Wafer >= wafers || used[st.Wafer] {
			return fmt.Errorf("plan: stage %d on wafer %d: want a distinct wafer in [0, %d)", k, st.Wafer, wafers)
		}
		used[st.Wafer] = true
		if len(st.Dies) == 0 {
			return fmt.Errorf("plan: stage %d uses no die", k)
		}
		for _, d := range st.Dies {
			if !s.Alive(d) || s.WaferOf(d) != st.Wafer {
				return fmt.Errorf("plan: stage %d: die %d is dead, missing or not on its wafer %d", k, d, st.Wafer)
			}
			stageOf[d] = k
		}
		if err := checkOrder(st.Order, pl.MicroBatches); err != nil {
			return fmt.Errorf("plan: stage %d: %w", k, err)
		}
		for _, nodes := range [][]Node{st.Forward, st.Backward, st.LastBackward, st.Finish} {
			if err := checkCounts(nodes, int64(pl.MicroBatches)); err != nil {
				return fmt.Errorf("plan: stage %d: %w", k, err)
			}
		}
		if len(st.Forward) == 0 || len(st.Backward) == 0 || len(st.LastBackward) == 0 {
			return fmt.Errorf("plan: stage %d needs forward, backward and last_backward passes", k)
		}
	}
	for k, b := range pl.Boundaries {
		for _, dir := range []struct {
			prog     *Program
			from, to int
		}{{b.Forward, k, k + 1}, {b.Backward, k + 1, k}} {
			if dir.prog == nil {
				return fmt.Errorf("plan: boundary %d→%d has no program", dir.from, dir.to)
			}
			for i := range dir.prog.Tasks {
				t := &dir.prog.Tasks[i]
				if len(t.Deps) == 0 && stageOf[t.Die] != dir.from {
					return fmt.Errorf("plan: boundary %d→%d, task %d %q: starts on die %d, not on stage %d", dir.from, dir.to, i, t.Name, t.Die, dir.from)
				}
				if t.Out && stageOf[Home(t)] != dir.to {
					return fmt.Errorf("plan: boundary %d→%d, task %d %q: a result on die %d, not on stage %d", dir.from, dir.to, i, t.Name, Home(t), dir.to)
				}
			}
		}
	}
	if pl.Tied != nil {
		for i := range pl.Tied.Tasks {
			t := &pl.Tied.Tasks[i]
			if k, ok := stageOf[t.Die]; !ok || (k != 0 && k != p-1) {
				return fmt.Errorf("plan: tied, task %d %q: on die %d, not on the first or last stage", i, t.Name, t.Die)
			}
		}
	}
	return nil
}

// Home is where a task's result is: a transfer's or send's destination,
// any other task's own die.
func Home(t *Task) wafer.DieID {
	if t.Kind == Transfer || t.Kind == Send {
		return t.Dst
	}
	return t.Die
}

// checkOrder holds an order to micro micro-batches: each once forward,
// then once backward.
func checkOrder(order []PassRef, micro int) error {
	if len(order) != 2*micro {
		return fmt.Errorf("order has %d passes, want %d for %d micro-batches", len(order), 2*micro, micro)
	}
	seen := make([][2]bool, micro)
	for _, r := range order {
		if r.Micro < 0 || r.Micro >= micro {
			return fmt.Errorf("order: pass %s of a micro-batch outside 0..%d", r, micro-1)
		}
		b := 0
		if r.Backward {
			b = 1
		}
		if seen[r.Micro][b] {
			return fmt.Errorf("order: pass %s twice", r)
		}
		if r.Backward && !seen[r.Micro][0] {
			return fmt.Errorf("order: pass %s before its forward pass", r)
		}
		seen[r.Micro][b] = true
	}
	return nil
}

// expand writes the pipeline's step out as one program (see
// Pipeline), for micro micro-batches (the plan's, or fewer for a
// shortened replay): each stage's passes as its own step, with its own
// handoffs and barriers, the boundary runs and Tied placed between them
// as their data allows. The stages' runs are interleaved in the order a
// pipeline could run them: a stage goes on while its next pass has what
// it needs.
func (pl *Pipeline) expand(micro int) (*Expansion, error) {
	ex := &Expansion{}
	p := len(pl.Stages)
	var tagBase int64
	type stageState struct {
		x     *expander
		order []PassRef
		next  int // the next pass of order; len(order): Finish
		done  bool
	}
	sts := make([]stageState, p)
	for k := range sts {
		sts[k] = stageState{x: &expander{ex: ex, out: map[wafer.DieID][]TaskID{}, barrier: -1, runs: map[*Node]int{}},
			order: pl.Stages[k].passes(micro)}
	}
	// outs[k][r]: stage k's out tasks per die when its pass r ended.
	type passKey struct {
		stage int
		ref   PassRef
	}
	outs := map[passKey]map[wafer.DieID][]TaskID{}
	tiedDone := pl.Tied == nil
	// place appends one run of prog: its tasks without dependencies wait
	// for entry(die); its unwaited tasks become sinks of the stages in
	// sinksOf; its out tasks join the handoff of to's dies.
	place := func(name string, prog *Program, entry func(wafer.DieID) []TaskID, to *expander, sinksOf ...*expander) error {
		n := &Node{Name: name, Count: 1, Program: prog}
		x := &expander{ex: ex, out: map[wafer.DieID][]TaskID{}, barrier: -1, runs: map[*Node]int{}, tagBase: tagBase}
		first := TaskID(len(ex.Program.Tasks))
		if err := x.runWith(n, func(t *Task) []TaskID { return entry(t.Die) }); err != nil {
			return err
		}
		tagBase = x.tagBase
		for i := range prog.Tasks {
			t := &ex.Program.Tasks[first+TaskID(i)]
			if t.Out && to != nil {
				to.out[Home(t)] = append(slices.Clip(to.out[Home(t)]), t.ID)
			}
		}
		for _, s := range sinksOf {
			s.sinks = append(s.sinks, x.sinks...)
		}
		return nil
	}
	for {
		progressed, finished := false, 0
		for k := range sts {
			st := &sts[k]
			for !st.done {
				st.x.tagBase = tagBase
				if st.next == len(st.order) {
					if pl.Tied != nil && (k == 0 || k == p-1) && !tiedDone {
						if sts[0].next < len(sts[0].order) || sts[p-1].next < len(sts[p-1].order) {
							break
						}
						gates := map[int]TaskID{}
						for _, e := range []int{0, p - 1} {
							gates[e] = sts[e].x.gate("gradients ready", pl.Stages[e].Dies[0])
						}
						err := place("tied", pl.Tied, func(d wafer.DieID) []TaskID {
							if pl.Stages[0].hasDie(d) {
								return []TaskID{gates[0]}
							}
							return []TaskID{gates[p-1]}
						}, nil, sts[0].x, sts[p-1].x)
						if err != nil {
							return nil, err
						}
						tiedDone = true
						st.x.tagBase = tagBase
					}
					if err := st.x.nodes(pl.Stages[k].Finish); err != nil {
						return nil, err
					}
					tagBase = st.x.tagBase
					st.done, progressed = true, true
					break
				}
				r := st.order[st.next]
				from := k - 1
				if r.Backward {
					from = k + 1
				}
				if from >= 0 && from < p {
					src, ok := outs[passKey{from, r}]
					if !ok {
						break
					}
					b := &pl.Boundaries[min(k, from)]
					prog, name := b.Forward, fmt.Sprintf("boundary %d→%d %s", from, k, r)
					if r.Backward {
						prog = b.Backward
					}
					if err := place(name, prog, func(d wafer.DieID) []TaskID { return src[d] }, st.x, st.x); err != nil {
						return nil, err
					}
					st.x.tagBase = tagBase
				}
				body := pl.Stages[k].Forward
				switch {
				case r.Backward && st.next == len(st.order)-1:
					body = pl.Stages[k].LastBackward
				case r.Backward:
					body = pl.Stages[k].Backward
				}
				if err := st.x.nodes(body); err != nil {
					return nil, err
				}
				tagBase = st.x.tagBase
				snap := make(map[wafer.DieID][]TaskID, len(st.x.out))
				for d, ids := range st.x.out {
					snap[d] = ids
				}
				outs[passKey{k, r}] = snap
				st.next++
				progressed = true
			}
			if st.done {
				finished++
			}
		}
		if finished == p {
			return ex, nil
		}
		if !progressed {
			var waits []string
			for k := range sts {
				if st := &sts[k]; !st.done && st.next < len(st.order) {
					waits = append(waits, fmt.Sprintf("stage %d at %s", k, st.order[st.next]))
				}
			}
			return nil, fmt.Errorf("plan: the pipeline's orders deadlock: %v each wait for a pass no stage can run", waits)
		}
	}
}

func (st *Stage) hasDie(d wafer.DieID) bool {
	for _, e := range st.Dies {
		if e == d {
			return true
		}
	}
	return false
}

// ExpandMicroBatches expands a pipeline plan's step as it runs with micro
// micro-batches (1 to the plan's): every stage's order restricted to them,
// the same passes, boundaries and Tied. Replays of fewer micro-batches let
// the simulator extrapolate a long pipeline from its steady state.
func (p *Plan) ExpandMicroBatches(micro int) (*Expansion, error) {
	if p.Pipeline == nil {
		return nil, fmt.Errorf("plan: only a pipeline plan expands by micro-batches")
	}
	if micro < 1 || micro > p.Pipeline.MicroBatches {
		return nil, fmt.Errorf("plan: %d micro-batches: the pipeline runs 1 to %d", micro, p.Pipeline.MicroBatches)
	}
	return p.Pipeline.expand(micro)
}
