package costmodel

import (
	"fmt"
	"math"

	"github.com/tempc/tempc/partition"
)

// StageTimes are what one micro-batch costs each virtual stage of a
// pipeline (virtual stage c·p + d is chunk c on device d): Forward and
// Backward its passes' seconds, Transfer the seconds to move its
// activation from virtual stage i to i+1 (and the gradient back); len
// Transfer is one less than the virtual stages.
type StageTimes struct {
	Forward, Backward []float64
	Transfer          []float64
}

// PipelineTimeline is a pipeline step run out pass by pass: Makespan from
// the first forward pass to the last backward pass; Busy each device's
// seconds of passes; Bubble the idle share of all devices over the step,
// 1 − ΣBusy / (p · Makespan); PeakInFlight, per device, the most
// micro-batch chunks whose forward pass had started and backward pass not
// ended (their activations are held).
type PipelineTimeline struct {
	Makespan     float64
	Busy         []float64
	Bubble       float64
	PeakInFlight []int
}

// Pipeline runs the per-device orders of a pipeline schedule
// (partition.PipelineOrder) on stage times t: each device runs its passes
// in its order, one at a time; a forward pass starts when the previous
// virtual stage's forward pass of the micro-batch has ended and its
// activation arrived, a backward pass when the next virtual stage's
// backward pass has ended and its gradient arrived (the last virtual
// stage's, when its own forward pass has ended: the loss). It is the
// schedule's critical path, not a packet-level replay: transfers are
// their given times, with no contention between them. An order that
// cannot finish (a device waiting on a pass behind its own) is an error.
func Pipeline(order [][]partition.Pass, t StageTimes) (*PipelineTimeline, error) {
	p := len(order)
	if p == 0 {
		return nil, fmt.Errorf("costmodel: a pipeline of no stages")
	}
	vs := len(t.Forward)
	if vs == 0 || vs%p != 0 || len(t.Backward) != vs || len(t.Transfer) != vs-1 {
		return nil, fmt.Errorf("costmodel: pipeline of %d devices with %d forward, %d backward and %d transfer times: want k·%d, as many, and one fewer",
			p, len(t.Forward), len(t.Backward), len(t.Transfer), p)
	}
	for _, xs := range [][]float64{t.Forward, t.Backward, t.Transfer} {
		for _, x := range xs {
			if !(x >= 0) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("costmodel: pipeline stage time %g s: want finite and not negative", x)
			}
		}
	}
	type key struct {
		stage, micro int
		backward     bool
	}
	done := map[key]float64{}
	next := make([]int, p)
	free := make([]float64, p)
	tl := &PipelineTimeline{Busy: make([]float64, p), PeakInFlight: make([]int, p)}
	inFlight := make([]int, p)
	left := 0
	for _, o := range order {
		left += len(o)
	}
	for left > 0 {
		progress := false
		for d := range p {
			for next[d] < len(order[d]) {
				w := order[d][next[d]]
				s := w.Chunk*p + d
				if s >= vs {
					return nil, fmt.Errorf("costmodel: device %d runs chunk %d; the stage times have %d virtual stages", d, w.Chunk, vs)
				}
				var ready float64
				var ok bool
				switch {
				case !w.Backward && s == 0:
					ok = true
				case !w.Backward:
					ready, ok = done[key{s - 1, w.Micro, false}]
					ready += t.Transfer[s-1]
				case s == vs-1:
					ready, ok = done[key{s, w.Micro, false}]
				default:
					ready, ok = done[key{s + 1, w.Micro, true}]
					ready += t.Transfer[s]
				}
				if !ok {
					break
				}
				if w.Backward {
					if _, fwd := done[key{s, w.Micro, false}]; !fwd {
						return nil, fmt.Errorf("costmodel: device %d runs %v before its forward pass", d, w)
					}
				}
				k := key{s, w.Micro, w.Backward}
				if _, twice := done[k]; twice {
					return nil, fmt.Errorf("costmodel: device %d runs %v twice", d, w)
				}
				dur := t.Forward[s]
				if w.Backward {
					dur = t.Backward[s]
				} else {
					inFlight[d]++
					tl.PeakInFlight[d] = max(tl.PeakInFlight[d], inFlight[d])
				}
				start := max(free[d], ready)
				free[d] = start + dur
				done[k] = free[d]
				if w.Backward {
					inFlight[d]--
				}
				tl.Busy[d] += dur
				tl.Makespan = max(tl.Makespan, free[d])
				next[d]++
				left--
				progress = true
			}
		}
		if !progress {
			for d := range p {
				if next[d] < len(order[d]) {
					return nil, fmt.Errorf("costmodel: the pipeline order deadlocks: device %d waits to run %v", d, order[d][next[d]])
				}
			}
		}
	}
	if tl.Makespan > 0 {
		busy := 0.0
		for _, b := range tl.Busy {
			busy += b
		}
		tl.Bubble = 1 - busy/(float64(p)*tl.Makespan)
	}
	return tl, nil
}
