package lower

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/frontend"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// TestCheckCommAcceptsValidPlans lowers assignments sampled over every
// layout of every strategy family (megatron1/3's collectives, FSDP's
// gathers, TEMP's streams and sub-chain relays, DP buckets, the three
// recomputation modes, GQA's K/V slices, faulty wafers) and checks that
// CheckComm accepts each: its bounds are lower bounds of what lowering
// moves. It logs how close the tightest die comes to its bound.
func TestCheckCommAcceptsValidPlans(t *testing.T) {
	models := []struct {
		model, wafer string
		batch, seq   int64
		samples      int
	}{
		{"gpt2", "mesh4x4", 16, 512, 12},
		{"gpt2", "mesh4x4-faulty", 13, 500, 12},
		{"testdata/tiny-llama.json", "mesh4x4", 12, 256, 12},
		{"testdata/tiny-llama.json", "temp48", 48, 256, 12},
	}
	plans := 0
	for _, m := range models {
		samples := m.samples
		if testing.Short() {
			samples /= 3
		}
		for _, fam := range partition.Families {
			tab := priced(t, m.model, m.wafer, m.batch, m.seq, partition.Config{Family: fam})
			for i, a := range append(sampled(tab, samples, 7), optimum(t, tab)) {
				p := lowered(t, tab, a)
				plans++
				if err := CheckComm(p, tab.Space); err != nil {
					t.Errorf("%s %d×%d on %s, %s, plan %d (%s): %v", m.model, m.batch, m.seq, m.wafer, fam, i, p.Layout, err)
				}
			}
		}
	}
	t.Logf("%d plans checked", plans)
}

// commFixture is a valid plan of gpt2 on mesh4x4 with 2 replicas of 8
// dies streaming (TEMP's schemes) and one under Megatron-3's, as JSON.
func commFixture(t *testing.T) (map[string][]byte, map[string]*costmodel.Table) {
	t.Helper()
	plans, tabs := map[string][]byte{}, map[string]*costmodel.Table{}
	for _, fam := range []partition.Family{partition.Auto, partition.Megatron3} {
		tab := priced(t, "gpt2", "mesh4x4", 16, 512, partition.Config{Family: fam})
		var a *ilp.Assignment
		for _, s := range sampled(tab, 40, 3) {
			if l := tab.Space.Layouts[s.Layout]; l.DP == 2 && l.P() == 8 {
				a = &s
				break
			}
		}
		if a == nil {
			t.Fatalf("%s: no sampled plan of 2 groups of 8 dies", fam)
		}
		p := lowered(t, tab, *a)
		var b bytes.Buffer
		if err := plan.WriteJSON(&b, p); err != nil {
			t.Fatal(err)
		}
		plans[string(fam)], tabs[string(fam)] = b.Bytes(), tab
	}
	return plans, tabs
}

// eachTransfer calls f on every transfer and send of the plan, with the
// name of its block.
func eachTransfer(p *plan.Plan, f func(node string, t *plan.Task)) {
	eachBlock(p, func(n *plan.Node) {
		for i := range n.Program.Tasks {
			if k := n.Program.Tasks[i].Kind; k == plan.Transfer || k == plan.Send {
				f(n.Name, &n.Program.Tasks[i])
			}
		}
	})
}

// groupOf is the index of the plan's group holding d.
func groupOf(p *plan.Plan, d wafer.DieID) int {
	for j, g := range p.Groups {
		for _, x := range g {
			if x == d {
				return j
			}
		}
	}
	return -1
}

