package plan

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// TestFieldNames holds the plan's enumerated names to the compiler's own.
func TestFieldNames(t *testing.T) {
	for _, c := range []struct {
		name       string
		plan, want []string
	}{
		{"schedules", scheduleNames, partition.ScheduleNames()},
		{"schemes", schemeNames, partition.SchemeNames()},
		{"activation layouts", actNames, partition.ActNames()},
		{"solver statuses", statusNames, ilp.StatusNames()},
		{"objectives", objectiveNames, ilp.ObjectiveNames()},
	} {
		if !slices.Equal(c.plan, c.want) {
			t.Errorf("plan's %s %q, the compiler's %q", c.name, c.plan, c.want)
		}
	}
}

// recorded is the valid plan with the records a compiled plan has: a
// layout of two one-die groups, a strategy and the solver's record.
func recorded() *Plan {
	p := validPlan()
	p.Layout = "dp2-1x1-mb1-none"
	p.Groups = [][]wafer.DieID{{0}, {1}}
	p.Strategies = []Strategy{{Group: "block/attn.qkv", Layers: 12, Scheme: "relay-w/8", In: "S", Out: "C"}}
	p.Solver = &Solver{Name: "HiGHS", Status: "optimal", Objective: "time", Value: 1, DualBound: 1, Seconds: 1, Rows: 1, Cols: 1, Nonzeros: 1}
	return p
}

