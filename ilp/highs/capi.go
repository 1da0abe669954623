package highs

// This file calls the HiGHS C API directly. github.com/lanl/highs v1.0.3
// (which the tests keep as an independent cross-check) returns an empty
// solution whenever HiGHS reports a warning status — and HiGHS reports one
// when the time limit stops a MIP — so through it the best incumbent of a
// timed-out solve would be lost.

// The header highs_c_api.h defines its constants in every file that
// includes it, which breaks a cgo build (cgo compiles the preamble twice),
// so the few functions used are declared here and the constants are Go
// constants with the values of HiGHS 1.10's header.

/*
#cgo pkg-config: highs
#include <stdlib.h>
#include <util/HighsInt.h>
void* Highs_create(void);
void Highs_destroy(void* highs);
HighsInt Highs_run(void* highs);
HighsInt Highs_passMip(void* highs, const HighsInt num_col, const HighsInt num_row, const HighsInt num_nz,
	const HighsInt a_format, const HighsInt sense, const double offset, const double* col_cost,
	const double* col_lower, const double* col_upper, const double* row_lower, const double* row_upper,
	const HighsInt* a_start, const HighsInt* a_index, const double* a_value, const HighsInt* integrality);
HighsInt Highs_setBoolOptionValue(void* highs, const char* option, const HighsInt value);
HighsInt Highs_setIntOptionValue(void* highs, const char* option, const HighsInt value);
HighsInt Highs_setDoubleOptionValue(void* highs, const char* option, const double value);
HighsInt Highs_setStringOptionValue(void* highs, const char* option, const char* value);
HighsInt Highs_getIntOptionValue(const void* highs, const char* option, HighsInt* value);
HighsInt Highs_getDoubleOptionValue(const void* highs, const char* option, double* value);
HighsInt Highs_getModelStatus(const void* highs);
HighsInt Highs_getIntInfoValue(const void* highs, const char* info, HighsInt* value);
HighsInt Highs_getDoubleInfoValue(const void* highs, const char* info, double* value);
HighsInt Highs_getSolution(const void* highs, double* col_value, double* col_dual, double* row_value, double* row_dual);

// Interrupts: HiGHS calls tempcInterrupt from its simplex, IPM and MIP
// loops; it asks HiGHS to stop once *flag is set (by tempcRaise, from
// another thread).
#include <lp_data/HighsCallbackStruct.h>
HighsInt Highs_setCallback(void* highs, HighsCCallbackType user_callback, void* user_callback_data);
HighsInt Highs_startCallback(void* highs, const int callback_type);
static void tempcInterrupt(int type, const char* message, const HighsCallbackDataOut* out, HighsCallbackDataIn* in, void* flag) {
	if (in != NULL && __atomic_load_n((int*)flag, __ATOMIC_SEQ_CST)) {
		in->user_interrupt = 1;
	}
}
static HighsInt tempcWatch(void* highs, int* flag) {
	if (Highs_setCallback(highs, tempcInterrupt, flag) == -1) return -1;
	// kHighsCallbackSimplexInterrupt, kHighsCallbackIpmInterrupt and
	// kHighsCallbackMipInterrupt of highs_c_api.h (HiGHS 1.10), which
	// cannot be included here (see above).
	if (Highs_startCallback(highs, 1) == -1 || Highs_startCallback(highs, 2) == -1 || Highs_startCallback(highs, 6) == -1) return -1;
	return 0;
}
static void tempcRaise(int* flag) { __atomic_store_n(flag, 1, __ATOMIC_SEQ_CST); }
*/
import "C"

import (
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/tempc/tempc/ilp"
)

// Constants of highs_c_api.h (HiGHS 1.10).
const (
	hStatusError                = -1
	hMatrixRowwise              = 2
	hSenseMinimize              = 1
	hSolutionFeasible           = 2
	hModelOptimal               = 7
	hModelInfeasible            = 8
	hModelUnboundedOrInfeasible = 9
	hModelUnbounded             = 10
	hModelTimeLimit             = 13
	hModelIterationLimit        = 14
	hModelInterrupt             = 17
)