// TestCheckCommRejects breaks a valid plan's communication one way per
// case — what plan.Verify cannot see, as it does not know the graph — and
// checks that CheckWork (which calls CheckComm) refuses it by name.
func TestCheckCommRejects(t *testing.T) {
	plans, tabs := commFixture(t)
	dropTransfers := func(keep func(node string, t *plan.Task) bool) func(p *plan.Plan) {
		return func(p *plan.Plan) {
			eachBlock(p, func(n *plan.Node) {
				removeTasks(n.Program, func(t *plan.Task) bool {
					return (t.Kind == plan.Transfer || t.Kind == plan.Send) && !keep(n.Name, t)
				})
			})
		}
	}
	tests := []struct {
		name, fam string
		mutate    func(p *plan.Plan)
		want      []string
	}{
		{"every transfer removed", "auto", dropTransfers(func(string, *plan.Task) bool { return false }),
			[]string{"lower: die", "receives 0 B from its model-parallel group per step; its op groups' schemes imply at least"}},
		{"every message of one byte", "auto", func(p *plan.Plan) {
			eachTransfer(p, func(_ string, t *plan.Task) { t.Bytes = 1 })
		}, []string{"from its model-parallel group per step; its op groups' schemes imply at least"}},
		{"every message of zero bytes", "megatron3", func(p *plan.Plan) {
			eachTransfer(p, func(_ string, t *plan.Task) { t.Bytes = 0 })
		}, []string{"receives 0 B from its model-parallel group per step"}},
		{"DP all-reduce removed", "auto", dropTransfers(func(_ string, t *plan.Task) bool { return false }),
			nil}, // replaced below: keeps the group's own traffic
		{"collectives of the middle layers' backward removed", "megatron3", dropTransfers(func(node string, _ *plan.Task) bool {
			return node != "bwd.layers"
		}), []string{"from its model-parallel group per step; its op groups' schemes imply at least"}},
		{"streams of the middle layers' forward removed", "auto", dropTransfers(func(node string, _ *plan.Task) bool {
			return node != "fwd.layers"
		}), []string{"from its model-parallel group per step; its op groups' schemes imply at least"}},
		{"a transfer to a die outside the groups", "auto", func(p *plan.Plan) {
			eachTransfer(p, func(_ string, t *plan.Task) {
				if t.Dst == p.Dies[0] {
					t.Dst = 100 // off the plan's 16 dies
				}
			})
		}, []string{"to die 100; both must be dies of the plan's groups"}},
		{"strategies removed", "auto", func(p *plan.Plan) { p.Strategies = nil },
			[]string{"lower: the plan records no strategies"}},
		{"a scheme of another kind of group", "megatron3", func(p *plan.Plan) { p.Strategies[2].Scheme = "vocab" },
			[]string{"strategy 2: group block/attn.core: scheme vocab, which does not partition a"}},
		{"optimizer duplicated", "auto", func(p *plan.Plan) {
			p.Steps = append(p.Steps, p.Steps[len(p.Steps)-1])
		}, []string{"runs the optimizer step 2 times per step; it must run once"}},
	}
	// The DP case keeps every transfer within a group and drops those
	// between the replicas.
	tests[3].mutate = func(p *plan.Plan) {
		eachBlock(p, func(n *plan.Node) {
			removeTasks(n.Program, func(t *plan.Task) bool {
				return (t.Kind == plan.Transfer || t.Kind == plan.Send) && groupOf(p, t.Die) != groupOf(p, t.Dst)
			})
		})
	}
	tests[3].want = []string{"from the other data-parallel replicas per step; the gradient all-reduce over 2 replicas moves at least"}
	for _, fam := range []string{"auto", "megatron3"} {
		p, err := plan.ReadJSON("valid.json", plans[fam])
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckWork(p, tabs[fam].Space); err != nil {
			t.Fatalf("%s: valid plan rejected: %v", fam, err)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := plan.ReadJSON("valid.json", plans[tc.fam])
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(p)
			err = CheckWork(p, tabs[tc.fam].Space)
			if err == nil {
				t.Fatal("broken plan passes CheckWork")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			t.Log(err)
		})
	}
}

