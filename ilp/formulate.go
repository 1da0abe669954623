package ilp

import (
	"fmt"
	"math"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/partition"
)

//go:generate go run github.com/tempc/tempc/internal/enumgen -type Objective

// Objective selects what the global level minimises. The line comments of
// its constants are their names (tempc solve --objective).
type Objective int

// Objectives.
const (
	// StepTime minimises the seconds per training step.
	StepTime Objective = iota // time
	// Energy minimises the joules per training step.
	Energy // energy
)

// Config controls Formulate. The zero value minimises step time.
type Config struct {
	Objective Objective
	// Elastic adds one slack variable to every memory row and minimises it
	// instead: the least memory per die beyond capacity that makes some
	// assignment fit (used to explain infeasibility).
	Elastic bool
	// LeastMemory makes Solve solve twice: for the objective, then for the
	// least peak memory per die among assignments whose objective is
	// within MemoryTolerance (relative) of the first solve's.
	LeastMemory     bool
	MemoryTolerance float64
	// WithinBound, when positive, is the second solve's model: the
	// objective becomes peak memory per die (in GB) and the first
	// objective a row, at most WithinBound.
	WithinBound float64
}

// VarKind says what a column of a Model stands for.
type VarKind uint8

// Column kinds.
const (
	VarLayout    VarKind = iota // y[ℓ]: layout ℓ is chosen
	VarOption                   // x[g,o,ℓ]: group g runs option o in layout ℓ
	VarReshard                  // z[e,a,b,ℓ]: edge e reshards from layout a to b in ℓ
	VarTransient                // t[ℓ]: the largest transient buffer in ℓ
	VarSlack                    // s: memory beyond capacity (elastic only)
	VarExposed                  // e[ℓ]: DP all-reduce time the backward pass does not hide in ℓ
)

// Var describes one column.
type Var struct {
	Kind                 VarKind
	Layout, Group, Index int // Index: option, or edge
	From, To             partition.Act
}

// Model is the global-level integer program of a priced strategy space:
//
//	minimise   Σ_ℓ fixed_ℓ·y_ℓ + Σ price(g,o,ℓ)·x_{g,o,ℓ} + Σ reshard(e,a,b,ℓ)·z_{e,a,b,ℓ}
//	subject to Σ_ℓ y_ℓ = 1                                 (one layout)
//	           Σ_o x_{g,o,ℓ} = y_ℓ            for all g, ℓ  (one option per group in the chosen layout)
//	           z_{e,a,b,ℓ} ≥ Σ_{o: out(o)=a} x_{u,o,ℓ} + Σ_{o: in(o)=b} x_{v,o,ℓ} − 1
//	                                          for every edge e = (u→v) and a ≠ b (resharding, linearised)
//	           t_ℓ ≥ Σ_o transient(g,o,ℓ)·x_{g,o,ℓ}   for all g, ℓ   (memory in GB)
//	           Σ held(g,o,ℓ)·x_{g,o,ℓ} + t_ℓ + (static_ℓ − capacity)·y_ℓ ≤ 0   for all ℓ (memory)
//	           e_ℓ ≥ tail_ℓ·y_ℓ;  e_ℓ ≥ sync_ℓ·y_ℓ − Σ backward(g,o,ℓ)·x_{g,o,ℓ};
//	           e_ℓ ≥ (hbm_ℓ/port_ℓ)·y_ℓ + Σ (backwardHBM(g,o,ℓ)/port_ℓ − backward(g,o,ℓ))·x_{g,o,ℓ}   for ℓ with DP
//	                                          (e_ℓ in units of sync_ℓ)
//	           y, x ∈ {0,1};  z ∈ [0,1];  t, e ≥ 0
//
// where e_ℓ, the DP gradient all-reduce's exposed time (costmodel.Sync),
// costs one second a second of it (the wafer's static watts in the energy
// objective): the buckets run beside the last micro-batch's backward pass
// and share each die's HBM port with its kernels.
//
// Identical layers share their groups' variables (aliasing, done by
// partition); the cost of a shared group counts all its layers. Resharding
// is linearised as in Alpa (Zheng et al., OSDI 2022), on layout indicators
// rather than strategy pairs, so an edge costs at most 6 columns per layout.
type Model struct {
	Problem Problem
	Vars    []Var
	Table   *costmodel.Table
	Config  Config
}

