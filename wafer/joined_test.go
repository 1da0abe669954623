package wafer

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
)

// clusterOf returns temp48 with a default cluster of n wafers and, on its
// one wafer, a dead die (2,3) and a dead link (0,6)–(0,7) next to its east
// edge.
func clusterOf(t *testing.T, n int) *Spec {
	t.Helper()
	s := mustPreset(t, "temp48")
	s.Cluster = DefaultCluster(s, n)
	s.DeadDies = []Coord{{2, 3}}
	s.DeadLinks = []DeadLink{{Coord{0, 6}, Coord{0, 7}}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustJoin(t *testing.T, s *Spec) *Spec {
	t.Helper()
	j, err := s.Joined()
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestJoinedMesh: three 6×8 wafers make a 6×24 mesh whose every wafer
// has the dead die and link of the one, at its own columns.
func TestJoinedMesh(t *testing.T) {
	s := clusterOf(t, 3)
	j := mustJoin(t, s)
	if j.Rows != 6 || j.Cols != 24 || j.Cluster != nil || j.Seam == nil || j.Seam.Cols != 8 || j.Name != "temp48×3" {
		t.Fatalf("joined %s: %d×%d, cluster %v, seam %+v", j.Name, j.Rows, j.Cols, j.Cluster, j.Seam)
	}
	if s.Cluster == nil || s.Cols != 8 {
		t.Errorf("Joined changed its receiver: %d columns, cluster %v", s.Cols, s.Cluster)
	}
	if j.Die != s.Die || j.Link != s.Link || j.Kernel != s.Kernel || j.HBMJoulesPerBit != s.HBMJoulesPerBit {
		t.Errorf("joined figures differ from the wafer's")
	}
	// 9 TB/s over 6 rows (DefaultCluster), 500 ns, 10 pJ/bit, 16 W.
	want := Link{Bandwidth: 1.5e12, Latency: 500e-9, JoulesPerBit: 10e-12, StaticWatts: 16}
	if j.Seam.Link != want {
		t.Errorf("seam %+v, want %+v", j.Seam.Link, want)
	}
	if j.NumHealthy() != 3*47 || j.Wafers() != 3 || s.Wafers() != 3 {
		t.Errorf("%d healthy dies, %d wafers (cluster %d), want 141 and 3", j.NumHealthy(), j.Wafers(), s.Wafers())
	}
	for w := range 3 {
		die := Coord{2, 3 + 8*w}
		if j.Alive(j.ID(die)) {
			t.Errorf("wafer %d: die %v alive", w, die)
		}
		if j.WaferOf(j.ID(die)) != w || j.OnWafer(w, s.ID(Coord{2, 3})) != j.ID(die) {
			t.Errorf("wafer %d: die %v on wafer %d, OnWafer gives %v", w, die, j.WaferOf(j.ID(die)), j.Coord(j.OnWafer(w, s.ID(Coord{2, 3}))))
		}
		l, _ := j.LinkBetween(j.ID(Coord{0, 6 + 8*w}), j.ID(Coord{0, 7 + 8*w}))
		back, _ := j.LinkBetween(j.ID(Coord{0, 7 + 8*w}), j.ID(Coord{0, 6 + 8*w}))
		if j.LinkAlive(l) || j.LinkAlive(back) {
			t.Errorf("wafer %d: dead link %s alive", w, j.LinkName(l))
		}
	}
	// One dead die and one dead link per wafer, nothing more.
	if len(j.DeadDies) != 3 || len(j.DeadLinks) != 3 {
		t.Errorf("dead dies %v, dead links %v; want one of each per wafer", j.DeadDies, j.DeadLinks)
	}
}

// TestLinkFigures: the east and west links between columns 7|8 and 15|16
// of every row carry the seam's figures, every other link the wafer's.
func TestLinkFigures(t *testing.T) {
	j := mustJoin(t, clusterOf(t, 3))
	seams := 0
	for l := range LinkID(j.NumLinks()) {
		from, ok := j.LinkFrom(DieID(l/4), Dir(l%4))
		if !ok {
			continue
		}
		a, b := j.LinkEnds(from)
		ca, cb := j.Coord(a), j.Coord(b)
		lo := min(ca.C, cb.C)
		cross := ca.R == cb.R && (lo == 7 || lo == 15)
		want := &j.Link
		if cross {
			want, seams = &j.Seam.Link, seams+1
		}
		if got := j.LinkFigures(l); got != want || j.OnSeam(l) != cross {
			t.Errorf("%s: figures %+v, on seam %v; want %+v", j.LinkName(l), *got, j.OnSeam(l), *want)
		}
		if j.WaferOf(a) != ca.C/8 {
			t.Errorf("die %v on wafer %d, want %d", ca, j.WaferOf(a), ca.C/8)
		}
	}
	// Two seams of 6 rows, both directions.
	if seams != 2*6*2 {
		t.Errorf("%d seam links, want 24", seams)
	}
	one := mustPreset(t, "temp48")
	for l := range LinkID(one.NumLinks()) {
		if one.LinkFigures(l) != &one.Link || one.OnSeam(l) {
			t.Fatalf("one wafer: link %d has seam figures", l)
		}
	}
}

// TestJoinedStaticWatts: per wafer, 47 healthy dies at 90 W and 164 − 8
// − 2 = 154 live link directions at 16 W (temp48, a dead inner die and a
// dead link); 2 seams of 6 rows, both directions, at the cluster's 16 W.
// The seam's own figure is changed to tell the two apart.
func TestJoinedStaticWatts(t *testing.T) {
	s := clusterOf(t, 3)
	s.Cluster.StaticWatts = 40
	j := mustJoin(t, s)
	want := 3*(47*90.0+154*16.0) + 2*6*2*40.0
	if got := j.StaticWatts(); math.Abs(got-want) > 1e-9*want {
		t.Errorf("joined: %v W, want %v", got, want)
	}
}

// TestRouteAcrossSeams: the XY route from wafer 0's (1,2) to wafer 2's
// (4,5) crosses exactly two seam links, both eastwards, in row 1.
func TestRouteAcrossSeams(t *testing.T) {
	j := mustJoin(t, clusterOf(t, 3))
	one := mustPreset(t, "temp48")
	a, b := j.OnWafer(0, one.ID(Coord{1, 2})), j.OnWafer(2, one.ID(Coord{4, 5}))
	r, err := j.Route(a, b, XY)
	if err != nil {
		t.Fatal(err)
	}
	var crossed []string
	for _, l := range j.Links(r) {
		if j.OnSeam(l) {
			crossed = append(crossed, j.LinkName(l))
		}
	}
	if want := "(1,7)→(1,8) (1,15)→(1,16)"; strings.Join(crossed, " ") != want {
		t.Errorf("route crosses %v, want %s", crossed, want)
	}
}

func TestJoinedRejects(t *testing.T) {
	one := mustPreset(t, "temp48")
	if _, err := one.Joined(); err == nil || !strings.Contains(err.Error(), "not a cluster") {
		t.Errorf("Joined without a cluster: %v", err)
	}
	bad := clusterOf(t, 2)
	bad.Cluster.Wafers = 1
	if _, err := bad.Joined(); err == nil || !strings.Contains(err.Error(), "cluster.wafers") {
		t.Errorf("Joined of one wafer: %v", err)
	}
	j := mustJoin(t, clusterOf(t, 2))
	if err := j.SingleWafer(); err == nil || !strings.Contains(err.Error(), "joins 2 wafers") {
		t.Errorf("SingleWafer of a joined Spec: %v", err)
	}
	if err := WriteJSON(&bytes.Buffer{}, j); err == nil || !strings.Contains(err.Error(), "cluster's wafer file") {
		t.Errorf("WriteJSON of a joined Spec: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(s *Spec)
		want   string
	}{
		{"seam bandwidth zero", func(s *Spec) { s.Seam.Link.Bandwidth = 0 }, "seam.bandwidth_tbps must be positive"},
		{"seam latency NaN", func(s *Spec) { s.Seam.Link.Latency = math.NaN() }, "seam.latency_ns must be a finite number"},
		{"seam energy Inf", func(s *Spec) { s.Seam.Link.JoulesPerBit = math.Inf(1) }, "seam.pj_per_bit must be a finite number"},
		{"seam static negative", func(s *Spec) { s.Seam.Link.StaticWatts = -1 }, "seam.static_w must be positive"},
		{"seam cols not dividing", func(s *Spec) { s.Seam.Cols = 5 }, "seam.cols 5 must be positive and divide the mesh's 16 columns"},
		{"seam cols zero", func(s *Spec) { s.Seam.Cols = 0 }, "seam.cols 0 must be positive"},
		{"seam and cluster", func(s *Spec) { s.Cluster = DefaultCluster(s, 2) }, "cannot describe a cluster"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustJoin(t, clusterOf(t, 2))
			tc.mutate(s)
			if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

// A cluster of three temp48 wafers, joined into one 6×24 mesh: the link
// from column 7 to 8 crosses from wafer 0 to wafer 1 and carries the
// cluster's figures.
func ExampleSpec_Joined() {
	s, _ := Preset("temp48")
	s.Cluster = DefaultCluster(s, 3)
	j, err := s.Joined()
	if err != nil {
		panic(err)
	}
	in, _ := j.LinkBetween(j.ID(Coord{0, 6}), j.ID(Coord{0, 7}))
	across, _ := j.LinkBetween(j.ID(Coord{0, 7}), j.ID(Coord{0, 8}))
	fmt.Printf("%s: %d×%d, %d wafers\n", j.Name, j.Rows, j.Cols, j.Wafers())
	for _, l := range []LinkID{in, across} {
		f := j.LinkFigures(l)
		fmt.Printf("%s: %g TB/s, %g ns, %g pJ/bit\n", j.LinkName(l), f.Bandwidth/1e12, f.Latency*1e9, f.JoulesPerBit*1e12)
	}
	// Output:
	// temp48×3: 6×24, 3 wafers
	// (0,6)→(0,7): 4 TB/s, 200 ns, 5 pJ/bit
	// (0,7)→(0,8): 1.5 TB/s, 500 ns, 10 pJ/bit
}