// capiRun solves p with HiGHS under o and reads back status, solution and
// bounds. It never discards an incumbent.
func capiRun(p *ilp.Problem, o ilp.Options) (*ilp.Result, error) {
	h := C.Highs_create()
	defer C.Highs_destroy(h)
	// ilp.Options first: output_flag must be off before HiGHS prints its banner.
	if err := capiOptions(h, o); err != nil {
		return nil, err
	}
	nc, nr := len(p.Cols), len(p.Rows)
	cost := make([]C.double, nc)
	lo := make([]C.double, nc)
	hi := make([]C.double, nc)
	integ := make([]C.HighsInt, nc)
	scale := costScale(p)
	for j, c := range p.Cols {
		cost[j], lo[j], hi[j] = C.double(c.Cost*scale), C.double(c.Lower), C.double(c.Upper)
		if c.Integer {
			integ[j] = 1 // kHighsVarTypeInteger
		}
	}
	rlo := make([]C.double, max(nr, 1))
	rhi := make([]C.double, max(nr, 1))
	start := make([]C.HighsInt, max(nr, 1))
	var index []C.HighsInt
	var value []C.double
	if nr == 0 { // HiGHS wants at least one row: a free, empty one
		rlo[0], rhi[0] = C.double(math.Inf(-1)), C.double(math.Inf(1))
	}
	for i, r := range p.Rows {
		terms := ilp.MergeTerms(r.Terms)
		k := rowScale(terms)
		rlo[i], rhi[i] = C.double(r.Lower*k), C.double(r.Upper*k)
		start[i] = C.HighsInt(len(index))
		for _, t := range terms {
			if math.Abs(t.Coef*k) >= smallCoef {
				index = append(index, C.HighsInt(t.Col))
				value = append(value, C.double(t.Coef*k))
			}
		}
	}
	rows := max(nr, 1)
	index = append(index, 0) // keep the pointers valid when empty
	value = append(value, 0)
	st := C.Highs_passMip(h, C.HighsInt(nc), C.HighsInt(rows), C.HighsInt(len(value)-1), hMatrixRowwise,
		hSenseMinimize, C.double(p.Offset*scale), &cost[0], &lo[0], &hi[0], &rlo[0], &rhi[0], &start[0],
		&index[0], &value[0], &integ[0])
	if st == hStatusError {
		return nil, fmt.Errorf("highs: HiGHS rejected the model %q", p.Name)
	}
	if !o.Deadline.IsZero() {
		left := time.Until(o.Deadline)
		if left <= 0 {
			return &ilp.Result{Status: ilp.TimeLimit, Detail: "time limit reached before the solve started"}, nil
		}
		if left < o.TimeLimit {
			short := o
			short.TimeLimit = left
			if err := capiOptions(h, short); err != nil {
				return nil, err
			}
		}
	}
	if o.Cancel != nil {
		stop, err := watch(h, o.Cancel)
		if err != nil {
			return nil, fmt.Errorf("highs: %q: %w", p.Name, err)
		}
		defer stop()
	}
	if C.Highs_run(h) == hStatusError {
		return nil, fmt.Errorf("highs: HiGHS failed on %q", p.Name)
	}
	res := capiResult(h, p, nc, rows)
	res.Objective /= scale
	res.DualBound /= scale
	return res, nil
}

// rowScale is the power of two that brings a row's largest coefficient
// near 1, so that HiGHS's absolute feasibility tolerance (1e-7) is relative
// to the row: a memory row of a small die in GB has coefficients of 1e-4,
// where an absolute 1e-7 would let an assignment exceed capacity by 0.1%.
func rowScale(terms []ilp.Term) float64 {
	big := 0.0
	for _, t := range terms {
		big = max(big, math.Abs(t.Coef))
	}
	if !(big > 0 && big < math.Inf(1)) {
		return 1
	}
	return math.Ldexp(1, -math.Ilogb(big))
}

// costScale is the power of two that brings the largest objective
// coefficient of p near 1. A tiny model's step costs 1e-7 s per option;
// unscaled, such costs sit below HiGHS's dual feasibility tolerance (1e-7)
// and the solver stops at assignments up to 1% worse than the optimum. A
// power of two scales without rounding.
func costScale(p *ilp.Problem) float64 {
	big := 0.0
	for _, c := range p.Cols {
		big = max(big, math.Abs(c.Cost))
	}
	if !(big > 0 && big < math.Inf(1)) { // zero, infinite or NaN: leave as is
		return 1
	}
	return math.Ldexp(1, -math.Ilogb(big))
}

// smallCoef is HiGHS's default small_matrix_value: smaller coefficients
// would be dropped with a warning, so they are dropped here silently.
const smallCoef = 1e-9

func capiOptions(h unsafe.Pointer, o ilp.Options) error {
	set := func(name string, f func(*C.char) C.HighsInt) error {
		var st C.HighsInt
		named(name, func(n *C.char) { st = f(n) })
		if st == hStatusError {
			return fmt.Errorf("highs: HiGHS rejected option %s", name)
		}
		return nil
	}
	flag := C.HighsInt(0)
	if o.Log {
		flag = 1
	}
	if err := set("output_flag", func(n *C.char) C.HighsInt { return C.Highs_setBoolOptionValue(h, n, flag) }); err != nil {
		return err
	}
	if err := set("time_limit", func(n *C.char) C.HighsInt {
		return C.Highs_setDoubleOptionValue(h, n, C.double(o.TimeLimit.Seconds()))
	}); err != nil {
		return err
	}
	if err := set("mip_rel_gap", func(n *C.char) C.HighsInt { return C.Highs_setDoubleOptionValue(h, n, C.double(o.RelGap)) }); err != nil {
		return err
	}
	// HiGHS's absolute gap (default 1e-6) would stop a MIP whose objective
	// is 1e-4 s at a 1% relative gap; only the relative gap decides.
	if err := set("mip_abs_gap", func(n *C.char) C.HighsInt { return C.Highs_setDoubleOptionValue(h, n, 0) }); err != nil {
		return err
	}
	if o.NoPresolve {
		if err := set("presolve", func(n *C.char) C.HighsInt {
			var st C.HighsInt
			named("off", func(v *C.char) { st = C.Highs_setStringOptionValue(h, n, v) })
			return st
		}); err != nil {
			return err
		}
	}
	if o.Threads > 0 {
		return set("threads", func(n *C.char) C.HighsInt { return C.Highs_setIntOptionValue(h, n, C.HighsInt(o.Threads)) })
	}
	return nil
}