// Formulate builds the model of t. It is pure: the same table gives the
// same model, whose Problem.Text is its canonical form.
func Formulate(t *costmodel.Table, cfg Config) *Model {
	f := &formulation{m: &Model{Table: t, Config: cfg}, t: t}
	f.m.Problem.Name = t.Space.Graph.Name + "@" + t.Space.Spec.Name
	nl := len(t.Space.Layouts)
	f.y = make([]int, nl)
	f.skip = f.dominatedLayouts()
	for li := range t.Space.Layouts {
		if f.skip[li] {
			f.y[li] = -1
			continue
		}
		f.y[li] = f.col(Var{Kind: VarLayout, Layout: li}, f.cost(t.Fixed[li]), 1, true)
	}
	one := Row{Name: "layout", Lower: 1, Upper: 1}
	for _, c := range f.y {
		if c >= 0 {
			one.Terms = append(one.Terms, Term{c, 1})
		}
	}
	f.row(one)
	slack := -1
	if cfg.Elastic {
		slack = f.col(Var{Kind: VarSlack}, 1, math.Inf(1), false)
	}
	for li := range t.Space.Layouts {
		if !f.skip[li] {
			f.layout(li, slack)
		}
	}
	if cfg.WithinBound > 0 {
		f.memoryObjective()
	}
	return f.m
}

// memoryObjective turns the objective into a row — at most WithinBound —
// and minimises the chosen layout's peak memory per die instead: its
// static terms, the chosen options' saved activations, and its largest
// transient buffer, in GB; plus the first objective weighted so that the
// bound is worth tieWeight GB, which makes the faster of two plans of
// equal memory win without trading more than 0.1 MB for it.
func (f *formulation) memoryObjective() {
	const tieWeight = 1e-4
	p := &f.m.Problem
	bound := f.m.Config.WithinBound
	within := Row{Name: "within", Lower: math.Inf(-1), Upper: bound}
	for j := range p.Cols {
		c := p.Cols[j].Cost
		if c != 0 {
			within.Terms = append(within.Terms, Term{j, c})
		}
		v := f.m.Vars[j]
		tie := c / bound * tieWeight
		switch v.Kind {
		case VarLayout:
			p.Cols[j].Cost = f.t.Fixed[v.Layout].Mem.Total()/memUnit + tie
		case VarOption:
			p.Cols[j].Cost = f.t.Options[v.Group][v.Index].Price[v.Layout].Mem.Held()/memUnit + tie
		case VarTransient:
			p.Cols[j].Cost = 1
		default:
			p.Cols[j].Cost = tie
		}
	}
	f.row(within)
	p.Name += " (least memory)"
}

// memUnit is the unit of the memory rows, the transient columns and the
// elastic slack: gigabytes (10^9 bytes), so that coefficients stay near 1
// and the solver's numerics are well scaled.
const memUnit = 1e9

type formulation struct {
	m *Model
	t *costmodel.Table
	y []int
	// skip marks layouts dominated by another (see dominatedLayouts).
	skip []bool
}

func (f *formulation) cost(p costmodel.Price) float64 {
	if f.m.Config.Elastic {
		return 0
	}
	if f.m.Config.Objective == Energy {
		return p.Energy
	}
	return p.Seconds
}

func (f *formulation) col(v Var, cost, upper float64, integer bool) int {
	f.m.Vars = append(f.m.Vars, v)
	f.m.Problem.Cols = append(f.m.Problem.Cols, Col{Name: f.name(v), Cost: cost, Upper: upper, Integer: integer})
	return len(f.m.Problem.Cols) - 1
}