// pipelineFixture lowers gpt2 (tied embeddings) on a cluster of wafers
// copies of s as a pipeline of one stage per wafer, each stage a
// sampled assignment of its stage graph's space, 4 micro-batches of 16
// sequences of 256 tokens. It returns the plan, the joined mesh, the
// stages' spaces and the model's boundary and tied bytes.
func pipelineFixture(t *testing.T, s *wafer.Spec, wafers int) (*plan.Plan, *wafer.Spec, []*partition.Space, int64, int64) {
	t.Helper()
	const batch, seq, m = 16, 256, 4
	arch, err := frontend.LoadArch("gpt2", seq)
	if err != nil {
		t.Fatal(err)
	}
	c := *s
	c.Cluster = wafer.DefaultCluster(s, wafers)
	joined, err := c.Joined()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := costmodel.New(s, costmodel.Params{})
	if err != nil {
		t.Fatal(err)
	}
	L := int(arch.Layers)
	var stages []PipelineStage
	var spaces []*partition.Space
	for k := range wafers {
		first, last := k*L/wafers, (k+1)*L/wafers
		g, err := frontend.BuildStage(arch, frontend.Options{Batch: batch, Seq: seq}, first, last)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := partition.Build(g, s, partition.Config{MicroBatchCount: m})
		if err != nil {
			t.Fatal(err)
		}
		tab, err := cm.Price(sp)
		if err != nil {
			t.Fatal(err)
		}
		// A stage of replicas of several dies, which communicate both
		// ways.
		var a *ilp.Assignment
		for _, x := range sampled(tab, 40, uint64(11+k)) {
			if l := tab.Space.Layouts[x.Layout]; l.DP > 1 && l.P() > 1 {
				a = &x
				break
			}
		}
		if a == nil {
			t.Fatalf("stage %d: no sampled assignment of several replicas of several dies fits", k)
		}
		st, err := Stage(tab, *a)
		if err != nil {
			t.Fatal(err)
		}
		st.FirstBlock, st.EndBlock = first, last
		n := len(a.Options) - 1
		stages = append(stages, PipelineStage{Stage: st, In: tab.Options[0][a.Options[0]].Scheme.In(), Out: tab.Options[n][a.Options[n]].Scheme.Out()})
		spaces = append(spaces, sp)
	}
	order, err := partition.PipelineOrder(partition.OneFOneB, wafers, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	activation, tied := int64(batch/m*seq*arch.Hidden*2), arch.Vocab*arch.EmbedDim()*2
	pipe, err := Pipeline(joined, stages, order, partition.OneFOneB, m, activation, tied)
	if err != nil {
		t.Fatal(err)
	}
	full, err := frontend.BuildStage(arch, frontend.Options{Batch: batch, Seq: seq}, 0, L)
	if err != nil {
		t.Fatal(err)
	}
	p := &plan.Plan{SchemaVersion: plan.SchemaVersion, Model: arch.Name, Batch: batch, Seq: seq, GraphSHA256: GraphSHA256(full),
		Wafer: c.Name, Layout: "pipeline", MicroBatch: batch / m, CapacityBytes: s.Die.HBMBytes, Pipeline: pipe}
	for _, st := range pipe.Stages {
		p.Dies = append(p.Dies, st.Dies...)
		p.StaticBytes = max(p.StaticBytes, st.StaticBytes)
	}
	if err := p.Verify(joined); err != nil {
		t.Fatalf("the lowered pipeline does not verify: %v", err)
	}
	return p, joined, spaces, activation, tied
}

// TestCheckPipelineAcceptsValidPipelines lowers pipelines of 2 and 3
// stages and checks their communication: stages, boundaries, tied.
func TestCheckPipelineAcceptsValidPipelines(t *testing.T) {
	for _, wafers := range []int{2, 3} {
		p, joined, spaces, act, tied := pipelineFixture(t, spec(t, "mesh4x4"), wafers)
		if err := CheckPipeline(p, joined, spaces, act, tied); err != nil {
			t.Errorf("%d stages: %v", wafers, err)
		}
	}
}

// TestCheckPipelineRejects breaks a valid 3-stage pipeline's
// communication one way per case: plan.Verify accepts each, CheckPipeline
// names what is missing or misplaced.
func TestCheckPipelineRejects(t *testing.T) {
	valid, joined, spaces, act, tied := pipelineFixture(t, spec(t, "mesh4x4"), 3)
	var js bytes.Buffer
	if err := plan.WriteJSON(&js, valid); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(p *plan.Plan)
		tied   int64
		want   string
	}{
		{"boundary emptied", func(p *plan.Plan) { p.Pipeline.Boundaries[0].Forward.Tasks = nil }, tied,
			"lower: boundary 0→1: die"},
		{"gradient boundary of one byte per message", func(p *plan.Plan) {
			for i := range p.Pipeline.Boundaries[1].Backward.Tasks {
				p.Pipeline.Boundaries[1].Backward.Tasks[i].Bytes = 1
			}
		}, tied, "lower: boundary 2→1: die"},
		{"tied exchange deleted", func(p *plan.Plan) { p.Pipeline.Tied = nil }, tied,
			"lower: the pipeline exchanges no tied embedding gradient"},
		{"tied exchange sent to a middle stage", func(p *plan.Plan) {
			x := &p.Pipeline.Tied.Tasks[0]
			x.Dst, x.Route = p.Pipeline.Stages[1].Dies[0], nil
		}, tied, "the tied gradient goes between the first and the last stage (0 and 2) only"},
		{"tied exchange halved", func(p *plan.Plan) {
			for i := range p.Pipeline.Tied.Tasks {
				p.Pipeline.Tied.Tasks[i].Bytes /= 2
			}
		}, tied, "of the tied gradient; the other end's is"},
		{"a tied exchange the model does not have", func(*plan.Plan) {}, 0,
			"the model ties no weight across its first and last stage"},
		{"a stage's collectives removed", func(p *plan.Plan) {
			for _, nodes := range [][]plan.Node{p.Pipeline.Stages[1].Forward, p.Pipeline.Stages[1].Backward, p.Pipeline.Stages[1].LastBackward} {
				for i := range nodes {
					if nodes[i].Program != nil {
						removeTasks(nodes[i].Program, func(t *plan.Task) bool { return t.Kind != plan.Compute })
					}
				}
			}
		}, tied, "lower: stage 1: die"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := plan.ReadJSON("pp.json", js.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(p)
			err = CheckPipeline(p, joined, spaces, act, tc.tied)
			if err == nil {
				t.Fatal("broken pipeline passes CheckPipeline")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

// seamFaults is mesh4x4 with dead links across its rows 0 to 2 between
// columns 2 and 3, next to the seam: the XY and YX routes of most
// boundary transfers cross them, only row 3 stays open. With cut, row 3's
// link dies too, and column 3 — the wafer's only way to the next — is cut
// off from the rest.
func seamFaults(t *testing.T, cut bool) *wafer.Spec {
	f := *spec(t, "mesh4x4")
	f.Name = "mesh4x4-seam-faults"
	rows := 3
	if cut {
		rows = 4
	}
	for r := range rows {
		f.DeadLinks = append(f.DeadLinks, wafer.DeadLink{A: wafer.Coord{R: r, C: 2}, B: wafer.Coord{R: r, C: 3}})
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	return &f
}

// TestPipelineRoutesAroundDeadLinks lowers a 2-stage pipeline on a cluster
// whose wafers have dead links on the rows boundary transfers cross: the
// boundaries and the tied exchange detour around them (the plan verifies:
// every route over live links), and CheckPipelineRoutes agrees. On a
// cluster where faults cut the stages apart, CheckPipelineRoutes says so.
func TestPipelineRoutesAroundDeadLinks(t *testing.T) {
	s := seamFaults(t, false)
	p, joined, spaces, act, tied := pipelineFixture(t, s, 2)
	detoured := 0
	for _, prog := range []*plan.Program{p.Pipeline.Boundaries[0].Forward, p.Pipeline.Boundaries[0].Backward, p.Pipeline.Tied} {
		for i := range prog.Tasks {
			if prog.Tasks[i].Route != nil {
				detoured++
			}
		}
	}
	if detoured == 0 {
		t.Error("no boundary or tied transfer detours, though dead links block rows 0 to 2")
	}
	if err := CheckPipeline(p, joined, spaces, act, tied); err != nil {
		t.Error(err)
	}
	// The stages' dies on their own wafers, as a planner has them.
	var dies [][]wafer.DieID
	for _, st := range p.Pipeline.Stages {
		var local []wafer.DieID
		for _, d := range st.Dies {
			c := joined.Coord(d)
			local = append(local, s.ID(wafer.Coord{R: c.R, C: c.C - st.Wafer*s.Cols}))
		}
		dies = append(dies, local)
	}
	if err := CheckPipelineRoutes(joined, dies); err != nil {
		t.Errorf("CheckPipelineRoutes: %v", err)
	}

	cut := seamFaults(t, true)
	c := *cut
	c.Cluster = wafer.DefaultCluster(cut, 2)
	cj, err := c.Joined()
	if err != nil {
		t.Fatal(err)
	}
	// Stage 0 on wafer 0's columns 0–2, stage 1 likewise on wafer 1.
	var left []wafer.DieID
	for r := range 4 {
		for col := range 3 {
			left = append(left, cut.ID(wafer.Coord{R: r, C: col}))
		}
	}
	err = CheckPipelineRoutes(cj, [][]wafer.DieID{left, left})
	if err == nil || !strings.Contains(err.Error(), "lower: stage 1: faults cut die") {
		t.Errorf("CheckPipelineRoutes on stages cut apart: %v", err)
	}
	t.Log(err)
}

// TestCheckCommBaselinePlanOnDefaultSpace: a plan compiled as a canonical
// baseline, checked — as tempc simulate does — against the space built
// with default options, whose groups allow other schemes (FSDP's baseline
// splits attention by batch, which the default space does not offer), is
// accepted: the recorded scheme need only partition a group of its kind.
func TestCheckCommBaselinePlanOnDefaultSpace(t *testing.T) {
	for _, base := range partition.Baselines {
		tab := priced(t, "gpt2", "mesh4x4", 16, 512, partition.Config{Baseline: base})
		def := priced(t, "gpt2", "mesh4x4", 16, 512, partition.Config{})
		for _, a := range sampled(tab, 5, 5) {
			p := lowered(t, tab, a)
			if _, err := planLayout(p.Layout, def.Space); err != nil {
				continue
			}
			if err := CheckComm(p, def.Space); err != nil {
				t.Errorf("%s, %s: %v", base, p.Layout, err)
			}
		}
	}
}
