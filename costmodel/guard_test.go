package costmodel

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tempc/tempc/wafer"
)

// withinSeconds runs f and fails the test if it has not returned after
// limit: the cases below used to loop for ever.
func withinSeconds(t *testing.T, limit time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("still running after %v", limit)
		return nil
	}
}

// tinyBandwidth is mesh4x4 with a link bandwidth that passes no wafer file
// (wafer.Spec.Validate rejects it) but a hand-built Spec can carry: a
// fair-share rate of 1e-300 B/s split between ports underflows to 0.
func tinyBandwidth(t *testing.T, bw float64) *Model {
	t.Helper()
	s, _ := wafer.Preset("mesh4x4")
	s.Link.Bandwidth = bw
	m, err := New(s, Params{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTinyBandwidthFails: every pattern priced by the fluid model on a
// bandwidth that underflows returns an error naming the flow, promptly,
// instead of looping for ever on NaN bytes.
func TestTinyBandwidthFails(t *testing.T) {
	for _, bw := range []float64{1e-300, 1e-200} {
		m := tinyBandwidth(t, bw)
		s := m.Spec
		c := func(r, col int) wafer.DieID { return s.ID(wafer.Coord{R: r, C: col}) }
		cycle, _ := s.Cycle(wafer.Rect{Rows: 2, Cols: 2})
		chain := s.Snake(wafer.Rect{Rows: 1, Cols: 4})
		// Two flows merging into (0,1)→(0,2): each gets half the link.
		merge := []Flow{{wafer.Route{c(0, 0), c(0, 1), c(0, 2)}, 1e6}, {wafer.Route{c(0, 1), c(0, 2)}, 1e6}}
		tree, err := wafer.Merge([]wafer.Route{{c(0, 0), c(0, 1)}, {c(0, 0), c(0, 1), c(0, 2)}, {c(0, 0), c(1, 0)}})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			run  func() error
		}{
			{"price flows", func() error { _, err := m.PriceFlows(merge); return err }},
			{"all-reduce", func() error { _, err := m.AllReduce([][]wafer.DieID{cycle}, 1e6); return err }},
			{"ring stream", func() error { _, err := m.RingStream([][]wafer.DieID{cycle}, 1e6, 1e-3); return err }},
			{"relay stream", func() error { _, err := m.RelayStream([][]wafer.DieID{chain}, 1e6, 1e-3); return err }},
			{"concurrent", func() error { _, err := m.Concurrent(Cost{Flows: merge}); return err }},
			{"multicast", func() error { _, err := m.Multicast([]wafer.Tree{tree}, 1e6); return err }},
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s at %g B/s", tc.name, bw), func(t *testing.T) {
				err := withinSeconds(t, 10*time.Second, tc.run)
				if err == nil || !strings.Contains(err.Error(), "costmodel: fluid model: flow") || !strings.Contains(err.Error(), "rate is 0") {
					t.Errorf("bandwidth %g: err = %v, want a fluid model error naming the flow", bw, err)
				}
			})
		}
		if got := m.Flows(merge).Seconds; !math.IsInf(got, 1) {
			t.Errorf("bandwidth %g: Flows = %g s, want +Inf", bw, got)
		}
	}
}

// TestFluidRejectsBadInput: flows of bytes or over links the model cannot
// drain are errors before the first step.
func TestFluidRejectsBadInput(t *testing.T) {
	route := [][]wafer.LinkID{{1}}
	one := func(wafer.LinkID) float64 { return 1 }
	tests := []struct {
		name     string
		bytes    float64
		capacity func(wafer.LinkID) float64
		want     string
	}{
		{"NaN bytes", math.NaN(), one, "flow 0 of NaN bytes"},
		{"infinite bytes", math.Inf(1), one, "flow 0 of +Inf bytes"},
		{"negative bytes", -1, one, "flow 0 of -1 bytes"},
		{"zero bandwidth", 1, func(wafer.LinkID) float64 { return 0 }, "bandwidth 0 B/s"},
		{"NaN bandwidth", 1, func(wafer.LinkID) float64 { return math.NaN() }, "bandwidth NaN B/s"},
		{"infinite bandwidth", 1, func(wafer.LinkID) float64 { return math.Inf(1) }, "bandwidth +Inf B/s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fluid(route, []float64{tc.bytes}, tc.capacity)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// A step whose time overflows: 1e300 bytes at 1e-10 B/s.
	_, err := fluid(route, []float64{1e300}, func(wafer.LinkID) float64 { return 1e-10 })
	if err == nil || !strings.Contains(err.Error(), "not a positive finite time") {
		t.Errorf("overflowing step: %v", err)
	}
}

// TestMulticastRejectsNonFiniteBytes: a payload of NaN or infinite bytes is
// an error, not a garbage chunk count.
func TestMulticastRejectsNonFiniteBytes(t *testing.T) {
	m := model(t, "mesh4x4")
	tree, _ := wafer.Merge([]wafer.Route{{0, 1}})
	for _, b := range []float64{math.NaN(), math.Inf(1)} {
		if _, err := m.Multicast([]wafer.Tree{tree}, b); err == nil {
			t.Errorf("multicast of %g bytes accepted", b)
		}
	}
}