func (f *formulation) row(r Row) { f.m.Problem.Rows = append(f.m.Problem.Rows, r) }

// name gives a column its readable, unique name.
func (f *formulation) name(v Var) string {
	sp := f.t.Space
	switch v.Kind {
	case VarLayout:
		return "y[" + sp.Layouts[v.Layout].Name() + "]"
	case VarOption:
		return fmt.Sprintf("x[%s|%s|%s]", sp.Groups[v.Group].Key, f.t.Options[v.Group][v.Index].Name(), sp.Layouts[v.Layout].Name())
	case VarReshard:
		e := sp.Edges[v.Index]
		return fmt.Sprintf("z[%s>%s#%d|%s%s|%s]", sp.Groups[e.From].Key, sp.Groups[e.To].Key, v.Index, v.From, v.To, sp.Layouts[v.Layout].Name())
	case VarTransient:
		return "t[" + sp.Layouts[v.Layout].Name() + "]"
	case VarExposed:
		return "e[" + sp.Layouts[v.Layout].Name() + "]"
	}
	return "slack"
}

// layout adds the columns and rows of layout li. The memory row, the
// transient column and its rows are left out when even the most
// memory-hungry options fit (worstMem): such a row cannot bind, and its
// coefficients — a tiny model's activations are 1e-7 GB against a 72 GB
// capacity — only hurt the solver's numerics.
func (f *formulation) layout(li, slack int) {
	t, sp := f.t, f.t.Space
	ln := sp.Layouts[li].Name()
	binds := f.worstMem(li) > t.Capacity
	// The transient column is needed where memory binds, and wherever
	// memory is the objective.
	needT := binds || f.m.Config.WithinBound > 0
	var mem Row
	tcol := -1
	if needT {
		tcol = f.col(Var{Kind: VarTransient, Layout: li}, 0, math.Inf(1), false)
	}
	if binds {
		mem = Row{Name: "mem[" + ln + "]", Lower: math.Inf(-1), Upper: 0,
			Terms: []Term{{tcol, 1}, {f.y[li], (t.Fixed[li].Mem.Total() - t.Capacity) / memUnit}}}
		if slack >= 0 {
			mem.Terms = append(mem.Terms, Term{slack, -1})
		}
	}
	x := make([][]int, len(sp.Groups)) // column of each valid option, or −1
	for gi := range sp.Groups {
		x[gi] = make([]int, len(t.Options[gi]))
		hot := Row{Name: fmt.Sprintf("onehot[%s|%s]", sp.Groups[gi].Key, ln), Terms: []Term{{f.y[li], -1}}}
		tr := Row{Name: fmt.Sprintf("transient[%s|%s]", sp.Groups[gi].Key, ln), Lower: math.Inf(-1), Terms: []Term{{tcol, -1}}}
		for oi, o := range t.Options[gi] {
			x[gi][oi] = -1
			if !o.Valid[li] || f.dominated(gi, oi, li) {
				continue
			}
			c := f.col(Var{Kind: VarOption, Layout: li, Group: gi, Index: oi}, f.cost(o.Price[li]), 1, true)
			x[gi][oi] = c
			hot.Terms = append(hot.Terms, Term{c, 1})
			tr.Terms = append(tr.Terms, Term{c, o.Price[li].Mem.Transient / memUnit})
			mem.Terms = append(mem.Terms, Term{c, o.Price[li].Mem.Held() / memUnit})
		}
		f.row(hot)
		if needT {
			f.row(tr)
		}
	}
	if binds {
		f.row(mem)
	}
	if s := syncOf(t, li); s.Seconds > 0 {
		rate := 1.0
		if f.m.Config.Objective == Energy {
			rate = t.Space.Spec.StaticWatts()
		}
		if f.m.Config.Elastic {
			rate = 0
		}
		// The column is in units of the sync's time, so that the rows'
		// coefficients are near 1 and the solver's feasibility tolerance
		// (absolute, about 1e-7) is relative to it: a tiny model's sync
		// takes less than a microsecond.
		e := f.col(Var{Kind: VarExposed, Layout: li}, rate*s.Seconds, math.Inf(1), false)
		f.row(Row{Name: "tail[" + ln + "]", Upper: math.Inf(1), Terms: []Term{{e, 1}, {f.y[li], -s.Tail / s.Seconds}}})
		win := Row{Name: "exposed[" + ln + "]", Upper: math.Inf(1), Terms: []Term{{e, 1}, {f.y[li], -1}}}
		for gi := range sp.Groups {
			for oi, c := range x[gi] {
				if b := t.Options[gi][oi].Price[li].Backward; c >= 0 && b > 0 {
					win.Terms = append(win.Terms, Term{c, b / s.Seconds})
				}
			}
		}
		f.row(win)
		if s.Port > 0 {
			port := Row{Name: "port[" + ln + "]", Upper: math.Inf(1), Terms: []Term{{e, 1}, {f.y[li], -s.HBM / s.Port / s.Seconds}}}
			for gi := range sp.Groups {
				for oi, c := range x[gi] {
					p := t.Options[gi][oi].Price[li]
					if k := p.Backward - p.BackwardHBM/s.Port; c >= 0 && k != 0 {
						port.Terms = append(port.Terms, Term{c, k / s.Seconds})
					}
				}
			}
			f.row(port)
		}
	}
	for ei, e := range t.Edges {
		f.edge(li, ei, e, x)
	}
}

