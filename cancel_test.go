package tempc_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tempc/tempc"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// cancelOn is a progress writer that cancels a context once a progress
// line containing one of its words is written: a cancellation at a known
// point of the pipeline.
type cancelOn struct {
	mu     sync.Mutex
	words  []string
	cancel context.CancelFunc
	seen   strings.Builder
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen.Write(p)
	for _, w := range c.words {
		if strings.Contains(string(p), w) {
			c.cancel()
		}
	}
	return len(p), nil
}

// TestCompileCancelled: a caller that cancels after pricing, or after the
// first solve, gets context.Canceled and no plan — not the solution the
// dual-level loop had, as before, when cancellation was read as its
// deadline, nor a plan lowered after the cancellation.
func TestCompileCancelled(t *testing.T) {
	for _, at := range []string{"priced in", "solved:"} {
		t.Run(at, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &cancelOn{words: []string{at}, cancel: cancel}
			res, err := tempc.Compile(ctx, tempc.Options{Model: "gpt2", Wafer: "mesh4x4", Batch: 16, Seq: 512, Progress: w})
			if !errors.Is(err, context.Canceled) || res != nil {
				t.Fatalf("Compile cancelled at %q = %v, %v; want context.Canceled and no result (progress:\n%s)", at, res, err, w.seen.String())
			}
		})
	}
}

// TestPipelineTimeLimitBoundsTheSearch: Solver.TimeLimit bounds the whole
// pipeline search, not each stage solve (gpt3-175b on 2 × temp48 with 5 s
// ran for 150 s before); the error says which limit ran out.
func TestPipelineTimeLimitBoundsTheSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("plans gpt3-175b stages")
	}
	s, _ := wafer.Preset("temp48")
	o := tempc.PipelineOptions{Options: tempc.Options{Model: "gpt3-175b", Spec: s, Seq: 2048}, Stages: 2}
	o.Solver.TimeLimit = 2 * time.Second
	_, err := tempc.PlanPipeline(context.Background(), o)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "time limit 2s reached while searching the pipeline split") {
		t.Fatalf("PlanPipeline with 2 s = %v, want the search's time limit", err)
	}
	if _, err := tempc.PlanPipeline(context.Background(), tempc.PipelineOptions{Options: tempc.Options{Model: "gpt2", Spec: s}, Stages: 2, MicroBatches: -1}); err == nil ||
		!strings.Contains(err.Error(), "-1 micro-batches per step: want a positive count") {
		t.Errorf("MicroBatches -1: %v", err)
	}
}

// TestReadPlanRefusesAFIFOModelSource: a plan whose model_source names a
// FIFO (or a device) is refused by name; it blocked ReadPlan forever
// (/dev/zero cost 16.7 s and 2.2 GB before the refusal). Only a model the
// user names may be a pipe.
func TestReadPlanRefusesAFIFOModelSource(t *testing.T) {
	res, err := tempc.Compile(context.Background(), tempc.Options{Model: "gpt2", Wafer: "mesh4x4", Batch: 16, Seq: 512, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "model.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	for _, source := range []string{fifo, "/dev/zero"} {
		p := *res.Plan
		p.ModelSource = source
		var b bytes.Buffer
		if err := plan.WriteJSON(&b, &p); err != nil {
			t.Fatal(err)
		}
		_, _, err := tempc.ReadPlan("p.json", b.Bytes(), "", "")
		if err == nil || !strings.Contains(err.Error(), source) || !strings.Contains(err.Error(), "is a") {
			t.Errorf("model_source %s: %v", source, err)
		}
	}
}

// endsAfterCheck is a context already done whose Err says so only from
// its second call on: it ends after Simulate's first look, so that the
// replay itself must notice.
type endsAfterCheck struct {
	context.Context
	done  chan struct{}
	calls int
}

func (c *endsAfterCheck) Done() <-chan struct{} { return c.done }
func (c *endsAfterCheck) Err() error {
	if c.calls++; c.calls == 1 {
		return nil
	}
	return context.Canceled
}

// TestSimulateCancelled: a replay stops when its context ends, with the
// context's error (it ran to its end before).
func TestSimulateCancelled(t *testing.T) {
	res, err := tempc.Compile(context.Background(), tempc.Options{Model: "gpt2", Wafer: "mesh4x4", Batch: 16, Seq: 512, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := &endsAfterCheck{Context: context.Background(), done: make(chan struct{})}
	close(ctx.done)
	_, err = tempc.Simulate(ctx, res.Plan, res.Spec, tempc.SimulateOptions{Full: true})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "simulation stopped") {
		t.Fatalf("Simulate cancelled = %v, want the replay stopped with context.Canceled", err)
	}
}
