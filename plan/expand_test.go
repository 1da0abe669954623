package plan

import (
	"slices"
	"strings"
	"testing"
)

// TestExpandHandoff expands validPlan (a loop of 2 around a block of 3
// runs, then the optimizer) with one task marked out, and checks the
// handoff rule, the receive exemption, tag renumbering and the barrier.
func TestExpandHandoff(t *testing.T) {
	p := validPlan()
	q := block(p)
	// Tasks of the block after Split: 0 a (die 0), 1 send x, 2 recv x
	// (die 1), 3 b (die 1), 4 c (die 0). Mark b (die 1) and c (die 0) out.
	q.Tasks[3].Out, q.Tasks[4].Out = true, true
	p.Steps[1].Barrier = true
	ex, err := p.Expand(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Runs) != 7 || len(ex.Barriers) != 1 {
		t.Fatalf("%d runs, %d barriers; want 7 and 1", len(ex.Runs), len(ex.Barriers))
	}
	n := TaskID(len(q.Tasks))
	for r := 1; r < 6; r++ {
		first := ex.Runs[r].First
		if first != TaskID(r)*n {
			t.Fatalf("run %d starts at %d, want %d", r, first, TaskID(r)*n)
		}
		prev := first - n
		// a (die 0, no deps) waits for the previous run's c (die 0's out
		// task), and only for it.
		if got := ex.Program.Tasks[first].Deps; !slices.Equal(got, []TaskID{prev + 4}) {
			t.Errorf("run %d: a waits for %v, want [%d]", r, got, prev+4)
		}
		// The receive keeps its own dependencies (those of its transfer).
		if got := ex.Program.Tasks[first+2].Deps; !slices.Equal(got, []TaskID{first}) {
			t.Errorf("run %d: recv waits for %v, want [%d]", r, got, first)
		}
		if s, rc := ex.Program.Tasks[first+1], ex.Program.Tasks[first+2]; s.Tag != rc.Tag || s.Tag != int64(r) {
			t.Errorf("run %d: send tag %d, recv tag %d; want %d", r, s.Tag, rc.Tag, r)
		}
	}
	// The optimizer waits for the barrier, which waits for every sink.
	bar := ex.Barriers[0]
	opt := ex.Program.Tasks[ex.Runs[6].First]
	if !slices.Equal(opt.Deps, []TaskID{bar}) {
		t.Errorf("optimizer waits for %v, want the barrier %d", opt.Deps, bar)
	}
	if deps := ex.Program.Tasks[bar].Deps; len(deps) != 6*3 { // the send, b and c of each of 6 runs
		t.Errorf("barrier waits for %v, want the 18 sinks", deps)
	}
	if err := ex.Program.Check(mesh(t)); err != nil {
		t.Errorf("expanded program does not check: %v", err)
	}
	// Counts override Count; zero leaves a node out.
	ex, err = p.Expand(func(n *Node) int {
		if n.Name == "b" {
			return 1
		}
		return n.Count
	})
	if err != nil || len(ex.Runs) != 3 {
		t.Errorf("shortened: %d runs (%v), want 3", len(ex.Runs), err)
	}
}

