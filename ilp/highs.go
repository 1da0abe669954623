package ilp

import "time"

// HiGHS solves Problems with the HiGHS MIP solver (Huangfu and Hall,
// "Parallelizing the dual revised simplex method", Math. Prog. Comp. 2018;
// branch-and-cut by the HiGHS team) through its C API (capi.go).
type HiGHS struct{}

var _ Solver = HiGHS{}

// Solve passes p to HiGHS, sets time_limit, mip_rel_gap, threads and
// output_flag, solves, and reads back status, objective, dual bound and
// gap. A solve stopped by the time limit returns its incumbent, if any.
func (HiGHS) Solve(p *Problem, o Options) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	start := time.Now()
	res, err := capiRun(p, o)
	if err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.Rows, res.Cols = len(p.Rows), len(p.Cols)
	for _, r := range p.Rows {
		res.Nonzeros += len(mergeTerms(r.Terms))
	}
	return res, nil
}
