package driver

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/wafer"
)

// wellFormed fails t unless svg parses as XML.
func wellFormed(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
}

// TestHeatmap simulates gpt2 on mesh4x4 in 2×2 groups: the report lists
// all 48 directed links and 16 dies, their bytes those the simulator
// counted; the picture draws every die, outlines and rings every group,
// and leaves the plan's dies as they were.
func TestHeatmap(t *testing.T) {
	pl, s := compileWith(t, "gpt2", "mesh4x4", 16, 256, partition.Config{MaxGroupDies: 4, MicroBatches: []int{4},
		Recompute: []partition.Recompute{partition.NoRecompute}})
	dies := slices.Clone(pl.Dies)
	sr, err := tempc.Simulate(context.Background(), pl, s, tempc.SimulateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &sr.Report
	if len(r.Links) != 48 || len(r.Dies) != 16 {
		t.Fatalf("%d links and %d dies, want 48 and 16", len(r.Links), len(r.Dies))
	}
	var mapped, counted float64
	for _, l := range r.Links {
		mapped += l.Bytes
	}
	for _, l := range sr.Step.Links {
		counted += l.Bytes
	}
	if mapped != counted || mapped <= 0 {
		t.Errorf("links carry %g bytes, the simulator counted %g", mapped, counted)
	}
	groups := map[int]int{}
	for _, d := range r.Dies {
		if !d.Used || d.Group < 0 || d.PeakMemoryBytes < pl.StaticBytes {
			t.Errorf("die %v: used %v, group %d, peak %g", d.Die, d.Used, d.Group, d.PeakMemoryBytes)
		}
		groups[d.Group]++
	}
	if len(groups) != 4 {
		t.Errorf("groups %v, want 4 of 4 dies (%s)", groups, pl.Layout)
	}
	var b bytes.Buffer
	for range 2 {
		b.Reset()
		if err := heatmapOf(sr, pl, s).writeSVG(&b); err != nil {
			t.Fatal(err)
		}
	}
	svg := b.String()
	wellFormed(t, svg)
	for _, want := range []string{"group 0's ring", "group 3's ring", "die 3,3, group", "link (0,0)→(0,1)", pl.Layout} {
		if !strings.Contains(svg, want) {
			t.Errorf("the heatmap lacks %q", want)
		}
	}
	if n := strings.Count(svg, "<title>die "); n != 16 {
		t.Errorf("%d dies drawn, want 16", n)
	}
	if !slices.Equal(pl.Dies, dies) {
		t.Errorf("drawing changed the plan's dies: %v, was %v", pl.Dies, dies)
	}
}

// TestWaferPicture draws a wafer with faults: every dead die crossed,
// every dead directed link dashed.
func TestWaferPicture(t *testing.T) {
	base, _ := wafer.Preset("temp48")
	s, err := wafer.RandomFaults(base, 0.1, 0.1, 1)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := waferPicture(s).writeSVG(&b); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	wellFormed(t, svg)
	dead := s.NumDies() - s.NumHealthy()
	if n := strings.Count(svg, ": dead</title>"); n != dead || dead == 0 {
		t.Errorf("%d dead dies drawn, the wafer has %d", n, dead)
	}
	deadLinks := 0
	for l := range wafer.LinkID(s.NumLinks()) {
		if _, ok := s.LinkFrom(wafer.DieID(l/4), wafer.Dir(l%4)); ok && !s.LinkAlive(l) {
			deadLinks++
		}
	}
	if n := strings.Count(svg, "(dead)</title>"); n != deadLinks || deadLinks == 0 {
		t.Errorf("%d dead links drawn, the wafer has %d", n, deadLinks)
	}
}
