package sim

import "container/heap"

// eventKind says what an event does when it fires.
type eventKind uint8

const (
	evComputeDone eventKind = iota // a compute task ends: a = task
	evPortFree                     // an output link finishes a packet: a = link
	evHeadArrive                   // a packet's head reaches a router: a = packet, b = link it crossed
	evDelivered                    // a packet's tail reaches its destination: a = packet, b = last link
	evCredit                       // a buffer slot credit returns to a link's sender: a = link, b = the queue (output) it frees
)

// kindNames describe event kinds in messages.
var kindNames = [...]string{evComputeDone: "a compute task", evPortFree: "a packet's send", evHeadArrive: "a packet's hop",
	evDelivered: "a packet's delivery", evCredit: "a credit's return"}

// event fires at time t; seq breaks ties in scheduling order, which makes
// runs deterministic.
type event struct {
	t    float64
	seq  uint64
	kind eventKind
	a, b int32
}

// eventHeap is a min-heap of events on container/heap. Push and pop go
// through heap.Fix on the slice so events are never boxed in interfaces.
type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].t != h[j].t {
		return h[i].t < h[j].t
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(any)     { panic("sim: use push") }
func (h *eventHeap) Pop() any     { panic("sim: use pop") }

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	heap.Fix(h, len(*h)-1)
}

func (h *eventHeap) pop() event {
	old := *h
	e := old[0]
	n := len(old) - 1
	old[0] = old[n]
	*h = old[:n]
	if n > 0 {
		heap.Fix(h, 0)
	}
	return e
}
