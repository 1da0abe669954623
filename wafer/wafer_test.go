package wafer

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tempc/tempc/internal/jsonpos"
)

func mustPreset(t testing.TB, name string) *Spec {
	t.Helper()
	s, ok := Preset(name)
	if !ok {
		t.Fatalf("no preset %s", name)
	}
	return s
}

func TestPresets(t *testing.T) {
	tests := []struct {
		name       string
		rows, cols int
	}{{"temp48", 6, 8}, {"temp32", 4, 8}, {"mesh4x4", 4, 4}}
	for _, tc := range tests {
		s := mustPreset(t, tc.name)
		if s.Rows != tc.rows || s.Cols != tc.cols || s.NumHealthy() != tc.rows*tc.cols {
			t.Errorf("%s: %d×%d with %d healthy", tc.name, s.Rows, s.Cols, s.NumHealthy())
		}
	}
	s := mustPreset(t, "temp48")
	// REFERENCE.md: 1800 TFLOPS, 72 GB, 4 TB/s links, 200 ns.
	if s.Die.PeakFLOPS != 1.8e15 || s.Die.HBMBytes != 72e9 || s.Link.Bandwidth != 4e12 || s.Link.Latency != 200e-9 {
		t.Errorf("temp48 figures %+v %+v", s.Die, s.Link)
	}
}

func TestLinksAndCoords(t *testing.T) {
	s := mustPreset(t, "temp48")
	links := 0
	for d := DieID(0); int(d) < s.NumDies(); d++ {
		if s.ID(s.Coord(d)) != d {
			t.Fatalf("coord round trip of %d", d)
		}
		for dir := North; dir <= West; dir++ {
			l, ok := s.LinkFrom(d, dir)
			if !ok {
				continue
			}
			links++
			from, to := s.LinkEnds(l)
			if from != d || s.Hops(from, to) != 1 {
				t.Fatalf("link %d of die %d goes %d→%d", l, d, from, to)
			}
			if back, ok := s.LinkBetween(from, to); !ok || back != l {
				t.Fatalf("LinkBetween(%d,%d) = %d, want %d", from, to, back, l)
			}
		}
	}
	// A 6×8 mesh has 2·(6·7 + 5·8) = 164 directed links.
	if links != 164 {
		t.Errorf("%d directed links, want 164", links)
	}
}

// TestDimensionOrderRoutes checks every pair of dies on a 4×4 mesh against
// the definition: Manhattan length, neighbour hops, and XY moving along the
// row first (YX the column first).
func TestDimensionOrderRoutes(t *testing.T) {
	s := mustPreset(t, "mesh4x4")
	for a := DieID(0); a < 16; a++ {
		for b := DieID(0); b < 16; b++ {
			for _, r := range []Routing{XY, YX} {
				route, err := s.Route(a, b, r)
				if err != nil {
					t.Fatal(err)
				}
				if len(route)-1 != s.Hops(a, b) || route[0] != a || route[len(route)-1] != b {
					t.Fatalf("%v route %d→%d = %v", r, a, b, route)
				}
				// The first hop changes the column under XY (unless none is needed).
				if len(route) > 1 {
					ca, cn, cb := s.Coord(a), s.Coord(route[1]), s.Coord(b)
					colFirst := cn.C != ca.C
					if r == XY && colFirst != (ca.C != cb.C) || r == YX && colFirst != (ca.R == cb.R) {
						t.Fatalf("%v route %v→%v starts with %v", r, ca, cb, cn)
					}
				}
				if len(s.Links(route)) != len(route)-1 {
					t.Fatal("Links length")
				}
			}
		}
	}
}

