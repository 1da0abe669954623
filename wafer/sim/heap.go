package sim

// eventKind says what an event does when it fires.
type eventKind uint8

const (
	evComputeDone eventKind = iota // a fixed-duration compute task ends: a = task
	evTileDone                     // a tile's compute completes: a = die
	evPortFree                     // an output link finishes a packet: a = link
	evHeadArrive                   // a packet's head reaches a router: a = packet, b = link it crossed
	evDelivered                    // a packet's tail reaches its destination: a = packet, b = last link
	evCredit                       // a buffer slot credit returns to a link's sender: a = link, b = the queue (output) it frees
	evHBMDone                      // an HBM port completes its request: a = die; the request's own kind follows

	// What an HBM request does when it completes (never scheduled).
	evTileLoaded // a tile's load: a = die
	evRead       // a packet's read at its source: a = packet, b = the DMA queue it joins
	evWritten    // a delivered packet's write or reduction: a = packet, b = last link
)

// kindNames describe event kinds in messages.
var kindNames = [...]string{evComputeDone: "a compute task", evTileDone: "a tile's compute", evPortFree: "a packet's send",
	evHeadArrive: "a packet's hop", evDelivered: "a packet's delivery", evCredit: "a credit's return",
	evHBMDone: "an HBM access", evTileLoaded: "a tile's load", evRead: "a packet's HBM read", evWritten: "a packet's HBM write"}

// event fires at time t; seq breaks ties in scheduling order, which makes
// runs deterministic.
type event struct {
	t    float64
	seq  uint64
	kind eventKind
	a, b int32
}

// agenda holds the pending events in (t, seq) order. Most events of a run
// come one of a few fixed delays after the event that schedules them: a
// hop's or a credit's latency, a full packet's time on a link, for each
// kind of link (die-to-die and, on a joined cluster, inter-wafer). As time
// never goes back, the events pushed with one delay are already in (t,
// seq) order and wait in a FIFO of their own; the rest wait in a heap, and
// pop takes the earliest of the heads.
type agenda struct {
	// size counts the pending events; delays[:n] are the fixed delays,
	// distinct, each with its FIFO.
	size   int
	n      int
	delays [maxFixed]float64
	fixed  [maxFixed]fifo
	heap   eventHeap
}

// maxFixed bounds the fixed delays: a latency and a full packet's time for
// each of the two kinds of link.
const maxFixed = 4

// fix gives delay a FIFO of its own, unless it has one or all are taken.
func (q *agenda) fix(delay float64) {
	for _, d := range q.delays[:q.n] {
		if d == delay {
			return
		}
	}
	if q.n < maxFixed {
		q.delays[q.n] = delay
		q.n++
	}
}

func (q *agenda) len() int { return q.size }

// push adds e, which fires delay after the current time.
func (q *agenda) push(e event, delay float64) {
	q.size++
	for i := range q.n {
		if delay == q.delays[i] {
			q.fixed[i].push(e)
			return
		}
	}
	q.heap.push(e)
}

// pop removes and returns the earliest event; the agenda must not be empty.
func (q *agenda) pop() event {
	q.size--
	var best *event
	src := -1
	if len(q.heap) > 0 {
		best = &q.heap[0]
	}
	for i := range q.n {
		if f := &q.fixed[i]; f.len() > 0 && (best == nil || f.ev[f.head].before(best)) {
			best, src = &f.ev[f.head], i
		}
	}
	if src < 0 {
		return q.heap.pop()
	}
	return q.fixed[src].pop()
}

// fifo is a queue of events.
type fifo struct {
	ev   []event
	head int
}

func (f *fifo) len() int { return len(f.ev) - f.head }

func (f *fifo) push(e event) {
	if f.head >= 1024 && f.head >= len(f.ev)/2 { // reclaim the popped half
		f.ev = f.ev[:copy(f.ev, f.ev[f.head:])]
		f.head = 0
	}
	f.ev = append(f.ev, e)
}

func (f *fifo) pop() event {
	e := f.ev[f.head]
	f.head++
	return e
}

// eventHeap is a 4-ary min-heap of events, ordered by time then seq. It
// is written out rather than built on container/heap: the interface calls
// of Less and Swap took half of a run's time, and a 4-ary heap halves the
// depth a popped event's replacement sinks through.
type eventHeap []event

func (a *event) before(b *event) bool {
	return a.t < b.t || (a.t == b.t && a.seq < b.seq)
}

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	q := *h
	i := len(q) - 1
	for i > 0 {
		parent := (i - 1) / 4
		if !e.before(&q[parent]) {
			break
		}
		q[i] = q[parent]
		i = parent
	}
	q[i] = e
}

func (h *eventHeap) pop() event {
	q := *h
	top := q[0]
	n := len(q) - 1
	last := q[n]
	q = q[:n]
	*h = q
	if n == 0 {
		return top
	}
	i := 0
	for {
		first := 4*i + 1
		if first >= n {
			break
		}
		best := first
		for c := first + 1; c < min(first+4, n); c++ {
			if q[c].before(&q[best]) {
				best = c
			}
		}
		if !q[best].before(&last) {
			break
		}
		q[i] = q[best]
		i = best
	}
	q[i] = last
	return top
}
