package sim

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// TaskTiming is when a task became ready, started on its engine, and
// ended; Live is its die's live memory once the task allocated its
// memory and scratch (zero when it allocates none).
type TaskTiming struct {
	Ready, Start, End float64
	Live              float64
}

// LinkStats is what one directed link carried.
type LinkStats struct {
	Link  wafer.LinkID `json:"link"`
	Name  string       `json:"name"`
	Bytes float64      `json:"bytes"`
	// BusySeconds is the time spent sending (a link after a slower one
	// sends at the pace the bytes arrive); Utilization is it over the
	// makespan.
	BusySeconds float64 `json:"busy_seconds"`
	Utilization float64 `json:"utilization"`
}

// DieStats is how one die's compute engine and memories spent the run.
type DieStats struct {
	Die wafer.DieID `json:"die"`
	// BusySeconds is the time the compute engine held a task (from its
	// start to its end, stalls on HBM included); IdleSeconds the rest of
	// the makespan.
	BusySeconds float64 `json:"busy_seconds"`
	IdleSeconds float64 `json:"idle_seconds"`
	// HBMBytes is what went through the die's HBM port (compute loads and
	// stores, DMA reads, arriving writes, reductions' reads), and
	// HBMBusySeconds the time the port spent serving it.
	HBMBytes       float64 `json:"hbm_bytes"`
	HBMBusySeconds float64 `json:"hbm_busy_seconds"`
	// PeakSRAMBytes is the most stream SRAM arriving blocks held at once.
	PeakSRAMBytes float64 `json:"peak_sram_bytes"`
	// PeakMemoryBytes is the most memory the die's tasks held live at
	// once (their Alloc, Free and Scratch: a task's allocation is live
	// from its start — a message's once it is ready to go — and what it
	// frees, with its scratch, until its end), and PeakMemorySeconds when
	// it was first reached. A plan's static bytes come on top.
	PeakMemoryBytes   float64 `json:"peak_memory_bytes"`
	PeakMemorySeconds float64 `json:"peak_memory_seconds"`
}

// MemorySample is a die's live memory from Time on.
type MemorySample struct {
	Time  float64     `json:"time"`
	Die   wafer.DieID `json:"die"`
	Bytes float64     `json:"bytes"`
}

// Result is the outcome of a run.
type Result struct {
	// Makespan is the time the last task ended.
	Makespan float64 `json:"makespan_seconds"`
	// Tasks is indexed by plan.TaskID.
	Tasks []TaskTiming `json:"-"`
	// Links lists every link of the mesh in LinkID order; Dies every die.
	Links []LinkStats `json:"links"`
	Dies  []DieStats  `json:"dies"`
	// PeakBufferPackets is the most packets any router input buffer held,
	// PeakBufferBytes the same in bytes at full packet size.
	PeakBufferPackets int   `json:"peak_buffer_packets"`
	PeakBufferBytes   int64 `json:"peak_buffer_bytes"`
	// Memory lists every change of a die's live memory, in time order.
	Memory []MemorySample `json:"-"`
	// Events is the number of events processed.
	Events int64 `json:"events"`
	// PacketBytes and BufferPackets are the settings the run used.
	PacketBytes   int64 `json:"packet_bytes"`
	BufferPackets int   `json:"buffer_packets"`
	// SpilledMessages counts the DstSRAM messages that found no room in
	// their destination's stream SRAM and landed in its HBM, and
	// SpilledBytes their bytes.
	SpilledMessages int   `json:"spilled_messages"`
	SpilledBytes    int64 `json:"spilled_bytes"`
	// Energy is what the run consumed, from what it did: the FLOPs of the
	// compute tasks it ran, the bytes through every HBM port and in SRAM,
	// the bytes each link carried, and the wafer's static power over the
	// makespan.
	Energy Energy `json:"energy_joules"`
}

// Energy is a run's energy in joules by where it went.
type Energy struct {
	Compute float64 `json:"compute"` // FLOPs at the die's FLOP per joule
	HBM     float64 `json:"hbm"`     // bits through every HBM port: compute, DMA and spills
	SRAM    float64 `json:"sram"`    // streamed bits read by compute and DMA, or written by arriving messages
	D2D     float64 `json:"d2d"`     // bits carried, per link crossed, at that link's energy
	Static  float64 `json:"static"`  // every healthy die and live link, idle or not, for the makespan
}