// worstMem is the most memory per die any assignment of layout li can
// need: its static terms, every group's hungriest option's saved
// activations, and the largest transient buffer of any option.
func (f *formulation) worstMem(li int) float64 {
	t := f.t
	total, transient := t.Fixed[li].Mem.Total(), 0.0
	for gi := range t.Options {
		acts := 0.0
		for _, o := range t.Options[gi] {
			if o.Valid[li] {
				acts = max(acts, o.Price[li].Mem.Held())
				transient = max(transient, o.Price[li].Mem.Transient)
			}
		}
		total += acts
	}
	return total + transient
}

// edge adds the resharding columns and rows of edge ei in layout li, for
// every pair of layouts that costs something.
func (f *formulation) edge(li, ei int, e costmodel.EdgePrice, x [][]int) {
	t := f.t
	for a := partition.Act(0); a < partition.NumActs; a++ {
		for b := partition.Act(0); b < partition.NumActs; b++ {
			p := e.Cost[li][a][b]
			if a == b || f.cost(p) == 0 {
				continue // free (every cost is zero in the elastic model)
			}
			z := f.col(Var{Kind: VarReshard, Layout: li, Index: ei, From: a, To: b}, f.cost(p), 1, false)
			r := Row{Name: "reshard[" + f.m.Problem.Cols[z].Name[2:], Lower: -1, Upper: math.Inf(1), Terms: []Term{{z, 1}}}
			for oi, o := range t.Options[e.Edge.From] {
				if c := x[e.Edge.From][oi]; c >= 0 && o.Scheme.Out() == a {
					r.Terms = append(r.Terms, Term{c, -1})
				}
			}
			for oi, o := range t.Options[e.Edge.To] {
				side := o.Scheme.In()
				if e.Edge.Out {
					side = o.Scheme.Out()
				}
				if c := x[e.Edge.To][oi]; c >= 0 && side == b {
					r.Terms = append(r.Terms, Term{c, -1})
				}
			}
			f.row(r)
		}
	}
}