// TestVerifyHoldsFieldsToTheirRanges breaks one numeric or enumerated field
// of a single-wafer plan or a pipeline plan per case — a negative static
// bytes once halved a replay's peak, a bubble of 5 and a schedule "zigzag"
// were accepted — and wants Verify to name the field by its path, with
// its value and its range.
func TestVerifyHoldsFieldsToTheirRanges(t *testing.T) {
	nan := math.NaN()
	single := []struct {
		name   string
		break_ func(p *Plan)
		want   string
	}{
		{"valid", func(p *Plan) {}, ""},
		{"negative static bytes", func(p *Plan) { p.StaticBytes = -5 }, "plan: static_bytes_per_die = -5, want ≥ 0"},
		{"negative predicted peak", func(p *Plan) { p.PredictedMemory = -1 }, "plan: predicted_peak_memory_bytes_per_die = -1, want ≥ 0"},
		{"NaN energy", func(p *Plan) { p.PredictedEnergy = nan }, "plan: predicted_energy_joules = NaN, want a finite number ≥ 0"},
		{"infinite step", func(p *Plan) { p.PredictedSeconds = math.Inf(1) }, "plan: predicted_step_seconds = +Inf, want a finite number ≥ 0"},
		{"zero capacity", func(p *Plan) { p.CapacityBytes = 0 }, "plan: capacity_bytes_per_die = 0, want a finite number > 0"},
		// mesh4x4's dies have 72 GB of HBM.
		{"capacity above the wafer's", func(p *Plan) { p.CapacityBytes = 1e308 }, "plan: capacity_bytes_per_die = 1e+308, want ≤ the 7.2e+10 bytes of HBM a die of mesh4x4 has"},
		{"unknown scheme", func(p *Plan) { p.Strategies[0].Scheme = "teleport" }, `plan: strategies[0].scheme = "teleport", want one of megatron-col,`},
		{"zero stream degree", func(p *Plan) { p.Strategies[0].Scheme = "relay-w/0" }, `plan: strategies[0].scheme = "relay-w/0", want a scheme with a positive stream degree`},
		{"unknown sharding", func(p *Plan) { p.Strategies[0].In = "Q" }, `plan: strategies[0].in = "Q", want one of R, S, C`},
		{"unknown output sharding", func(p *Plan) { p.Strategies[0].Out = "" }, `plan: strategies[0].out = "", want one of R, S, C`},
		{"no layers", func(p *Plan) { p.Strategies[0].Layers = 0 }, "plan: strategies[0].layers = 0, want ≥ 1"},
		{"no group key", func(p *Plan) { p.Strategies[0].Group = "" }, `plan: strategies[0].group = "", want an op group's key`},
		{"unknown status", func(p *Plan) { p.Solver.Status = "lucky" }, `plan: solver.status = "lucky", want one of optimal,`},
		{"unknown objective", func(p *Plan) { p.Solver.Objective = "beauty" }, `plan: solver.objective = "beauty", want one of time, energy`},
		{"negative gap", func(p *Plan) { p.Solver.MIPGap = -0.5 }, "plan: solver.mip_gap = -0.5, want ≥ 0"},
		{"NaN dual bound", func(p *Plan) { p.Solver.DualBound = nan }, "plan: solver.dual_bound = NaN, want a finite number"},
		{"negative rows", func(p *Plan) { p.Solver.Rows = -1 }, "plan: solver.rows = -1, want ≥ 0"},
		{"no solver name", func(p *Plan) { p.Solver.Name = "" }, `plan: solver.name = "", want the solver's name`},
		{"a die twice", func(p *Plan) { p.Dies = []wafer.DieID{0, 0}; p.Groups = [][]wafer.DieID{{0}, {0}} }, "plan: dies[1] = 0, want a die not listed before (dies[0])"},
		{"groups against the layout's degree", func(p *Plan) { p.Groups = [][]wafer.DieID{{0, 1}} },
			"plan: groups = 1 groups, want 2, the data-parallel degree of layout dp2-1x1-mb1-none"},
		{"groups against the layout's shape", func(p *Plan) { p.Layout = "dp2-1x2-mb1-none" }, "plan: groups[0] = 1 dies, want 2, the 1×2 group of layout dp2-1x2-mb1-none"},
	}
	for _, c := range single {
		t.Run(c.name, func(t *testing.T) {
			p := recorded()
			c.break_(p)
			checkVerify(t, p.Verify(mesh(t)), c.want)
		})
	}
	pipeline := []struct {
		name   string
		break_ func(p *Plan)
		want   string
	}{
		{"valid", func(p *Plan) {}, ""},
		{"negative stage static bytes", func(p *Plan) { p.Pipeline.Stages[0].StaticBytes = -5 }, "plan: stages[0].static_bytes_per_die = -5, want ≥ 0"},
		{"negative stage peak", func(p *Plan) { p.Pipeline.Stages[1].PredictedMemory = -1 }, "plan: stages[1].predicted_peak_memory_bytes_per_die = -1, want ≥ 0"},
		{"NaN stage static bytes", func(p *Plan) { p.Pipeline.Stages[1].StaticBytes = nan }, "plan: stages[1].static_bytes_per_die = NaN, want a finite number ≥ 0"},
		{"negative bubble", func(p *Plan) { p.Pipeline.PredictedBubble = -1 }, "plan: pipeline.predicted_bubble = -1, want a share in [0, 1)"},
		{"bubble of 5", func(p *Plan) { p.Pipeline.PredictedBubble = 5 }, "plan: pipeline.predicted_bubble = 5, want a share in [0, 1)"},
		{"schedule zigzag", func(p *Plan) { p.Pipeline.Schedule = "zigzag" }, `plan: pipeline.schedule = "zigzag", want one of 1f1b, gpipe, interleaved-1f1b`},
		{"no micro-batches", func(p *Plan) { p.Pipeline.MicroBatches = 0 }, "plan: pipeline.micro_batches = 0, want ≥ 1"},
		{"blocks not from 0", func(p *Plan) { p.Pipeline.Stages[0].FirstBlock = 1 }, "plan: stages[0].first_block = 1, want 0, where the stage before ends"},
		{"blocks with a gap", func(p *Plan) { p.Pipeline.Stages[1].FirstBlock, p.Pipeline.Stages[1].EndBlock = 2, 3 },
			"plan: stages[1].first_block = 2, want 1, where the stage before ends"},
		{"empty stage", func(p *Plan) { p.Pipeline.Stages[1].EndBlock = 1 }, "plan: stages[1].end_block = 1, want > first_block 1"},
		{"stage without model", func(p *Plan) { p.Pipeline.Stages[0].Model = "" }, `plan: stages[0].model = "", want the stage graph's name`},
		{"stage digest", func(p *Plan) { p.Pipeline.Stages[0].GraphSHA256 = "x" }, `plan: stages[0].graph_sha256 = "x", want 64 lower-case hex digits`},
		{"stage micro-batch", func(p *Plan) { p.Pipeline.Stages[0].MicroBatch = 0 }, "plan: stages[0].micro_batch = 0, want in [1, batch 8]"},
		{"stage group missing its die", func(p *Plan) { p.Pipeline.Stages[0].Groups = [][]wafer.DieID{{}} }, "plan: stages[0].groups[0] = 0 dies, want 1, the 1×1 group"},
		{"stage groups of another die", func(p *Plan) { p.Pipeline.Stages[0].Groups = [][]wafer.DieID{{0}} }, "plan: stages[0].groups list die 0 at position 0"},
		{"stage groups against its layout", func(p *Plan) { p.Pipeline.Stages[0].Layout = "dp2-1x1-mb2-none" }, "plan: stages[0].groups = 1 groups, want 2"},
		{"stage die twice", func(p *Plan) {
			p.Pipeline.Stages[1].Dies = append(p.Pipeline.Stages[1].Dies, p.Pipeline.Stages[1].Dies[0])
		},
			"plan: stages[1].dies[1] = "},
		{"stage scheme", func(p *Plan) {
			p.Pipeline.Stages[1].Strategies = []Strategy{{Group: "g", Layers: 1, Scheme: "?", In: "R", Out: "R"}}
		},
			`plan: stages[1].strategies[0].scheme = "?", want one of`},
		{"stage solver status", func(p *Plan) { p.Pipeline.Stages[0].Solver = &Solver{Name: "HiGHS", Status: "", Objective: "time"} },
			`plan: stages[0].solver.status = "", want one of`},
	}
	for _, c := range pipeline {
		t.Run("pipeline "+c.name, func(t *testing.T) {
			p, joined := testPipeline(t)
			st := &p.Pipeline.Stages[0]
			st.Layout, st.Groups = "dp1-1x1-mb2-none", [][]wafer.DieID{st.Dies}
			c.break_(p)
			checkVerify(t, p.Verify(joined), c.want)
		})
	}
}

func checkVerify(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("Verify: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("Verify = %v, want an error containing %q", err, want)
	}
}

// TestCapacityAgainstTheOwnWafer: a plan's capacity is held to the HBM of
// the wafer it was compiled for (its wafer_spec), so that replaying it on
// a wafer of smaller dies (tempc simulate --wafer) is the simulator's to
// judge, not a verification error; a capacity above its own wafer's is
// refused.
func TestCapacityAgainstTheOwnWafer(t *testing.T) {
	own := mesh(t)
	var spec bytes.Buffer
	if err := wafer.WriteJSON(&spec, own); err != nil {
		t.Fatal(err)
	}
	small := *own
	small.Die.HBMBytes = own.Die.HBMBytes / 2
	p := recorded()
	p.WaferSpec, p.CapacityBytes = spec.Bytes(), own.Die.HBMBytes
	checkVerify(t, p.Verify(&small), "")
	p.CapacityBytes = 2 * own.Die.HBMBytes
	checkVerify(t, p.Verify(&small), "plan: capacity_bytes_per_die = 1.44e+11, want ≤ the 7.2e+10 bytes of HBM a die of mesh4x4 has")
}