func TestFaultsBlockRoutes(t *testing.T) {
	s := mustPreset(t, "mesh4x4")
	s.DeadDies = []Coord{{1, 1}}
	s.DeadLinks = []DeadLink{{Coord{2, 2}, Coord{2, 3}}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.NumHealthy() != 15 || s.Alive(s.ID(Coord{1, 1})) {
		t.Fatal("dead die still alive")
	}
	// XY from (1,0) to (1,2) crosses the dead die (1,1).
	if _, err := s.Route(s.ID(Coord{1, 0}), s.ID(Coord{1, 2}), XY); err == nil || !strings.Contains(err.Error(), "dead or missing die (1,1)") {
		t.Errorf("route through dead die: %v", err)
	}
	// YX from (0,0) to (1,2): down to (1,0), then east through (1,1): dead too; XY avoids it.
	if _, err := s.Route(s.ID(Coord{0, 0}), s.ID(Coord{1, 2}), XY); err != nil {
		t.Errorf("XY route avoiding the dead die: %v", err)
	}
	l, _ := s.LinkBetween(s.ID(Coord{2, 3}), s.ID(Coord{2, 2}))
	if s.LinkAlive(l) {
		t.Error("reverse direction of a dead link is alive")
	}
	if err := s.CheckRoute(Route{s.ID(Coord{2, 3}), s.ID(Coord{2, 2})}); err == nil || !strings.Contains(err.Error(), "dead link (2,3)→(2,2)") {
		t.Errorf("route over dead link: %v", err)
	}
	if err := s.CheckRoute(Route{0, 2}); err == nil || !strings.Contains(err.Error(), "not between neighbours") {
		t.Errorf("jump: %v", err)
	}
	if err := s.CheckRoute(Route{0, 1, 0, 4}); err != nil {
		t.Errorf("a valid (if wasteful) explicit route: %v", err)
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *Spec)
		want   string
	}{
		{"zero rows", func(s *Spec) { s.Rows = 0 }, "positive rows and cols"},
		{"negative bandwidth", func(s *Spec) { s.Link.Bandwidth = -1 }, "link.bandwidth_tbps must be positive"},
		{"zero peak", func(s *Spec) { s.Die.PeakFLOPS = 0 }, "die.peak_tflops must be positive"},
		{"negative latency", func(s *Spec) { s.Link.Latency = -1 }, "link.latency_ns must not be negative"},
		{"no dma", func(s *Spec) { s.Die.DMAEngines = 0 }, "die.dma_engines must be between 1 and 64, got 0"},
		{"dma 1e9", func(s *Spec) { s.Die.DMAEngines = 1e9 }, "die.dma_engines must be between 1 and 64"},
		// Rates that underflow in the cost model (1e-300, 1e-200) or make
		// its prices unsolvable (1e-50, 1e-100): TB/s times 10^12 B/s.
		{"bandwidth 1e-300", func(s *Spec) { s.Link.Bandwidth = 1e-300 * tera }, "link.bandwidth_tbps 1e-300 TB/s is outside the plausible range [0.0001, 10000] TB/s"},
		{"bandwidth 1e-200", func(s *Spec) { s.Link.Bandwidth = 1e-200 * tera }, "link.bandwidth_tbps 1e-200 TB/s is outside"},
		{"bandwidth 1e-100", func(s *Spec) { s.Link.Bandwidth = 1e-100 * tera }, "link.bandwidth_tbps 1e-100 TB/s is outside"},
		{"bandwidth 1e-50", func(s *Spec) { s.Link.Bandwidth = 1e-50 * tera }, "link.bandwidth_tbps 1e-50 TB/s is outside"},
		{"bandwidth NaN", func(s *Spec) { s.Link.Bandwidth = math.NaN() }, "link.bandwidth_tbps must be a finite number, got NaN"},
		{"bandwidth Inf", func(s *Spec) { s.Link.Bandwidth = math.Inf(1) }, "link.bandwidth_tbps must be a finite number, got +Inf"},
		{"peak 1e-300", func(s *Spec) { s.Die.PeakFLOPS = 1e-300 * tera }, "die.peak_tflops 1e-300 TFLOPS is outside"},
		{"peak 1e308", func(s *Spec) { s.Die.PeakFLOPS = 1e308 }, "die.peak_tflops 1e+296 TFLOPS is outside"},
		{"latency 1e300", func(s *Spec) { s.Link.Latency = fromNano(1e300) }, "link.latency_ns 1e+300 ns is outside the plausible range [0, 1e+06] ns"},
		{"hbm bandwidth 1e-300", func(s *Spec) { s.Die.HBMBandwidth = 1e-300 * tera }, "die.hbm_tbps 1e-300 TB/s is outside"},
		{"hbm 1e12 GB", func(s *Spec) { s.Die.HBMBytes = 1e12 * giga }, "die.hbm_gb 1e+12 GB is outside"},
		{"sram negative", func(s *Spec) { s.Die.SRAMBytes = -1 }, "die.sram_mb must be positive"},
		{"sram zero", func(s *Spec) { s.Die.SRAMBytes = 0 }, "die.sram_mb must be positive"},
		{"gemm efficiency NaN", func(s *Spec) { s.Kernel.GEMMEfficiency = math.NaN() }, "kernel.gemm_efficiency must be a finite number"},
		{"array tile negative", func(s *Spec) { s.Kernel.ArrayTile = -1 }, "kernel.array_tile must be between 1 and 65536"},
		{"link energy 1e5", func(s *Spec) { s.Link.JoulesPerBit = fromPico(1e5) }, "link.pj_per_bit 100000 pJ/bit is outside"},
		{"hbm energy NaN", func(s *Spec) { s.HBMJoulesPerBit = math.NaN() }, "hbm_pj_per_bit must be a finite number"},
		{"efficiency 1e-9", func(s *Spec) { s.FLOPSPerWatt = 1e-9 * tera }, "tflops_per_watt 1e-09 TFLOPS/W is outside"},
		{"mesh 1e6×1e6", func(s *Spec) { s.Rows, s.Cols = 1e6, 1e6 }, "mesh 1000000×1000000 exceeds 65536 dies"},
		// Rows·Cols wraps round to 0 in int.
		{"mesh product overflows", func(s *Spec) { s.Rows, s.Cols = math.MaxInt/2+1, 4 }, "exceeds 65536 dies"},
		{"mesh 300×300", func(s *Spec) { s.Rows, s.Cols = 300, 300 }, "mesh 300×300 exceeds 65536 dies"},
		{"fault outside", func(s *Spec) { s.DeadDies = []Coord{{4, 0}} }, "dead die (4,0) is outside the 4×4 mesh"},
		{"link outside", func(s *Spec) { s.DeadLinks = []DeadLink{{Coord{3, 3}, Coord{3, 4}}} }, "outside the 4×4 mesh"},
		{"link not adjacent", func(s *Spec) { s.DeadLinks = []DeadLink{{Coord{0, 0}, Coord{1, 1}}} }, "not neighbours"},
		{"all dead", func(s *Spec) {
			for d := range 16 {
				s.DeadDies = append(s.DeadDies, Coord{d / 4, d % 4})
			}
		}, "no healthy die"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustPreset(t, "mesh4x4")
			tc.mutate(s)
			if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestValidateAcceptsRepeatedFaults: code that adds random faults to a
// wafer that has some may repeat one; the fault tables are the same.
func TestValidateAcceptsRepeatedFaults(t *testing.T) {
	s := mustPreset(t, "mesh4x4")
	s.DeadDies = []Coord{{1, 1}, {2, 2}, {1, 1}}
	s.DeadLinks = []DeadLink{{Coord{0, 0}, Coord{0, 1}}, {Coord{0, 1}, Coord{0, 0}}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	l, _ := s.LinkBetween(s.ID(Coord{0, 0}), s.ID(Coord{0, 1}))
	if s.NumHealthy() != 14 || s.LinkAlive(l) {
		t.Errorf("%d healthy dies, link (0,0)→(0,1) alive %v", s.NumHealthy(), s.LinkAlive(l))
	}
	// Written, each fault appears once, so the file reads back.
	var b bytes.Buffer
	if err := WriteJSON(&b, s); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON("w.json", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(back.DeadDies) != 2 || len(back.DeadLinks) != 1 {
		t.Errorf("read back %v and %v", back.DeadDies, back.DeadLinks)
	}
}

func TestJSONRoundTripAndSchema(t *testing.T) {
	abs, _ := filepath.Abs("wafer.schema.json")
	sch, err := jsonschema.NewCompiler().Compile(abs)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(PresetNames(), "cluster") {
		var s *Spec
		if name == "cluster" {
			s = mustPreset(t, "temp48")
			s.Cluster = DefaultCluster(s, 6)
		} else {
			s = mustPreset(t, name)
		}
		s.DeadDies = []Coord{{0, 1}}
		s.DeadLinks = []DeadLink{{Coord{1, 1}, Coord{1, 2}}}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteJSON(&b, s); err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s violates the schema: %v", name, err)
		}
		back, err := ReadJSON(name+".json", b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(s, back, cmpopts.IgnoreUnexported(Spec{})); d != "" {
			t.Errorf("%s changed in a round trip (-want +got):\n%s", name, d)
		}
	}
}

func TestReadJSONErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"truncated", "{\n  \"schema_version\": 3,\n  \"rows\": 4,", "w.json:3:13: malformed JSON: unexpected end"},
		{"wrong type", "{\"schema_version\": 3, \"rows\": \"four\"}", "rows: want int"},
		{"unknown field", `{"schema_version": 3, "rowz": 4}`, `w.json:1:23: rowz: unknown field`},
		{"version", `{"schema_version": 9}`, "w.json:1:2: schema_version: unsupported version 9"},
		{"values", `{"schema_version": 3, "rows": 2, "cols": 2, "die": {"peak_tflops": 1, "hbm_gb": 1, "hbm_tbps": 1, "sram_mb": 1, "dma_engines": 1, "static_w": 1},
		  "link": {"bandwidth_tbps": 0, "latency_ns": 1, "pj_per_bit": 1, "static_w": 1}, "hbm_pj_per_bit": 1, "tflops_per_watt": 1, "sram_pj_per_bit": 1,
		  "kernel": {"gemm_efficiency": 1, "attention_efficiency": 1, "array_tile": 1, "gemm_sram_fraction": 0.5}, "dead_dies": [[5, 5]]}`,
			"link.bandwidth_tbps must be positive"},
	}
	cluster := func(fields string) string {
		return strings.Replace(tests[4].src, `"dead_dies": [[5, 5]]}`, `"dead_dies": [], "cluster": {`+fields+`}}`, 1)
	}
	tests = append(tests, []struct{ name, src, want string }{
		{"one wafer", cluster(`"wafers": 1, "edge_tbps": 9, "latency_ns": 500, "pj_per_bit": 10, "static_w": 16`), "cluster.wafers must be between 2 and 128, got 1"},
		{"edge negative", cluster(`"wafers": 2, "edge_tbps": -9, "latency_ns": 500, "pj_per_bit": 10, "static_w": 16`), "cluster.edge_tbps must be positive, got -9"},
		{"latency missing", cluster(`"wafers": 2, "edge_tbps": 9, "pj_per_bit": 10, "static_w": 16`), "cluster.latency_ns: required field is missing"},
		{"unknown cluster field", cluster(`"wafers": 2, "edge_tbps": 9, "latency_ns": 500, "pj_per_bit": 10, "static_w": 16, "hops": 1`), "cluster.hops: unknown field"},
	}...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadJSON("w.json", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	_, err := ReadJSON("w.json", []byte(tests[4].src))
	if err == nil || !strings.Contains(err.Error(), "dead die (5,5) is outside") {
		t.Errorf("both problems should be listed: %v", err)
	}
}

// waferFile is a valid 2×2 wafer file, one field a line, with old
// replaced by new.
func waferFile(t *testing.T, old, new string) string {
	t.Helper()
	const src = `{"schema_version": 3, "rows": 2, "cols": 2,
"die": {"peak_tflops": 1800, "hbm_gb": 72, "hbm_tbps": 1,
"sram_mb": 80, "dma_engines": 8, "static_w": 90},
"link": {"bandwidth_tbps": 4, "latency_ns": 200, "pj_per_bit": 5, "static_w": 16},
"hbm_pj_per_bit": 6, "tflops_per_watt": 2, "sram_pj_per_bit": 0.5, "kernel": {"gemm_efficiency": 0.8, "attention_efficiency": 0.6, "array_tile": 128, "gemm_sram_fraction": 0.5},
"dead_dies": [[0, 1]],
"dead_links": [[[1, 0], [1, 1]]]}`
	if !strings.Contains(src, old) {
		t.Fatalf("%q is not in the wafer file", old)
	}
	return strings.Replace(src, old, new, 1)
}

// TestReadJSONBadValues: values out of their plausible range, malformed or
// repeated faults, missing fields and huge meshes are rejected at their
// position in the file.
func TestReadJSONBadValues(t *testing.T) {
	tests := []struct{ name, old, new, want string }{
		{"valid", "", "", ""},
		{"bandwidth 1e-300", `"bandwidth_tbps": 4`, `"bandwidth_tbps": 1e-300`,
			"w.json:4:10: link.bandwidth_tbps 1e-300 TB/s is outside the plausible range [0.0001, 10000] TB/s"},
		{"bandwidth 1e-200", `"bandwidth_tbps": 4`, `"bandwidth_tbps": 1e-200`, "w.json:4:10: link.bandwidth_tbps 1e-200 TB/s is outside"},
		{"bandwidth 1e-100", `"bandwidth_tbps": 4`, `"bandwidth_tbps": 1e-100`, "link.bandwidth_tbps 1e-100 TB/s is outside"},
		{"bandwidth 1e-50", `"bandwidth_tbps": 4`, `"bandwidth_tbps": 1e-50`, "link.bandwidth_tbps 1e-50 TB/s is outside"},
		{"bandwidth just below", `"bandwidth_tbps": 4`, `"bandwidth_tbps": 0.0000999999`, "link.bandwidth_tbps 9.99999e-05 TB/s is outside"},
		{"latency just above", `"latency_ns": 200`, `"latency_ns": 1000000.1`, "link.latency_ns 1000000.1 ns is outside"},
		{"latency at the maximum", `"latency_ns": 200`, `"latency_ns": 1e6`, ""},
		{"bandwidth negative", `"bandwidth_tbps": 4`, `"bandwidth_tbps": -4`, "link.bandwidth_tbps must be positive, got -4"},
		{"bandwidth zero", `"bandwidth_tbps": 4`, `"bandwidth_tbps": 0`, "link.bandwidth_tbps must be positive, got 0"},
		{"bandwidth 1e308", `"bandwidth_tbps": 4`, `"bandwidth_tbps": 1e308`, "link.bandwidth_tbps 1e+308 TB/s is outside"},
		// JSON has no NaN; an exponent beyond float64 is the nearest a file gets.
		{"bandwidth 1e999", `"bandwidth_tbps": 4`, `"bandwidth_tbps": 1e999`, "w.json:4:"},
		{"peak 1e-300", `"peak_tflops": 1800`, `"peak_tflops": 1e-300`, "w.json:2:9: die.peak_tflops 1e-300 TFLOPS is outside"},
		{"latency 1e300", `"latency_ns": 200`, `"latency_ns": 1e300`, "w.json:4:31: link.latency_ns 1e+300 ns is outside"},
		{"hbm bandwidth 1e-300", `"hbm_tbps": 1`, `"hbm_tbps": 1e-300`, "w.json:2:44: die.hbm_tbps 1e-300 TB/s is outside"},
		{"dma 1000", `"dma_engines": 8`, `"dma_engines": 1000`, "w.json:3:16: die.dma_engines must be between 1 and 64, got 1000"},
		{"dead die of three", `[[0, 1]]`, `[[0, 1, 2]]`, "w.json:6:15: dead_dies[0]: want a [row, col] pair, got [0 1 2]"},
		{"dead die of one", `[[0, 1]]`, `[[0, 1], [1]]`, "w.json:6:23: dead_dies[1]: want a [row, col] pair, got [1]"},
		{"dead link end of three", `[[[1, 0], [1, 1]]]`, `[[[1, 0], [1, 1, 0]]]`, "w.json:7:16: dead_links[0]: want a pair of [row, col] pairs"},
		{"dead link of three ends", `[[[1, 0], [1, 1]]]`, `[[[1, 0], [1, 1], [0, 1]]]`, "dead_links[0]: want a pair of [row, col] pairs"},
		{"duplicate dead die", `[[0, 1]]`, `[[0, 1], [1, 1], [0, 1]]`, "w.json:6:31: dead_dies[2]: dead die (0,1) is listed twice (first as dead_dies[0])"},
		{"duplicate dead link", `[[[1, 0], [1, 1]]]`, `[[[1, 0], [1, 1]], [[1, 0], [1, 1]]]`, "w.json:7:34: dead_links[1]: dead link (1,0)–(1,1) is listed twice"},
		{"duplicate dead link reversed", `[[[1, 0], [1, 1]]]`, `[[[1, 0], [1, 1]], [[1, 1], [1, 0]]]`, "dead_links[1]: dead link (1,1)–(1,0) is listed twice (first as dead_links[0])"},
		{"missing sram", `"sram_mb": 80, `, ``, "w.json:2:8: die.sram_mb: required field is missing"},
		{"missing latency", `"latency_ns": 200, `, ``, "w.json:4:9: link.latency_ns: required field is missing"},
		{"unknown field", `"hbm_pj_per_bit": 6`, `"hbm_pj_per_bit": 6, "static_w": 3`, "w.json:5:22: static_w: unknown field"},
		{"unknown die field", `"sram_mb": 80`, `"sram_mb": 80, "l2_mb": 3`, "w.json:3:16: die.l2_mb: unknown field"},
		{"missing version", `"schema_version": 3, `, ``, "w.json:1:1: schema_version: required field is missing (this tempc reads 3)"},
		{"version 1", `"schema_version": 3`, `"schema_version": 1`, "w.json:1:2: schema_version: unsupported version 1 (this tempc reads 3; version 2 added die.static_w and link.static_w"},
		{"version 2", `"schema_version": 3`, `"schema_version": 2`, "w.json:1:2: schema_version: unsupported version 2 (this tempc reads 3; version 3 adds sram_pj_per_bit and the kernel object"},
		{"zero sram", `"sram_mb": 80`, `"sram_mb": 0`, "w.json:3:1: die.sram_mb must be positive, got 0"},
		{"negative sram", `"sram_mb": 80`, `"sram_mb": -80`, "die.sram_mb must be positive, got -80"},
		{"negative sram energy", `"sram_pj_per_bit": 0.5`, `"sram_pj_per_bit": -0.5`, "sram_pj_per_bit must not be negative, got -0.5"},
		{"zero gemm efficiency", `"gemm_efficiency": 0.8`, `"gemm_efficiency": 0`, "kernel.gemm_efficiency must be positive, got 0"},
		{"gemm efficiency above 1", `"gemm_efficiency": 0.8`, `"gemm_efficiency": 1.2`, "kernel.gemm_efficiency 1.2 is outside the plausible range [0.01, 1]"},
		{"negative attention efficiency", `"attention_efficiency": 0.6`, `"attention_efficiency": -1`, "kernel.attention_efficiency must be positive, got -1"},
		{"all SRAM to GEMMs", `"gemm_sram_fraction": 0.5`, `"gemm_sram_fraction": 1`, "kernel.gemm_sram_fraction 1 is outside the plausible range [0.01, 0.99]"},
		{"zero array tile", `"array_tile": 128`, `"array_tile": 0`, "kernel.array_tile must be between 1 and 65536 elements, got 0"},
		{"missing kernel field", `"array_tile": 128, `, ``, "kernel.array_tile: required field is missing"},
		{"unknown kernel field", `"array_tile": 128`, `"array_tile": 128, "warp": 32`, "kernel.warp: unknown field"},
		{"missing link", `"link": {"bandwidth_tbps": 4, "latency_ns": 200, "pj_per_bit": 5, "static_w": 16},`, ``, "w.json:1:1: link: required field is missing"},
		{"missing die static power", `, "static_w": 90}`, `}`, "w.json:2:8: die.static_w: required field is missing"},
		{"zero die static power", `"static_w": 90`, `"static_w": 0`, "w.json:3:34: die.static_w must be positive, got 0"},
		{"negative link static power", `"static_w": 16`, `"static_w": -16`, "w.json:4:67: link.static_w must be positive, got -16"},
		{"link static power 1e6", `"static_w": 16`, `"static_w": 1e6`, "w.json:4:67: link.static_w 1000000 W is outside the plausible range [0.001, 100000] W"},
		{"null rows", `"rows": 2`, `"rows": null`, "rows: "},
		{"rows as string", `"rows": 2`, `"rows": "2"`, "rows: want int"},
		{"rows 1e6", `"rows": 2`, `"rows": 1e6`, "rows: want int"},
		{"mesh 1e6×1e6", `"rows": 2, "cols": 2`, `"rows": 1000000, "cols": 1000000`, "w.json:1:23: mesh 1000000×1000000 exceeds 65536 dies"},
		{"mesh 2×65536", `"rows": 2, "cols": 2`, `"rows": 2, "cols": 65536`, "w.json:1:23: mesh 2×65536 exceeds 65536 dies"},
		{"mesh 2×100000", `"rows": 2, "cols": 2`, `"rows": 2, "cols": 100000`, "w.json:1:34: mesh 2×100000 exceeds 65536 dies"},
		{"rows past int64", `"rows": 2`, `"rows": 99999999999999999999`, "rows: want int"},
		{"efficiency as array", `"tflops_per_watt": 2`, `"tflops_per_watt": [2]`, "tflops_per_watt: want float64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := waferFile(t, tc.old, tc.new)
			_, err := ReadJSON("w.json", []byte(src))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("valid file rejected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestManyBadFaults: a file listing a hundred thousand faults twice, or
// malformed, gets the first hundred problems and a count of the rest.
func TestManyBadFaults(t *testing.T) {
	for _, tc := range []struct{ name, elem, want string }{
		{"repeated", "[1, 1]", "and 99900 more problems of the faults"},
		{"malformed", "[1, 1, 1]", "and 99900 more malformed faults"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// 100,000 entries, then the die once more: each entry is a
			// problem (a repeat of the first, or malformed) bar the first.
			list := "[" + strings.Repeat(tc.elem+", ", 100000) + "[1, 1]]"
			_, err := ReadJSON("w.json", []byte(waferFile(t, "[[0, 1]]", list)))
			var l jsonpos.ErrorList
			if !errors.As(err, &l) || len(l) != 101 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%d problems, err ends %q", len(l), tail(err))
			}
		})
	}
}

func tail(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	return s[max(0, len(s)-200):]
}

// TestLimitsMatchSchema: the plausible ranges of wafer.schema.json are
// those ReadJSON enforces.
func TestLimitsMatchSchema(t *testing.T) {
	data, err := os.ReadFile("wafer.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	type prop struct {
		Minimum, Maximum *float64
		Properties       map[string]prop
	}
	var sch prop
	if err := json.Unmarshal(data, &sch); err != nil {
		t.Fatal(err)
	}
	field := func(path string) prop {
		p := sch
		for _, k := range strings.Split(path, ".") {
			p = p.Properties[k]
		}
		return p
	}
	check := func(path string, lo, hi float64) {
		p := field(path)
		if p.Minimum == nil || p.Maximum == nil || *p.Minimum != lo || *p.Maximum != hi {
			t.Errorf("%s: schema range %v–%v, want [%g, %g]", path, p.Minimum, p.Maximum, lo, hi)
		}
	}
	for _, l := range limits {
		check(l.field, l.min, l.max)
	}
	check("die.dma_engines", 1, maxDMAEngines)
	check("rows", 1, maxDies)
	check("cols", 1, maxDies)
}

// TestGEMMTile: temp48's half of 80 MB holds fp32 tiles of side
// √(40e6/4) = 3162, rounded down to 24 array tiles of 128; a die too small
// for one array tile still gets one.
func TestGEMMTile(t *testing.T) {
	s := mustPreset(t, "temp48")
	if got := s.GEMMTile(); got != 3072 {
		t.Errorf("tile side %g, want 3072", got)
	}
	if got := s.StreamSRAM(); got != 40e6 {
		t.Errorf("stream SRAM %g, want 4e7", got)
	}
	s.Die.SRAMBytes = 1000
	if got := s.GEMMTile(); got != 128 {
		t.Errorf("tiny SRAM: tile side %g, want 128", got)
	}
}

func TestDetour(t *testing.T) {
	s := mustPreset(t, "mesh4x4")
	// A wall of dead dies in column 1 except row 3: (0,0)→(0,2) must go round.
	s.DeadDies = []Coord{{0, 1}, {1, 1}, {2, 1}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := s.Detour(s.ID(Coord{0, 0}), s.ID(Coord{0, 2}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckRoute(r); err != nil || len(r)-1 != 8 {
		t.Errorf("detour %v (%d hops, %v), want 8 hops round the wall", r, len(r)-1, err)
	}
	// Where XY is healthy it is used.
	xy, _ := s.Route(s.ID(Coord{3, 0}), s.ID(Coord{3, 3}), XY)
	if d, _ := s.Detour(s.ID(Coord{3, 0}), s.ID(Coord{3, 3})); len(d) != len(xy) || d[1] != xy[1] {
		t.Errorf("detour %v, want the XY route %v", d, xy)
	}
	s.DeadDies = append(s.DeadDies, Coord{3, 1})
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Detour(s.ID(Coord{0, 0}), s.ID(Coord{0, 2})); err == nil || !strings.Contains(err.Error(), "cut") {
		t.Errorf("cut-off die: %v", err)
	}
}

func TestConnected(t *testing.T) {
	s := mustPreset(t, "mesh4x4")
	// Cut (0,0) off: both its links dead. It is healthy but alone.
	s.DeadLinks = []DeadLink{{Coord{0, 0}, Coord{0, 1}}, {Coord{0, 0}, Coord{1, 0}}}
	s.DeadDies = []Coord{{3, 3}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	in := s.Connected()
	n := 0
	for _, b := range in {
		if b {
			n++
		}
	}
	if in[0] || in[15] || n != 14 {
		t.Errorf("connected part has %d dies, (0,0) %v, (3,3) %v; want 14 without both", n, in[0], in[15])
	}
}

// TestStaticWatts: temp48 has 48 dies and 2·(6·7 + 5·8) = 164 link
// directions; a dead die takes its own power and its links' with it.
func TestStaticWatts(t *testing.T) {
	s, _ := Preset("temp48")
	if got, want := s.StaticWatts(), 48*90.0+164*16.0; got != want {
		t.Errorf("temp48: %v W, want %v", got, want)
	}
	s.DeadDies = []Coord{{2, 3}} // an inner die: 4 links, 8 directions
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := s.StaticWatts(), 47*90.0+156*16.0; got != want {
		t.Errorf("one dead die: %v W, want %v", got, want)
	}
}
