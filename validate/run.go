package validate

import (
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer/sim"
)

// Options controls a validation run. The zero value means defaults.
type Options struct {
	// Suite names the case suite (default "default").
	Suite string
	// Seed seeds the random cases (0: 1).
	Seed uint64
	// Params are the cost model's parameters; Sim the simulator's settings.
	Params costmodel.Params
	Sim    sim.Config
	// Progress, when set, receives one line per case as it finishes.
	Progress io.Writer
}

// CaseResult is one case's two estimates.
type CaseResult struct {
	Class     string  `json:"class"`
	Name      string  `json:"name"`
	Analytic  float64 `json:"analytic_seconds"`
	Simulated float64 `json:"simulated_seconds"`
	// RelErr is (analytic − simulated) / simulated: positive when the model
	// is pessimistic.
	RelErr float64 `json:"rel_err"`
	Events int64   `json:"events"`
}

// Stats summarises |relative error| over a set of cases.
type Stats struct {
	Class  string  `json:"class,omitempty"`
	Cases  int     `json:"cases"`
	Median float64 `json:"median_rel_err"`
	P95    float64 `json:"p95_rel_err"`
	Max    float64 `json:"max_rel_err"`
}

// Report is a whole validation run.
type Report struct {
	Suite string `json:"suite"`
	Seed  uint64 `json:"seed"`
	Stats
	Classes     []Stats      `json:"classes"`
	Results     []CaseResult `json:"results"`
	WallSeconds float64      `json:"wall_seconds"`
}

// Run prices and simulates every case of the suite. It checks the options
// and measures every case's simulation before running any, so that a
// packet size too small for the simulator's event limit fails at once,
// naming the case.
func Run(o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Suite == "" {
		o.Suite = "default"
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	cases, err := Suite(o.Suite, o.Seed)
	if err != nil {
		return nil, err
	}
	progs, err := build(cases, o)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &Report{Suite: o.Suite, Seed: o.Seed}
	for i, c := range cases {
		r, err := runCase(c, progs[i], o)
		if err != nil {
			return nil, fmt.Errorf("validate: case %s/%s: %w", c.Class, c.Name, err)
		}
		rep.Results = append(rep.Results, r)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "[%d/%d] %s/%s: %+.2f%%\n", i+1, len(cases), c.Class, c.Name, 100*r.RelErr)
		}
	}
	rep.WallSeconds = time.Since(start).Seconds()
	rep.Stats = summarise("", rep.Results)
	for _, cl := range Classes {
		var in []CaseResult
		for _, r := range rep.Results {
			if r.Class == cl {
				in = append(in, r)
			}
		}
		if len(in) > 0 {
			rep.Classes = append(rep.Classes, summarise(cl, in))
		}
	}
	return rep, nil
}

// simConfig is the simulator's configuration of case c in a run.
func simConfig(o Options, c *Case) sim.Config {
	cfg := o.Sim
	cfg.Routing = o.Params.Routing
	cfg.NetworkOnly = !c.Memory
	return cfg
}

func runCase(c Case, p *plan.Program, o Options) (CaseResult, error) {
	m, err := costmodel.New(c.Spec, o.Params)
	if err != nil {
		return CaseResult{}, err
	}
	a, err := c.Analytic(m)
	if err != nil {
		return CaseResult{}, err
	}
	res, err := sim.Run(c.Spec, p, simConfig(o, &c))
	if err != nil {
		return CaseResult{}, err
	}
	return CaseResult{Class: c.Class, Name: c.Name, Analytic: a, Simulated: res.Makespan,
		RelErr: (a - res.Makespan) / res.Makespan, Events: res.Events}, nil
}

func summarise(class string, rs []CaseResult) Stats {
	errs := make([]float64, len(rs))
	for i, r := range rs {
		errs[i] = math.Abs(r.RelErr)
	}
	sort.Float64s(errs)
	return Stats{Class: class, Cases: len(rs), Median: Quantile(errs, 0.5), P95: Quantile(errs, 0.95), Max: errs[len(errs)-1]}
}

// Quantile is the q-quantile of sorted xs by linear interpolation between
// closest ranks.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 1 {
		return xs[0]
	}
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (pos-float64(i))*(xs[i+1]-xs[i])
}
