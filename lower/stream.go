package lower

import (
	"fmt"

	"tempc/plan"
	"tempc/wafer"
)

// RingStream appends a TSPP ring stream on every ring at once (TEMP, HPCA
// 2026): each die holds one block of blockBytes and computes flops (moving
// hbm bytes) per block; in rounds 1..P−1 it receives a block from its predecessor,
// computes on it, and forwards it (except in the last round). Round r's
// send waits for the receive of round r−1 and the die's own previous send;
// each compute waits for its block and the die's previous compute.
func RingStream(p *plan.Program, rings [][]wafer.DieID, blockBytes int64, flops, hbm float64, after ...plan.TaskID) Fragment {
	var frag Fragment
	for _, ring := range rings {
		n := len(ring)
		comp := make([]plan.TaskID, n)
		send := make([]plan.TaskID, n)
		for i, d := range ring {
			comp[i] = p.Compute(fmt.Sprintf("stream.own.%d", i), d, flops, hbm, after...)
			if n > 1 {
				send[i] = p.Transfer("stream.r0", d, ring[(i+1)%n], blockBytes, nil, after...)
			}
		}
		for r := 1; r < n; r++ {
			prevSend := append([]plan.TaskID(nil), send...)
			for i, d := range ring {
				in := prevSend[(i-1+n)%n] // the block arriving from the predecessor
				comp[i] = p.Compute(fmt.Sprintf("stream.r%d", r), d, flops, hbm, in, comp[i])
				if r < n-1 {
					send[i] = p.Transfer(fmt.Sprintf("stream.r%d", r), d, ring[(i+1)%n], blockBytes, nil, in, prevSend[i])
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
// the block and for the die's previous send in that direction; computes
// run in arrival order, own block first.
func RelayStream(p *plan.Program, chains [][]wafer.DieID, blockBytes int64, flops, hbm float64, after ...plan.TaskID) Fragment {
	var frag Fragment
	for _, ch := range chains {
		n := len(ch)
		comp := make([]plan.TaskID, n)
		// right[i] / left[i]: die i's latest send to i+1 / i−1.
		right := make([]plan.TaskID, n)
		left := make([]plan.TaskID, n)
		for i, d := range ch {
			comp[i] = p.Compute("relay.own", d, flops, hbm, after...)
			if i+1 < n {
				right[i] = p.Transfer("relay.r0.right", d, ch[i+1], blockBytes, nil, after...)
			}
			if i > 0 {
				left[i] = p.Transfer("relay.r0.left", d, ch[i-1], blockBytes, nil, after...)
			}
		}
		for r := 1; r < n; r++ {
			prevRight := append([]plan.TaskID(nil), right...)
			prevLeft := append([]plan.TaskID(nil), left...)
			for i, d := range ch {
				if i-r >= 0 { // block of die i−r arrives from the left
					in := prevRight[i-1]
					comp[i] = p.Compute(fmt.Sprintf("relay.r%d.fromleft", r), d, flops, hbm, in, comp[i])
					if i+1 < n {
						right[i] = p.Transfer(fmt.Sprintf("relay.r%d.right", r), d, ch[i+1], blockBytes, nil, in, prevRight[i])
					}
				}
				if i+r < n { // block of die i+r arrives from the right
					in := prevLeft[i+1]
					comp[i] = p.Compute(fmt.Sprintf("relay.r%d.fromright", r), d, flops, hbm, in, comp[i])
					if i > 0 {
						left[i] = p.Transfer(fmt.Sprintf("relay.r%d.left", r), d, ch[i-1], blockBytes, nil, in, prevLeft[i])
					}
				}
			}
		}
		frag.Last = append(frag.Last, comp...)
	}
	return frag
}
