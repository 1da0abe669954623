package lower

import (
	"fmt"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// StreamSpec is one stream: its block, the kernel of the round on a die's
// own block and of each round on an arriving one, and where blocks live.
type StreamSpec struct {
	Block      int64
	Own, Round costmodel.Kernel
	// Resident lands arriving blocks in SRAM and forwards them from there;
	// a die's own block is read from HBM, unless Reduce (a partial sum,
	// which starts in SRAM when Resident).
	Resident, Reduce bool
}

// pace adds to a forward's dependencies deps what else the block must wait
// for: with blocks in SRAM, the die's compute prev of the blocks before
// (its three stream buffers, costmodel.Resident, let blocks run no
// further ahead of its compute); for partial sums, the compute added
// that adds the die's contribution to this very block. Blocks of data
// landing in HBM are forwarded as soon as they arrive.
func (sp StreamSpec) pace(prev, added plan.TaskID, deps ...plan.TaskID) []plan.TaskID {
	if sp.Reduce {
		deps = append(deps, added)
	}
	if sp.Resident {
		deps = append(deps, prev)
	}
	return deps
}

// first is what a die's own block waits for before it is sent: what the
// stream waits for, and for partial sums its own compute too.
func (sp StreamSpec) first(own plan.TaskID, after []plan.TaskID) []plan.TaskID {
	if sp.Reduce {
		return append(append([]plan.TaskID(nil), after...), own)
	}
	return after
}

// send appends the transfer of block buffer b: own says it is the die's
// own. It reads b at the source and writes it at the destination.
func (sp StreamSpec) send(p *plan.Program, name string, src, dst wafer.DieID, own bool, b int32, deps ...plan.TaskID) plan.TaskID {
	id := p.Transfer(name, src, dst, sp.Block, nil, deps...)
	t := &p.Tasks[id]
	t.DstSRAM = sp.Resident
	t.SrcSRAM = sp.Resident && (!own || sp.Reduce)
	t.Reads, t.Writes = []int32{b}, []int32{b}
	return id
}

// compute appends a round's kernel on block buffer b: it reads the block,
// or adds into it when it is a partial sum.
func (sp StreamSpec) compute(p *plan.Program, name string, d wafer.DieID, k costmodel.Kernel, b int32, deps ...plan.TaskID) plan.TaskID {
	id := AddKernel(p, name, d, k, deps...)
	if sp.Reduce {
		p.Tasks[id].Writes = []int32{b}
	} else {
		p.Tasks[id].Reads = []int32{b}
	}
	return id
}

// buffers declares the stream's n block buffers: block j is die j's
// (position j's) own.
func (sp StreamSpec) buffers(p *plan.Program, kind string, n int) []int32 {
	out := make([]int32, n)
	for j := range out {
		out[j] = p.AddBuffer(fmt.Sprintf("%s@%d.block%d", kind, len(p.Tasks), j))
	}
	return out
}

// RingStream appends a TSPP ring stream on every ring at once (TEMP, HPCA
// 2026): each die holds one block of sp.Block bytes and computes sp.Own on
// it; in rounds 1..P−1 it receives a block from its predecessor, computes
// sp.Round on it, and forwards it (except in the last round). Round r's
// send waits for the receive of round r−1 and the die's own previous send
// (and StreamSpec.pace's: the compute before, with blocks in SRAM; the
// compute that added to the block, for partial sums, whose own block is
// sent once computed); each compute waits for its block and the die's
// previous compute.
func RingStream(p *plan.Program, rings [][]wafer.DieID, sp StreamSpec, after ...plan.TaskID) Fragment {
	var frag Fragment
	on := byDie(p, after)
	blk := sp.buffers(p, "ring", size(rings))
	for _, ring := range rings {
		n := len(ring)
		comp := make([]plan.TaskID, n)
		send := make([]plan.TaskID, n)
		for i, d := range ring {
			comp[i] = sp.compute(p, fmt.Sprintf("stream.own.%d", i), d, sp.Own, blk[i], on[d]...)
			if n > 1 {
				send[i] = sp.send(p, "stream.r0", d, ring[(i+1)%n], true, blk[i], sp.first(comp[i], on[d])...)
			}
		}
		for r := 1; r < n; r++ {
			prevSend := append([]plan.TaskID(nil), send...)
			for i, d := range ring {
				in := prevSend[(i-1+n)%n] // the block arriving from the predecessor
				prev := comp[i]
				b := blk[((i-r)%n+n)%n]
				comp[i] = sp.compute(p, fmt.Sprintf("stream.r%d", r), d, sp.Round, b, in, prev)
				if r < n-1 {
					send[i] = sp.send(p, fmt.Sprintf("stream.r%d", r), d, ring[(i+1)%n], false, b, sp.pace(prev, comp[i], in, prevSend[i])...)
				}
			}
		}
		frag.Last = append(frag.Last, comp...)
	}
	return frag
}

// RelayStream appends a TATP bidirectional relay stream on every chain at
// once (TEMP §IV-B): a chain's consecutive dies must be neighbours. In
// round r die i receives the block of die i−r from its left neighbour and
// that of die i+r from its right, and relays each onward in the same
// direction in round r+1, so every transfer is one hop. A relay waits for
// the block and for the die's previous send in that direction (and, with
// blocks in SRAM, for its computes of the rounds before; for partial sums,
// for the compute that added to the block); computes run in arrival order,
// own block first. A relay of partial sums is this same pattern, each
// partial accumulating along its way to both ends of the chain: the
// timing of a reduction, not yet its data flow (a block's two halves are
// never combined at its owner).
func RelayStream(p *plan.Program, chains [][]wafer.DieID, sp StreamSpec, after ...plan.TaskID) Fragment {
	var frag Fragment
	on := byDie(p, after)
	blk := sp.buffers(p, "relay", size(chains))
	for _, ch := range chains {
		n := len(ch)
		comp := make([]plan.TaskID, n)
		// right[i] / left[i]: die i's latest send to i+1 / i−1.
		right := make([]plan.TaskID, n)
		left := make([]plan.TaskID, n)
		for i, d := range ch {
			comp[i] = sp.compute(p, "relay.own", d, sp.Own, blk[i], on[d]...)
			if i+1 < n {
				right[i] = sp.send(p, "relay.r0.right", d, ch[i+1], true, blk[i], sp.first(comp[i], on[d])...)
			}
			if i > 0 {
				left[i] = sp.send(p, "relay.r0.left", d, ch[i-1], true, blk[i], sp.first(comp[i], on[d])...)
			}
		}
		for r := 1; r < n; r++ {
			prevRight := append([]plan.TaskID(nil), right...)
			prevLeft := append([]plan.TaskID(nil), left...)
			for i, d := range ch {
				prev := comp[i] // the die's last compute of the rounds before
				if i-r >= 0 {   // block of die i−r arrives from the left
					in := prevRight[i-1]
					comp[i] = sp.compute(p, fmt.Sprintf("relay.r%d.fromleft", r), d, sp.Round, blk[i-r], in, comp[i])
					if i+1 < n {
						right[i] = sp.send(p, fmt.Sprintf("relay.r%d.right", r), d, ch[i+1], false, blk[i-r], sp.pace(prev, comp[i], in, prevRight[i])...)
					}
				}
				if i+r < n { // block of die i+r arrives from the right
					in := prevLeft[i+1]
					comp[i] = sp.compute(p, fmt.Sprintf("relay.r%d.fromright", r), d, sp.Round, blk[i+r], in, comp[i])
					if i > 0 {
						left[i] = sp.send(p, fmt.Sprintf("relay.r%d.left", r), d, ch[i-1], false, blk[i+r], sp.pace(prev, comp[i], in, prevLeft[i])...)
					}
				}
			}
		}
		frag.Last = append(frag.Last, comp...)
	}
	return frag
}
