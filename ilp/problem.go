package ilp

import (
	"fmt"
	"math"
	"runtime"
	"time"
)

// Col is one variable of a Problem.
type Col struct {
	Name         string
	Cost         float64
	Lower, Upper float64 // may be ±Inf
	Integer      bool
}

// Term is one coefficient of a row.
type Term struct {
	Col  int
	Coef float64
}

// Row is one linear constraint Lower ≤ Σ Coef·x[Col] ≤ Upper.
type Row struct {
	Name         string
	Terms        []Term
	Lower, Upper float64 // may be ±Inf
}

// Problem is a mixed-integer linear program:
//
//	minimise  Offset + Σ Cost_j·x_j
//	subject to Row.Lower ≤ Σ Coef·x ≤ Row.Upper for every row,
//	           Col.Lower ≤ x_j ≤ Col.Upper, x_j integral where Integer.
type Problem struct {
	Name   string
	Cols   []Col
	Rows   []Row
	Offset float64
}

// Validate reports malformed problems (no columns, NaN data, crossed bounds,
// terms on missing columns), naming the row or column.
func (p *Problem) Validate() error {
	if len(p.Cols) == 0 {
		return fmt.Errorf("ilp: problem %q has no variables", p.Name)
	}
	for j, c := range p.Cols {
		if math.IsNaN(c.Cost) || math.IsNaN(c.Lower) || math.IsNaN(c.Upper) || c.Lower > c.Upper {
			return fmt.Errorf("ilp: problem %q: column %d %q has cost %g and bounds [%g, %g]", p.Name, j, c.Name, c.Cost, c.Lower, c.Upper)
		}
	}
	for i, r := range p.Rows {
		if math.IsNaN(r.Lower) || math.IsNaN(r.Upper) || r.Lower > r.Upper {
			return fmt.Errorf("ilp: problem %q: row %d %q has bounds [%g, %g]", p.Name, i, r.Name, r.Lower, r.Upper)
		}
		for _, t := range r.Terms {
			if t.Col < 0 || t.Col >= len(p.Cols) || math.IsNaN(t.Coef) || math.IsInf(t.Coef, 0) {
				return fmt.Errorf("ilp: problem %q: row %d %q has term %+v", p.Name, i, r.Name, t)
			}
		}
	}
	return nil
}

//go:generate go run github.com/tempc/tempc/internal/enumgen -type Status -text

// Status is the outcome of a solve. The line comments of its constants are
// their names, as JSON writes them.
type Status int

// Solve outcomes.
const (
	// Optimal: the solution is optimal within the relative gap requested.
	Optimal Status = iota // optimal
	// TimeLimit: the time ran out; Result holds the best incumbent, if any
	// (HasSolution), and its certified gap.
	TimeLimit // time-limit
	// Infeasible: no assignment satisfies the constraints.
	Infeasible // infeasible
	// Unbounded: the objective decreases without bound.
	Unbounded // unbounded
	// Failed: the solver stopped for another reason (see Result.Detail).
	Failed // failed
	// GapLimit: the solver stopped at a relative gap the caller allowed
	// above DefaultRelGap; the incumbent is within MIPGap of the optimum
	// but not proven optimal.
	GapLimit // gap-limit
)

// Options controls a solve. The zero value means defaults.
type Options struct {
	// TimeLimit bounds the solve (0: DefaultTimeLimit). A solve is never
	// unbounded in time.
	TimeLimit time.Duration
	// RelGap is the relative MIP gap at which the solver may stop and call
	// the incumbent optimal (0: DefaultRelGap).
	RelGap float64
	// Threads is the solver's thread count (0: let the solver decide). It
	// is capped at runtime.NumCPU(): more threads than cores only slow a
	// solve down, and HiGHS aborts the process when it cannot allocate
	// tens of thousands of them.
	Threads int
	// Deadline, when set, also ends the solve: HiGHS is given the time
	// left when it starts (at most TimeLimit), so a caller's budget covers
	// formulating and loading the model too.
	Deadline time.Time
	// Cancel, when closed, interrupts the solve (a caller's context
	// ending: Done()): HiGHS is asked to stop at its next interrupt check,
	// and Solve returns at once with Result.Status TimeLimit, Detail
	// "interrupted" and no incumbent; the caller reports its own
	// cancellation.
	Cancel <-chan struct{}
	// NoPresolve switches HiGHS's presolve off (used to confirm an
	// infeasibility that presolve declared).
	NoPresolve bool
	// Log prints the solver's own progress log to stdout.
	Log bool
}

// Defaults of Options.
const (
	DefaultTimeLimit = 60 * time.Second
	DefaultRelGap    = 1e-6
)

// Validate rejects negative limits and thread counts and gaps outside
// [0, 1) (NaN included).
func (o Options) Validate() error {
	if o.TimeLimit < 0 || o.Threads < 0 {
		return fmt.Errorf("ilp: time limit %v and threads %d must not be negative", o.TimeLimit, o.Threads)
	}
	if !(o.RelGap >= 0 && o.RelGap < 1) {
		return fmt.Errorf("ilp: relative gap %g must lie in [0, 1)", o.RelGap)
	}
	return nil
}

// WithDefaults fills a zero time limit and gap with the defaults and caps
// Threads at the CPUs present, as every Solver does before solving.
func (o Options) WithDefaults() Options {
	if o.TimeLimit == 0 {
		o.TimeLimit = DefaultTimeLimit
	}
	if o.RelGap == 0 {
		o.RelGap = DefaultRelGap
	}
	o.Threads = min(o.Threads, runtime.NumCPU())
	return o
}

// Result is what a solve established.
type Result struct {
	Status Status `json:"status"`
	// HasSolution says X and Objective hold a feasible assignment.
	HasSolution bool      `json:"has_solution"`
	X           []float64 `json:"-"`
	Objective   float64   `json:"objective"`
	// DualBound is the best proven lower bound on the optimum; MIPGap is
	// (Objective − DualBound) / |Objective| as the solver reports it.
	DualBound float64 `json:"dual_bound"`
	MIPGap    float64 `json:"mip_gap"`
	Seconds   float64 `json:"solve_seconds"`
	// Rows, Cols and Nonzeros give the model size.
	Rows     int `json:"rows"`
	Cols     int `json:"cols"`
	Nonzeros int `json:"nonzeros"`
	// Detail is the solver's own status name.
	Detail string `json:"detail"`
}

// Solver solves Problems. Implementations must honour Options.TimeLimit.
type Solver interface {
	Solve(p *Problem, o Options) (*Result, error)
}