func capiResult(h unsafe.Pointer, p *ilp.Problem, nc, nr int) *ilp.Result {
	res := &ilp.Result{}
	switch C.Highs_getModelStatus(h) {
	case hModelOptimal:
		res.Status, res.Detail = ilp.Optimal, "optimal"
	case hModelTimeLimit, hModelIterationLimit:
		res.Status, res.Detail = ilp.TimeLimit, "time limit reached"
	case hModelInterrupt:
		res.Status, res.Detail = ilp.TimeLimit, "interrupted"
	case hModelInfeasible:
		res.Status, res.Detail = ilp.Infeasible, "infeasible"
	case hModelUnbounded, hModelUnboundedOrInfeasible:
		res.Status, res.Detail = ilp.Unbounded, "unbounded or infeasible"
	default:
		res.Status, res.Detail = ilp.Failed, fmt.Sprintf("HiGHS model status %d", int(C.Highs_getModelStatus(h)))
	}
	info := func(name string) float64 {
		var v C.double
		named(name, func(n *C.char) { C.Highs_getDoubleInfoValue(h, n, &v) })
		return float64(v)
	}
	var ps C.HighsInt
	named("primal_solution_status", func(n *C.char) { C.Highs_getIntInfoValue(h, n, &ps) })
	if ps == hSolutionFeasible && res.Status != ilp.Infeasible {
		col := make([]C.double, nc)
		dual := make([]C.double, nc)
		row := make([]C.double, nr)
		rdual := make([]C.double, nr)
		C.Highs_getSolution(h, &col[0], &dual[0], &row[0], &rdual[0])
		res.X = make([]float64, nc)
		for j := range col {
			res.X[j] = float64(col[j])
		}
		res.HasSolution = true
		res.Objective = info("objective_function_value")
	}
	integer := false
	for _, c := range p.Cols {
		integer = integer || c.Integer
	}
	if integer {
		res.DualBound, res.MIPGap = info("mip_dual_bound"), info("mip_gap")
		if res.Status == ilp.Optimal && res.MIPGap > ilp.DefaultRelGap {
			// HiGHS says optimal at the caller's looser gap; say what was proven.
			res.Status, res.Detail = ilp.GapLimit, fmt.Sprintf("stopped at the requested relative gap (%.3g)", res.MIPGap)
		}
	} else if res.Status == ilp.Optimal {
		res.DualBound = res.Objective
	}
	return res
}

// capiOptionsReadBack sets o on a fresh HiGHS instance and reads the values
// back, so a test can see that every option reaches the solver under the
// name HiGHS knows it by.
func capiOptionsReadBack(o ilp.Options) (timeLimit, relGap float64, threads int, err error) {
	h := C.Highs_create()
	defer C.Highs_destroy(h)
	if err := capiOptions(h, o); err != nil {
		return 0, 0, 0, err
	}
	get := func(name string) float64 {
		var v C.double
		named(name, func(n *C.char) { C.Highs_getDoubleOptionValue(h, n, &v) })
		return float64(v)
	}
	var th C.HighsInt
	named("threads", func(n *C.char) { C.Highs_getIntOptionValue(h, n, &th) })
	return get("time_limit"), get("mip_rel_gap"), int(th), nil
}

// named calls f with name as a C string, freed afterwards.
func named(name string, f func(*C.char)) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	f(cs)
}

// watch makes HiGHS instance h stop its solve once cancel closes. stop
// ends the watch; it must be called before h is destroyed.
func watch(h unsafe.Pointer, cancel <-chan struct{}) (stop func(), err error) {
	flag := (*C.int)(C.malloc(C.size_t(unsafe.Sizeof(C.int(0)))))
	*flag = 0
	if C.tempcWatch(h, flag) != 0 {
		C.free(unsafe.Pointer(flag))
		return nil, fmt.Errorf("HiGHS refused the interrupt callback")
	}
	done, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-cancel:
			C.tempcRaise(flag)
		case <-done:
		}
	}()
	return func() {
		close(done)
		<-watched
		C.free(unsafe.Pointer(flag))
	}, nil
}
