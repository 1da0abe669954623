package plan

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tempc/tempc/wafer"
)

// The names a plan's enumerated fields may take. They are the strings of
// the compiler's own enums (partition.ScheduleNames, partition.SchemeNames,
// partition.ActNames, ilp.StatusNames, ilp.ObjectiveNames), repeated here
// so that the plan format does not depend on the passes that write it;
// TestFieldNames holds them equal.
var (
	scheduleNames  = []string{"1f1b", "gpipe", "interleaved-1f1b"}
	schemeNames    = []string{"megatron-col", "megatron-row", "sp-col", "sp-row", "fsdp", "ring-w", "ring-x", "relay-w", "relay-x", "heads", "ring-seq", "vocab", "vocab-sp", "batch", "ring-y", "relay-y", "fsdp-keep"}
	actNames       = []string{"R", "S", "C"}
	statusNames    = []string{"optimal", "time-limit", "infeasible", "unbounded", "failed", "gap-limit"}
	objectiveNames = []string{"time", "energy"}
)

// fieldError is the error of a field whose value is out of its range:
// "plan: stages[0].static_bytes_per_die = -5, want ≥ 0".
func fieldError(path string, v any, want string) error {
	return fmt.Errorf("plan: %s = %v, want %s", path, v, want)
}

// checkBytes holds a count of bytes, seconds or joules: finite and not
// negative.
func checkBytes(path string, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fieldError(path, v, "a finite number ≥ 0")
	case v < 0:
		return fieldError(path, v, "≥ 0")
	}
	return nil
}

// checkEnum holds a name to the known ones.
func checkEnum(path, v string, names []string) error {
	if !slices.Contains(names, v) {
		return fieldError(path, strconv.Quote(v), "one of "+strings.Join(names, ", "))
	}
	return nil
}

// checkStrategies holds each strategy to a group key, at least one layer,
// a known scheme (with a positive stream degree when it has one) and known
// activation layouts.
func checkStrategies(prefix string, sts []Strategy) error {
	for i, st := range sts {
		at := fmt.Sprintf("%sstrategies[%d]", prefix, i)
		if st.Group == "" {
			return fieldError(at+".group", `""`, "an op group's key")
		}
		if st.Layers < 1 {
			return fieldError(at+".layers", st.Layers, "≥ 1")
		}
		name, degree, hasDegree := strings.Cut(st.Scheme, "/")
		if err := checkEnum(at+".scheme", name, schemeNames); err != nil {
			if name == "" {
				return fieldError(at+".scheme", strconv.Quote(st.Scheme), "a scheme, one of "+strings.Join(schemeNames, ", "))
			}
			return err
		}
		if d, err := strconv.Atoi(degree); hasDegree && (err != nil || d < 1) {
			return fieldError(at+".scheme", strconv.Quote(st.Scheme), "a scheme with a positive stream degree (relay-w/8)")
		}
		if err := checkEnum(at+".in", st.In, actNames); err != nil {
			return err
		}
		if err := checkEnum(at+".out", st.Out, actNames); err != nil {
			return err
		}
	}
	return nil
}

// checkSolver holds the solver's record to a name, a known status and
// objective, finite figures and non-negative sizes.
func checkSolver(prefix string, sv *Solver) error {
	if sv == nil {
		return nil
	}
	at := prefix + "solver."
	if sv.Name == "" {
		return fieldError(at+"name", `""`, "the solver's name")
	}
	if err := checkEnum(at+"status", sv.Status, statusNames); err != nil {
		return err
	}
	if err := checkEnum(at+"objective", sv.Objective, objectiveNames); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"value", sv.Value}, {"mip_gap", sv.MIPGap}, {"seconds", sv.Seconds}} {
		if err := checkBytes(at+f.name, f.v); err != nil {
			return err
		}
	}
	if math.IsNaN(sv.DualBound) || math.IsInf(sv.DualBound, 0) {
		return fieldError(at+"dual_bound", sv.DualBound, "a finite number")
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"rows", sv.Rows}, {"cols", sv.Cols}, {"nonzeros", sv.Nonzeros}} {
		if f.v < 0 {
			return fieldError(at+f.name, f.v, "≥ 0")
		}
	}
	return nil
}

// layoutName reads a layout's data-parallel degree and group shape from
// its name (partition.Layout.Name: "dp2-4x2-mb8-none-zero"); ok is false
// for a name of another form, whose groups are then held to their dies
// only.
var layoutName = regexp.MustCompile(`^dp([0-9]+)-([0-9]+)x([0-9]+)-`)

