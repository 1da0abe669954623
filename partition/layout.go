package partition

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/tempc/tempc/wafer"
)

//go:generate go run github.com/tempc/tempc/internal/enumgen -type "Recompute=recompute mode"

// Recompute is the activation recomputation mode of a layout. The line
// comments of its constants are their names (String, ParseRecompute).
type Recompute uint8

// Recomputation modes (Korthikanti et al. 2022).
const (
	// NoRecompute saves every activation the backward pass reads.
	NoRecompute Recompute = iota // none
	// Selective saves the inputs of GEMM, attention and embedding groups and
	// recomputes the pointwise ops (norms, activation functions, adds) in
	// the backward pass.
	Selective // selective
	// Full saves only each block's input and recomputes the whole block's
	// forward pass in the backward pass.
	Full // full
	NumRecompute
)

// Layout fixes how the wafer is used: DP groups of one rectangle shape
// tiling the healthy dies, the micro-batch, recomputation and whether
// optimizer states are sharded across the DP groups (ZeRO stage 1).
type Layout struct {
	// Shape is the group rectangle (R, C zero); Tiles are the groups
	// placed as rectangles, row-major; Extra the groups of Shape.Size()
	// dies that, around faults, could not be rectangles: each a chain of
	// healthy dies joined by live links. DP is the number of groups.
	Shape wafer.Rect
	Tiles []wafer.Rect
	Extra [][]wafer.DieID
	DP    int
	// MicroBatch is the sequences per micro-batch of one DP group.
	MicroBatch int
	Recompute  Recompute
	ZeRO       bool
}

// P is the number of dies per group.
func (l *Layout) P() int { return l.Shape.Size() }

// Name identifies the layout, e.g. "dp6-2x4-mb2-selective-zero".
func (l *Layout) Name() string {
	n := fmt.Sprintf("dp%d-%dx%d-mb%d-%s", l.DP, l.Shape.Rows, l.Shape.Cols, l.MicroBatch, l.Recompute)
	if l.ZeRO {
		n += "-zero"
	}
	if len(l.Extra) > 0 {
		n += fmt.Sprintf("-irregular%d", len(l.Extra))
	}
	return n
}

// layouts enumerates the layouts of a wafer: every group rectangle whose
// sides divide the mesh's (so that, without faults, groups tile it), with
// tiles packed greedily on healthy, connected dies (healthyTiles; dies no
// tile can use stay idle: a documented choice),
// and every micro-batch that divides the per-group batch (per die for
// FSDP's baseline: a group's micro-batch is then that many sequences on
// each die, so a group needs at least a sequence per die). Nothing is
// padded: as Megatron-LM and FSDP require, every DP group takes the same
// share B/d of the global batch and runs share/micro-batch whole
// micro-batches, so a step computes exactly the graph's B sequences
// (groupings uses only as many groups as divide B).
func layouts(s *wafer.Spec, batch int64, cfg Config) []Layout {
	var out []Layout
	for _, g := range groupings(s, batch, cfg) {
		d := g.dp()
		local := batch / int64(d) // groupings keeps d | batch
		// The group's micro-batch sizes: as listed (per die for FSDP), or
		// the one that makes MicroBatchCount micro-batches (whole
		// sequences per die for FSDP).
		var sizes []int
		if n := int64(cfg.MicroBatchCount); n > 0 {
			mb := local / n
			if local%n != 0 || cfg.MicroBatchPerDie() && mb%int64(g.shape.Size()) != 0 {
				continue // the count does not divide this grouping's share
			}
			if cfg.mbGiven && !slices.ContainsFunc(cfg.MicroBatches, func(m int) bool {
				if cfg.MicroBatchPerDie() {
					m *= g.shape.Size()
				}
				return int64(m) == mb
			}) {
				continue // a size the caller's list does not have
			}
			sizes = []int{int(mb)}
		} else {
			for _, mb := range cfg.MicroBatches {
				if cfg.MicroBatchPerDie() {
					mb *= g.shape.Size()
				}
				sizes = append(sizes, mb)
			}
		}
		for _, mb := range sizes {
			if int64(mb) > local || local%int64(mb) != 0 {
				continue // no padded micro-batches
			}
			for _, rc := range cfg.Recompute {
				for _, z := range cfg.ZeRO {
					if z && d == 1 {
						if cfg.Baseline == "" {
							continue // nothing to shard across
						}
						z = false // the baseline's one choice, where it means nothing
					}
					out = append(out, Layout{Shape: g.shape, Tiles: g.tiles, Extra: g.extra,
						DP: d, MicroBatch: mb, Recompute: rc, ZeRO: z})
				}
			}
		}
	}
	return out
}