// TestDataFlowCaught: a kernel beside the gather of the weights it reads
// (FSDP's compute not waiting for its own all-gather), and a partial sum
// forwarded before the die's addition into it, fail Verify, naming both
// tasks and the buffer; with the missing dependency added they pass.
func TestDataFlowCaught(t *testing.T) {
	cases := []struct {
		name  string
		build func(p *Program, fixed bool)
		want  string
	}{
		{"kernel beside its gather", func(p *Program, fixed bool) {
			w := p.Buffer("weights")
			g := p.Transfer("gather", 1, 0, 1<<20, nil)
			p.Tasks[g].Writes = []int32{w}
			var deps []TaskID
			if fixed {
				deps = []TaskID{g}
			}
			k := p.Compute("kernel", 0, 1e9, 0, deps...)
			p.Tasks[k].Reads = []int32{w}
		}, `task 1 "kernel" reads buffer "weights", which task 0 "gather" writes, without waiting for it`},
		{"kernel before its gather", func(p *Program, fixed bool) {
			w := p.Buffer("weights")
			k := p.Compute("kernel", 0, 1e9, 0)
			p.Tasks[k].Reads = []int32{w}
			var deps []TaskID
			if fixed {
				deps = []TaskID{k} // a gather of the next weights after the kernel read these
			}
			g := p.Transfer("gather", 1, 0, 1<<20, nil, deps...)
			p.Tasks[g].Writes = []int32{w}
		}, `task 1 "gather" writes buffer "weights", which task 0 "kernel" reads, without waiting for it`},
		{"partial sum forwarded before the addition", func(p *Program, fixed bool) {
			b := p.Buffer("partial")
			in := p.Transfer("arrive", 1, 0, 1<<20, nil)
			p.Tasks[in].Writes = []int32{b}
			add := p.Compute("add", 0, 1e9, 0, in)
			p.Tasks[add].Writes = []int32{b}
			deps := []TaskID{in}
			if fixed {
				deps = append(deps, add)
			}
			fw := p.Transfer("forward", 0, 2, 1<<20, nil, deps...)
			p.Tasks[fw].Reads, p.Tasks[fw].Writes = []int32{b}, []int32{b}
		}, `task 2 "forward" reads buffer "partial", which task 1 "add" writes, without waiting for it`},
	}
	s := mesh(t)
	for _, tc := range cases {
		for _, fixed := range []bool{false, true} {
			var p Program
			tc.build(&p, fixed)
			q := p.Split(0)
			err := q.CheckDataFlow(s)
			switch {
			case fixed && err != nil:
				t.Errorf("%s, fixed: %v", tc.name, err)
			case !fixed && err == nil:
				t.Errorf("%s: accepted", tc.name)
			case !fixed:
				// Split renumbers: compare names and the buffer only.
				for _, part := range strings.Split(tc.want, ", which ") {
					part = part[strings.Index(part, `"`):]
					if !strings.Contains(err.Error(), strings.SplitN(part, " without", 2)[0]) {
						t.Errorf("%s: %q lacks %q", tc.name, err, part)
					}
				}
			}
		}
	}
}

// TestExpandedTasks: the counts without expanding are the expansions'
// task counts, give or take one task per barrier run, for the whole step,
// a shortened one and every micro-batch count of a pipeline.
func TestExpandedTasks(t *testing.T) {
	p := validPlan()
	p.Steps[1].Barrier = true
	for _, count := range []func(*Node) int{nil, func(n *Node) int { return 1 }, func(n *Node) int { return n.Count - 1 }} {
		ex, err := p.Expand(count)
		if err != nil {
			t.Fatal(err)
		}
		got, want := p.ExpandedTasks(count), int64(len(ex.Program.Tasks))
		if got < want || got > want+int64(len(ex.Barriers))+1 {
			t.Errorf("ExpandedTasks = %d, the expansion has %d tasks (%d barriers)", got, want, len(ex.Barriers))
		}
	}
	q, _ := testPipeline(t)
	for m := 1; m <= q.Pipeline.MicroBatches; m++ {
		ex, err := q.ExpandMicroBatches(m)
		if err != nil {
			t.Fatal(err)
		}
		// Each stage's finish is a barrier node: one gate each.
		if got, want := q.ExpandedMicroBatchTasks(m), int64(len(ex.Program.Tasks)); got != want {
			t.Errorf("%d micro-batches: ExpandedMicroBatchTasks = %d, the expansion has %d tasks", m, got, want)
		}
	}
	if got := satMul(1<<40, 1<<40); got != maxCount {
		t.Errorf("2^80 tasks count as %d, want the saturated 2^62", got)
	}
}