// checkGroups holds groups to dies: the dies distinct; the groups, when
// given, non-empty, of one size, concatenating to dies; and, when the
// layout names its degree and shape, as many groups as the degree, each
// of the shape's dies.
func checkGroups(prefix, layout string, dies []wafer.DieID, groups [][]wafer.DieID) error {
	seen := make(map[wafer.DieID]int, len(dies))
	for i, d := range dies {
		if j, dup := seen[d]; dup {
			return fieldError(fmt.Sprintf("%sdies[%d]", prefix, i), d, fmt.Sprintf("a die not listed before (dies[%d])", j))
		}
		seen[d] = i
	}
	if len(groups) == 0 {
		return nil
	}
	if m := layoutName.FindStringSubmatch(layout); m != nil {
		dp, _ := strconv.Atoi(m[1])
		r, _ := strconv.Atoi(m[2])
		c, _ := strconv.Atoi(m[3])
		if len(groups) != dp {
			return fieldError(prefix+"groups", fmt.Sprintf("%d groups", len(groups)), fmt.Sprintf("%d, the data-parallel degree of layout %s", dp, layout))
		}
		if len(groups[0]) != r*c {
			return fieldError(prefix+"groups[0]", fmt.Sprintf("%d dies", len(groups[0])), fmt.Sprintf("%d, the %d×%d group of layout %s", r*c, r, c, layout))
		}
	}
	n := 0
	for i, g := range groups {
		if len(g) == 0 || len(g) != len(groups[0]) {
			return fmt.Errorf("plan: %sgroup %d has %d dies; every group must have group 0's %d", prefix, i, len(g), len(groups[0]))
		}
		for j, d := range g {
			if n < len(dies) && d != dies[n] {
				return fmt.Errorf("plan: %sgroups list die %d at position %d (groups[%d][%d]) where dies lists %d", prefix, d, n, i, j, dies[n])
			}
			n++
		}
	}
	if n != len(dies) {
		return fmt.Errorf("plan: %sthe groups hold %d dies, dies lists %d", prefix, n, len(dies))
	}
	return nil
}

// checkFields holds a pipeline's own figures and each stage's header
// to their ranges: a known schedule, a bubble in [0, 1), the stages'
// blocks contiguous from 0, and each stage's model, digest, micro-batch,
// dies and groups, strategies, solver and memory figures as a plan's.
func (pl *Pipeline) checkFields(batch int64) error {
	if err := checkEnum("pipeline.schedule", pl.Schedule, scheduleNames); err != nil {
		return err
	}
	if pl.MicroBatches < 1 {
		return fieldError("pipeline.micro_batches", pl.MicroBatches, "≥ 1")
	}
	if b := pl.PredictedBubble; !(b >= 0 && b < 1) {
		return fieldError("pipeline.predicted_bubble", b, "a share in [0, 1)")
	}
	end := 0
	for k := range pl.Stages {
		st := &pl.Stages[k]
		at := fmt.Sprintf("stages[%d].", k)
		if st.FirstBlock != end {
			return fieldError(at+"first_block", st.FirstBlock, fmt.Sprintf("%d, where the stage before ends", end))
		}
		if st.EndBlock <= st.FirstBlock {
			return fieldError(at+"end_block", st.EndBlock, fmt.Sprintf("> first_block %d (a stage holds at least one block)", st.FirstBlock))
		}
		end = st.EndBlock
		if st.Model == "" {
			return fieldError(at+"model", `""`, "the stage graph's name")
		}
		if !isSHA256(st.GraphSHA256) {
			return fieldError(at+"graph_sha256", strconv.Quote(st.GraphSHA256), "64 lower-case hex digits")
		}
		if st.MicroBatch < 1 || int64(st.MicroBatch) > batch {
			return fieldError(at+"micro_batch", st.MicroBatch, fmt.Sprintf("in [1, batch %d]", batch))
		}
		for _, f := range []struct {
			name string
			v    float64
		}{{"static_bytes_per_die", st.StaticBytes}, {"predicted_peak_memory_bytes_per_die", st.PredictedMemory}} {
			if err := checkBytes(at+f.name, f.v); err != nil {
				return err
			}
		}
		if err := checkGroups(at, st.Layout, st.Dies, st.Groups); err != nil {
			return err
		}
		if err := checkStrategies(at, st.Strategies); err != nil {
			return err
		}
		if err := checkSolver(at, st.Solver); err != nil {
			return err
		}
	}
	return nil
}
