package sim

import (
	"math"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// Tiling of compute tasks. A task's HBM traffic is cut into tiles of about
// tileBytes, at most maxTiles of them, each loaded with one port request.
// 256 KiB is about one operand panel of a GEMM tile (a 128-deep slice of
// A and B for a 171×768 output tile is 240 KB; of a 3,072-wide one,
// 1.5 MB): a kernel's loads and its compute overlap at about that grain,
// and a kernel of n tiles pays min(loads, computes)/n of pipeline fill
// (at 2 MiB a 0.35 MB kernel paid all of it). It takes 0.26 µs at 1 TB/s,
// so the port
// interleaves DMA packets between tiles finely. The cap bounds a task's
// events to 2·maxTiles; a task of more than 256 MiB of traffic gets
// larger tiles.
const (
	tileBytes = 256 << 10
	maxTiles  = 1024
)

// tilesOf is the number of tiles of a task with hbm bytes of HBM traffic:
// one for none, else ⌈hbm / tileBytes⌉ capped at maxTiles.
func tilesOf(hbm float64) int32 {
	if !(hbm > 0) {
		return 1
	}
	return int32(min(math.Ceil(hbm/tileBytes), maxTiles))
}

// computeEvents is the events a compute task takes with hbm bytes of HBM
// traffic: one for a fixed-duration task or one without HBM traffic (its
// only tile's compute), else a load and a compute per tile.
func computeEvents(t *plan.Task, hbm float64) int64 {
	if t.Seconds > 0 || !(hbm > 0) {
		return 1
	}
	return 2 * int64(tilesOf(hbm))
}

// engine is a die's compute engine and the task it runs. Tiles are
// loaded, then computed, in order; issued−computed tiles hold one of the
// engine's two tile buffers (double buffering), so a tile's load can
// overlap the previous tile's compute but not the one before.
type engine struct {
	task                     plan.TaskID // −1: idle
	tiles                    int32
	issued, loaded, computed int32
	computing                bool
	tileBytes, tileSeconds   float64
}

// tileBuffers is how many tiles an engine holds loading, loaded or
// computing.
const tileBuffers = 2

// startCompute starts die d's next queued compute task. A task with a
// fixed duration takes it and uses no HBM; any other is run tile by tile
// through the die's HBM port at PeakFLOPS × Efficiency.
func (st *state) startCompute(d wafer.DieID) {
	q := st.computeQ[d]
	id := q[0]
	st.computeQ[d] = q[1:]
	t := &st.prog.Tasks[id]
	st.timing[id].Start = st.now
	st.allocMem(id)
	e := &st.eng[d]
	*e = engine{task: id}
	if t.Seconds > 0 {
		st.schedule(t.Seconds, evComputeDone, int32(id), 0)
		return
	}
	spilled := st.spilledInto(t)
	hbm := t.HBMBytes + spilled
	st.sramBytes += max(0, t.SRAMBytes-spilled)
	e.tiles = tilesOf(hbm)
	e.tileBytes = hbm / float64(e.tiles)
	e.tileSeconds = t.FLOPs / float64(e.tiles) / (st.spec.Die.PeakFLOPS * efficiency(t))
	if !(hbm > 0) {
		e.issued, e.loaded = 1, 1
		st.startTile(d)
		return
	}
	st.loadTiles(d)
}

// efficiency is the share of peak task t's kernel sustains.
func efficiency(t *plan.Task) float64 {
	if t.Efficiency == 0 {
		return 1
	}
	return t.Efficiency
}

// loadTiles queues the loads of die d's next tiles while a buffer is free.
func (st *state) loadTiles(d wafer.DieID) {
	e := &st.eng[d]
	for e.issued < e.tiles && e.issued-e.computed < tileBuffers {
		st.access(d, computeLoads, e.tileBytes, evTileLoaded, int32(d), 0)
		e.issued++
	}
}

// tileLoaded: a tile's bytes have come through the HBM port.
func (st *state) tileLoaded(d wafer.DieID) {
	e := &st.eng[d]
	e.loaded++
	if !e.computing {
		st.startTile(d)
	}
}

func (st *state) startTile(d wafer.DieID) {
	e := &st.eng[d]
	e.computing = true
	st.schedule(e.tileSeconds, evTileDone, int32(d), 0)
}

// tileDone: a tile's FLOPs are done; its buffer frees for the next load.
func (st *state) tileDone(d wafer.DieID) {
	e := &st.eng[d]
	e.computing = false
	e.computed++
	if e.computed == e.tiles {
		st.computeDone(e.task)
		return
	}
	st.loadTiles(d)
	if e.loaded > e.computed {
		st.startTile(d)
	}
}

// computeDone ends compute task id and starts its die's next one.
func (st *state) computeDone(id plan.TaskID) {
	d := st.prog.Tasks[id].Die
	st.eng[d].task = -1
	st.dieBusy[d] += st.now - st.timing[id].Start
	st.complete(id)
	if len(st.computeQ[d]) > 0 && st.eng[d].task < 0 {
		st.startCompute(d)
	}
}