// dominated reports whether another valid option of group gi in layout li
// consumes and produces the same activation layouts and is no worse in
// cost, saved activations and transient memory — strictly better in one,
// or equal in all and listed first. Such an option never needs a column:
// swapping it for the other keeps every constraint and the objective.
func (f *formulation) dominated(gi, oi, li int) bool {
	opts := f.t.Options[gi]
	o := opts[oi]
	p := o.Price[li]
	for qi, q := range opts {
		if qi == oi || !q.Valid[li] || q.Scheme.In() != o.Scheme.In() || q.Scheme.Out() != o.Scheme.Out() {
			continue
		}
		r := q.Price[li]
		// q must be no worse even where p's backward pass would hide more
		// of the DP all-reduce: longer, or lighter on the HBM port.
		gain := p.Backward - r.Backward
		if port := syncOf(f.t, li).Port; port > 0 {
			gain = max(gain, (r.BackwardHBM-p.BackwardHBM)/port+gain)
		}
		cr := f.cost(r) + f.hides(li, gain)
		if cr > f.cost(p) || r.Mem.Held() > p.Mem.Held() || r.Mem.Transient > p.Mem.Transient {
			continue
		}
		if cr < f.cost(p) || r.Mem.Held() < p.Mem.Held() || r.Mem.Transient < p.Mem.Transient || qi < oi {
			return true
		}
	}
	return false
}

// syncOf is layout li's DP all-reduce (none in a table without Sync).
func syncOf(t *costmodel.Table, li int) costmodel.Sync {
	if li < len(t.Sync) {
		return t.Sync[li]
	}
	return costmodel.Sync{}
}

// hides is what s seconds of DP all-reduce exposure in layout li cost in
// the objective (zero without DP, or when s ≤ 0).
func (f *formulation) hides(li int, s float64) float64 {
	if s <= 0 || syncOf(f.t, li).Seconds <= 0 || f.m.Config.Elastic {
		return 0
	}
	if f.m.Config.Objective == Energy {
		return s * f.t.Space.Spec.StaticWatts()
	}
	return s
}

// dominatedLayouts marks every layout that another layout beats or ties on
// every count — fixed cost and memory, each option's validity, cost, saved
// activations and transient memory, each edge's cost — being strictly
// better on one, or tied on all and listed first. Whatever assignment a
// dominated layout admits, the same options in the dominating layout fit
// as well and cost no more, so the dominated layout gets no columns. (With
// ZeRO costing no time, for instance, a layout without it is dominated by
// its twin with it.)
func (f *formulation) dominatedLayouts() []bool {
	n := len(f.t.Space.Layouts)
	skip := make([]bool, n)
	for b := 0; b < n; b++ {
		for a := 0; a < n && !skip[b]; a++ {
			if a != b && !skip[a] {
				if le, strict := f.layoutLE(a, b); le && (strict || a < b) {
					skip[b] = true
				}
			}
		}
	}
	return skip
}

// layoutLE reports whether layout a is no worse than b on every count, and
// whether it is strictly better on one.
func (f *formulation) layoutLE(a, b int) (le, strict bool) {
	t := f.t
	cmp := func(x, y float64) bool { // x ≤ y, noting x < y
		if x < y {
			strict = true
		}
		return x <= y
	}
	fa, fb := t.Fixed[a], t.Fixed[b]
	// a's DP all-reduce, however little its backward passes hide, must
	// cost no more than b's, however much they hide.
	sa, sb := syncOf(t, a), syncOf(t, b)
	if !cmp(f.cost(fa)+f.hides(a, sa.Seconds), f.cost(fb)+f.hides(b, sb.Exposed(math.Inf(1), 0))) || !cmp(fa.Mem.Total(), fb.Mem.Total()) {
		return false, false
	}
	for gi := range t.Options {
		for _, o := range t.Options[gi] {
			if !o.Valid[b] {
				continue
			}
			if !o.Valid[a] {
				return false, false
			}
			pa, pb := o.Price[a], o.Price[b]
			if !cmp(f.cost(pa), f.cost(pb)) || !cmp(pa.Mem.Held(), pb.Mem.Held()) || !cmp(pa.Mem.Transient, pb.Mem.Transient) {
				return false, false
			}
		}
	}
	for _, e := range t.Edges {
		for x := range e.Cost[a] {
			for y := range e.Cost[a][x] {
				if !cmp(f.cost(e.Cost[a][x][y]), f.cost(e.Cost[b][x][y])) {
					return false, false
				}
			}
		}
	}
	return true, strict
}