// grouping is one way to cut the healthy dies into model-parallel groups
// of one shape: rectangular tiles and irregular groups of as many dies.
type grouping struct {
	shape wafer.Rect
	tiles []wafer.Rect
	extra [][]wafer.DieID
}

func (g grouping) dp() int { return len(g.tiles) + len(g.extra) }

// groupings lists, for every group rectangle whose sides divide the
// mesh's and that has at most MaxGroupDies dies, its tiles packed on the
// healthy dies (healthyTiles, irregularGroups) — those that give at least
// one group. Where the groups that fit do not divide the batch (or
// outnumber its sequences), only the largest number of them that does is
// kept (irregular groups
// dropped before rectangles, later tiles before earlier ones); the dies of
// the others stay idle, so that every group takes the same whole share.
func groupings(s *wafer.Spec, batch int64, cfg Config) []grouping {
	var out []grouping
	for r := 1; r <= s.Rows; r++ {
		for c := 1; c <= s.Cols; c++ {
			if s.Rows%r != 0 || s.Cols%c != 0 || r*c > cfg.MaxGroupDies {
				continue
			}
			tiles, used := healthyTiles(s, r, c)
			g := grouping{shape: wafer.Rect{Rows: r, Cols: c}, tiles: tiles, extra: irregularGroups(s, used, r*c)}
			if g.dp() > 0 {
				out = append(out, g.dividing(batch))
			}
		}
	}
	return out
}

// dividing keeps the largest number of g's groups that divides batch
// (at least one), dropping irregular groups first, then the last tiles.
func (g grouping) dividing(batch int64) grouping {
	d := g.dp()
	for batch%int64(d) != 0 {
		d--
	}
	if drop := g.dp() - d; drop > 0 {
		if n := min(drop, len(g.extra)); n > 0 {
			g.extra = g.extra[:len(g.extra)-n]
			drop -= n
		}
		g.tiles = g.tiles[:len(g.tiles)-drop]
	}
	return g
}

// MicroBatches is the number of micro-batches each DP group runs per step
// for a global batch: batch/(DP·MicroBatch), which layouts keeps whole.
// It panics on a layout that would pad a micro-batch.
func (l *Layout) MicroBatches(batch int64) int64 {
	per := int64(l.DP) * int64(l.MicroBatch)
	if per <= 0 || batch%per != 0 {
		panic(fmt.Sprintf("partition: layout %s does not divide the batch of %d sequences into whole micro-batches", l.Name(), batch))
	}
	return batch / per
}

// healthyTiles places r×c tiles on the wafer greedily, scanning positions
// row-major: a tile goes at the first position where its dies are healthy,
// unused, in the wafer's largest connected part (so every group can reach
// every other) and joined by a healthy chain. On a fault-free wafer this is
// the regular tiling; around dead dies and links the tiles shift instead of
// being lost.
func healthyTiles(s *wafer.Spec, r, c int) ([]wafer.Rect, []bool) {
	connected := s.Connected()
	used := make([]bool, s.NumDies())
	for d := range used {
		used[d] = !connected[d] // unusable
	}
	var tiles []wafer.Rect
	for i := 0; i+r <= s.Rows; i++ {
		for j := 0; j+c <= s.Cols; j++ {
			t := wafer.Rect{R: i, C: j, Rows: r, Cols: c}
			free := true
			for d := range s.RectDies(t) {
				if used[d] {
					free = false
					break
				}
			}
			if !free {
				continue
			}
			if _, ok := HealthyChain(s, t); !ok {
				continue
			}
			for d := range s.RectDies(t) {
				used[d] = true
			}
			tiles = append(tiles, t)
		}
	}
	return tiles, used
}

// searchBudget bounds the depth-first search for one irregular group, so
// that layouts are enumerated in bounded time whatever the fault map.
const searchBudget = 20000

