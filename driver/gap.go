package driver

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ilp/highs"
)

// GapOptions are the options of `tempc gap`.
type GapOptions struct {
	tempc.Options
	// MaxEnumerate bounds the assignments brute force may enumerate
	// (default 2e6).
	MaxEnumerate float64
	JSON         bool
}

// GapReport says how far the plan can be from optimal.
type GapReport struct {
	Model     string  `json:"model"`
	Wafer     string  `json:"wafer"`
	Status    string  `json:"status"`
	Objective float64 `json:"objective"`
	DualBound float64 `json:"dual_bound"`
	MIPGap    float64 `json:"mip_gap"`
	LPBound   float64 `json:"lp_relaxation_bound"`
	// Combinations is the number of strategy assignments; when at most
	// MaxEnumerate, BruteForce holds the best one's objective and
	// MatchesBruteForce whether the ILP found it (to 1e-9 relative).
	Combinations      float64  `json:"combinations"`
	Enumerated        bool     `json:"enumerated"`
	BruteForce        *float64 `json:"brute_force_objective,omitempty"`
	MatchesBruteForce *bool    `json:"matches_brute_force,omitempty"`
}

// Gap solves the global level and reports its objective, the LP relaxation
// bound and the MIP gap, and on spaces small enough whether exhaustive
// enumeration finds the same optimum.
func Gap(ctx context.Context, w io.Writer, o GapOptions) error {
	if o.MaxEnumerate == 0 {
		o.MaxEnumerate = 2e6
	}
	sv, err := tempc.Solve(ctx, o.Options)
	if err != nil {
		if o.JSON {
			if werr := writeJSON(w, tempc.Failure(o.Options, err)); werr != nil {
				return werr
			}
		}
		return err
	}
	p, sol := sv, sv.Solution
	cfg := ilp.Config{Objective: o.Objective}
	so := o.Solver // the LP bound shares the planning budget
	if so.TimeLimit, so.Deadline = time.Until(sv.Deadline), sv.Deadline; so.TimeLimit <= 0 {
		return o.TimeUp("computing the LP bound", context.DeadlineExceeded)
	}
	lp, err := ilp.LPRelaxation(p.Table, cfg, highs.Solver{}, so)
	if err != nil {
		return err
	}
	r := GapReport{Model: p.Table.Space.Graph.Name, Wafer: p.Spec.Name, Status: sol.Result.Status.String(),
		Objective: sol.Result.Objective, DualBound: sol.Result.DualBound, MIPGap: sol.Result.MIPGap,
		LPBound: lp.Objective, Combinations: ilp.Combinations(p.Table)}
	if r.Combinations <= o.MaxEnumerate {
		_, b, ok := ilp.BruteForce(p.Table, o.Objective)
		if ok {
			v := b.Seconds
			if o.Objective == ilp.Energy {
				v = b.Energy
			}
			same := math.Abs(v-sol.Result.Objective) <= 1e-9*math.Abs(v)
			r.Enumerated, r.BruteForce, r.MatchesBruteForce = true, &v, &same
		}
	}
	if o.JSON {
		return writeJSON(w, r)
	}
	fmt.Fprintf(w, "%s on %s: %s\n", r.Model, r.Wafer, r.Status)
	fmt.Fprintf(w, "objective       %.9g\nMIP dual bound  %.9g (gap %.3g%%)\nLP relaxation   %.9g (%.3g%% below the objective)\n",
		r.Objective, r.DualBound, 100*r.MIPGap, r.LPBound, max(0, 100*(r.Objective-r.LPBound)/r.Objective))
	switch {
	case r.Enumerated && *r.MatchesBruteForce:
		fmt.Fprintf(w, "brute force     %.9g over %.0f assignments: the ILP optimum equals it\n", *r.BruteForce, r.Combinations)
	case r.Enumerated:
		fmt.Fprintf(w, "brute force     %.9g over %.0f assignments: the ILP optimum DIFFERS\n", *r.BruteForce, r.Combinations)
	default:
		fmt.Fprintf(w, "brute force     skipped: %.3g assignments exceed the limit of %.3g\n", r.Combinations, o.MaxEnumerate)
	}
	return nil
}