// Total is the sum of the parts.
func (e Energy) Total() float64 { return e.Compute + e.HBM + e.SRAM + e.D2D + e.Static }

// MaxLink returns the link that carried the most bytes.
func (r *Result) MaxLink() LinkStats {
	var best LinkStats
	for _, l := range r.Links {
		if l.Bytes > best.Bytes {
			best = l
		}
	}
	return best
}

func (st *state) result() *Result {
	r := &Result{Tasks: st.timing, Memory: st.memSamples, Events: st.nEvents, PeakBufferPackets: st.peakOcc,
		PeakBufferBytes: mulSat(int64(st.peakOcc), st.cfg.PacketBytes), PacketBytes: st.cfg.PacketBytes,
		BufferPackets: st.cfg.BufferPackets, SpilledMessages: st.spilledMsgs, SpilledBytes: st.spilledBytes}
	for _, t := range st.timing {
		r.Makespan = max(r.Makespan, t.End)
	}
	for l := range st.spec.NumLinks() {
		id := wafer.LinkID(l)
		if _, ok := st.spec.LinkFrom(wafer.DieID(l/4), wafer.Dir(l%4)); !ok {
			continue
		}
		ls := LinkStats{Link: id, Name: st.spec.LinkName(id), Bytes: st.linkBytes[l], BusySeconds: st.linkBusy[l]}
		if r.Makespan > 0 {
			ls.Utilization = ls.BusySeconds / r.Makespan
		}
		r.Links = append(r.Links, ls)
	}
	for d := range st.spec.NumDies() {
		r.Dies = append(r.Dies, DieStats{Die: wafer.DieID(d), BusySeconds: st.dieBusy[d],
			IdleSeconds: r.Makespan - st.dieBusy[d], HBMBytes: st.hbm[d].bytes, HBMBusySeconds: st.hbm[d].served,
			PeakSRAMBytes: st.peakSRAM[d], PeakMemoryBytes: st.peakLive[d], PeakMemorySeconds: st.peakAt[d]})
	}
	r.Energy = st.energy(r)
	return r
}

// energy sums what the run did: every compute task ran (a finished run),
// each HBM port moved its bytes, SRAM was read and written as counted,
// and each link carried its bytes once per hop at its own energy per bit
// (a joined cluster's seam links at the cluster's).
func (st *state) energy(r *Result) Energy {
	s := st.spec
	var e Energy
	for i := range st.prog.Tasks {
		if t := &st.prog.Tasks[i]; t.Kind == plan.Compute {
			e.Compute += t.FLOPs / s.FLOPSPerWatt
		}
	}
	for _, d := range r.Dies {
		e.HBM += 8 * d.HBMBytes * s.HBMJoulesPerBit
	}
	e.SRAM = 8 * st.sramBytes * s.SRAMJoulesPerBit
	for _, l := range r.Links {
		e.D2D += 8 * l.Bytes * s.LinkFigures(l.Link).JoulesPerBit
	}
	e.Static = s.StaticWatts() * r.Makespan
	return e
}

// DeadlockError reports a run that stopped with tasks left and nothing
// able to move.
type DeadlockError struct {
	// Time is when the last event fired.
	Time float64
	// Pending counts the tasks not done.
	Pending int
	// Waiting names the links whose packets wait for a credit that cannot
	// come (the next buffer is full of packets that are themselves stuck).
	Waiting []string
}

func (e *DeadlockError) Error() string {
	return fmt.Sprintf("sim: deadlock at t=%.6g s: %d tasks cannot finish; packets wait for buffer space on %d links: %s",
		e.Time, e.Pending, len(e.Waiting), strings.Join(e.Waiting, ", "))
}

func (st *state) deadlock() error {
	e := &DeadlockError{Time: st.now, Pending: len(st.prog.Tasks) - st.done}
	for l := range st.spec.NumLinks() {
		id := wafer.LinkID(l)
		if st.portBusy[l] {
			continue
		}
		d, dir := wafer.DieID(l/4), l%4
		for ip := range st.nIn {
			if q := st.voq[st.inPort(d, ip)*4+dir]; len(q) > 0 && st.credits[l*5+st.nextOut(q[0])] == 0 {
				e.Waiting = append(e.Waiting, st.spec.LinkName(id))
				break
			}
		}
	}
	sort.Strings(e.Waiting)
	return e
}
