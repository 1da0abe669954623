package plan

import (
	"strings"
	"testing"

	"github.com/tempc/tempc/wafer"
)

func TestCheck(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	faulty := *s
	faulty.DeadDies = []wafer.Coord{{R: 3, C: 3}}
	if err := faulty.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		build func(p *Program)
		want  string // "" for valid
	}{
		{"valid", func(p *Program) {
			a := p.Compute("a", 0, 1e9, 0)
			p.Transfer("x", 0, 5, 1<<20, wafer.Route{0, 1, 5}, a)
			p.Delay("d", 5, 1e-6, 1)
		}, ""},
		{"forward dep", func(p *Program) { p.Compute("a", 0, 1, 0, 1) }, "dependencies must be earlier tasks"},
		{"self dep", func(p *Program) { p.Compute("a", 0, 1, 0, 0) }, "dependencies must be earlier tasks"},
		{"dead die", func(p *Program) { p.Compute("a", 15, 1, 0) }, "dead or missing die 15"},
		{"missing die", func(p *Program) { p.Compute("a", 99, 1, 0) }, "dead or missing die 99"},
		{"negative size", func(p *Program) { p.Compute("a", 0, -1, 0) }, "must be finite and not negative"},
		{"route ends", func(p *Program) { p.Transfer("x", 0, 5, 1, wafer.Route{0, 1}) }, "does not join die 0 to die 5"},
		{"empty route", func(p *Program) { p.Transfer("x", 0, 5, 1, wafer.Route{}) }, "does not join"},
		{"dead dst", func(p *Program) { p.Transfer("x", 0, 15, 1, nil) }, "sends to dead or missing die 15"},
		{"negative bytes", func(p *Program) { p.Transfer("x", 0, 1, -1, nil) }, "has negative bytes or memory -1"},
		{"recv without send", func(p *Program) {
			p.add(Task{Kind: Recv, Name: "r", Die: 1, Peer: 0, Bytes: 8, Tag: 7})
		}, "receive of tag 7 from (0,0) has no matching send"},
		{"send without recv", func(p *Program) {
			p.add(Task{Kind: Send, Name: "s", Die: 0, Dst: 1, Bytes: 8, Tag: 7})
		}, "send of tag 7 to (0,1) has no matching receive"},
		{"size mismatch", func(p *Program) {
			p.add(Task{Kind: Send, Name: "s", Die: 0, Dst: 1, Bytes: 8, Tag: 7})
			p.add(Task{Kind: Recv, Name: "r", Die: 1, Peer: 0, Bytes: 9, Tag: 7})
		}, "does not match send task 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Program
			tc.build(&p)
			err := p.Check(&faulty)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "plan: die ") {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	var p Program
	a := p.Compute("a", 0, 1, 0)
	x := p.Transfer("x", 0, 1, 64, nil, a)
	p.Compute("b", 1, 1, 0, x)
	q := p.Split(100)
	if len(q.Tasks) != 4 || q.Tasks[1].Kind != Send || q.Tasks[2].Kind != Recv || q.Tasks[2].Tag != 101 ||
		q.Tasks[3].Deps[0] != 2 || q.Tasks[1].Deps[0] != 0 {
		t.Fatalf("split: %+v", q.Tasks)
	}
	if err := q.Check(s); err != nil {
		t.Fatal(err)
	}
}

func TestComm(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	var p Program
	p.Transfer("a", 0, 2, 8, nil)                  // (0,0)→(0,1)→(0,2)
	p.Transfer("b", 1, 2, 8, nil)                  // (0,1)→(0,2)
	p.Transfer("c", 0, 5, 8, wafer.Route{0, 4, 5}) // down then right
	q := p.Split(0)
	c, err := q.Comm(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.DMA[0]) != 2 || len(c.DMA[1]) != 1 {
		t.Errorf("DMA descriptors %v", c.DMA)
	}
	l, n := c.Busiest()
	if n != 2 || s.LinkName(l) != "(0,1)→(0,2)" {
		t.Errorf("busiest link %s with %d transfers", s.LinkName(l), n)
	}
}