// irregularGroups forms groups of p dies from the healthy, connected dies
// no tile took: from each such die in ID order, a depth-first search
// (Warnsdorff's rule: fewest onward choices first, then N, E, S, W) looks
// for a chain of p unused dies joined by live links. Groups it cannot
// find within searchBudget steps are not formed; their dies stay idle.
func irregularGroups(s *wafer.Spec, used []bool, p int) [][]wafer.DieID {
	if p < 2 {
		return nil
	}
	var groups [][]wafer.DieID
	for start := wafer.DieID(0); int(start) < s.NumDies(); start++ {
		if used[start] {
			continue
		}
		budget := searchBudget
		if chain := chainFrom(s, used, start, p, &budget); chain != nil {
			for _, d := range chain {
				used[d] = true
			}
			groups = append(groups, chain)
		}
	}
	return groups
}

// chainFrom searches a simple path of p unused dies from start.
func chainFrom(s *wafer.Spec, used []bool, start wafer.DieID, p int, budget *int) []wafer.DieID {
	path := []wafer.DieID{start}
	on := map[wafer.DieID]bool{start: true}
	next := func(d wafer.DieID) []wafer.DieID {
		var out []wafer.DieID
		for dir := wafer.North; dir <= wafer.West; dir++ {
			if l, ok := s.LinkFrom(d, dir); ok && s.LinkAlive(l) {
				if _, n := s.LinkEnds(l); !used[n] && !on[n] {
					out = append(out, n)
				}
			}
		}
		return out
	}
	var dfs func() bool
	dfs = func() bool {
		if len(path) == p {
			return true
		}
		if *budget <= 0 {
			return false
		}
		*budget--
		cands := next(path[len(path)-1])
		sort.SliceStable(cands, func(i, j int) bool { return len(next(cands[i])) < len(next(cands[j])) })
		for _, n := range cands {
			path = append(path, n)
			on[n] = true
			if dfs() {
				return true
			}
			on[n] = false
			path = path[:len(path)-1]
		}
		return false
	}
	if dfs() {
		return path
	}
	return nil
}

// HealthyChain returns the first snake of t (wafer.Spec.Snakes) whose dies
// and links are all healthy, or false when dead dies or links break every
// one.
func HealthyChain(s *wafer.Spec, t wafer.Rect) ([]wafer.DieID, bool) {
	for _, chain := range s.Snakes(t) {
		ok := true
		for k, d := range chain {
			ok = ok && s.Alive(d)
			if ok && k > 0 {
				l, _ := s.LinkBetween(chain[k-1], d)
				ok = s.LinkAlive(l)
			}
		}
		if ok {
			return chain, true
		}
	}
	return nil, false
}

// noLayout explains why layouts found none: no group shape within
// MaxGroupDies fits the healthy dies, or no micro-batch size asked for
// divides the sequences a group gets.
func noLayout(s *wafer.Spec, batch int64, cfg Config) error {
	var most int64 // the most sequences any DP group of a possible shape gets
	for _, g := range groupings(s, batch, cfg) {
		most = max(most, batch/int64(g.dp()))
	}
	if most == 0 {
		return layoutError(fmt.Sprintf("partition: no layout of %s fits batch %d: no group shape of at most %d dies fits its %d healthy dies (raise --max-group)",
			s.Name, batch, cfg.MaxGroupDies, s.NumHealthy()))
	}
	if cfg.MicroBatchCount > 0 {
		return layoutError(fmt.Sprintf("partition: no layout of %s fits batch %d in %d micro-batches: no data-parallel group's share of the batch divides into them",
			s.Name, batch, cfg.MicroBatchCount))
	}
	if cfg.MicroBatchPerDie() {
		return layoutError(fmt.Sprintf("partition: no layout of %s fits batch %d: FSDP gives every die whole sequences (micro-batches %v per die), "+
			"and no group shape's share of the batch covers its dies that way (raise --batch or lower --max-group)", s.Name, batch, cfg.MicroBatches))
	}
	return layoutError(fmt.Sprintf("partition: no layout of %s fits batch %d: no micro-batch size asked for (%v) divides the share of "+
		"any data-parallel group (at most %d sequences); micro-batches are never padded", s.Name, batch, cfg.MicroBatches, most))
}

// ErrNoLayout is what Build's error is when the wafer and batch leave no
// layout (errors.Is): a planning outcome, not a malformed input.
var ErrNoLayout = errors.New("partition: no layout")

// layoutError is a no-layout error with its explanation.
type layoutError string

func (e layoutError) Error() string        { return string(e) }
func (e layoutError) Is(target error) bool { return target == ErrNoLayout }
