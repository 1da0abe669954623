package costmodel

import "tempc/wafer"

// RingStream prices a TSPP ring stream on each ring of dies at once (TEMP,
// HPCA 2026, §IV): every die starts with one block of blockBytes and a
// compute of computeSeconds per block; in each of P−1 rounds every die
// passes the block it holds to the next die of its ring while computing on
// it. A die computes its own block, then each arriving block in order; the
// blocks arrive one round apart, the round being the time of that round's
// flows (one hop on a Hamiltonian cycle, the wrap-around route on a path,
// which then paces every round).
func (m *Model) RingStream(rings [][]wafer.DieID, blockBytes, computeSeconds float64) (Cost, error) {
	p := ringSize(rings)
	round, err := m.ringStep(rings, blockBytes)
	if err != nil || len(round) == 0 {
		return Cost{Seconds: computeSeconds}, err
	}
	ld, err := m.PriceFlows(round)
	if err != nil {
		return Cost{}, err
	}
	t := ld.Seconds
	arrivals := make([]int, p) // blocks arriving in round r
	for r := 1; r < p; r++ {
		arrivals[r] = 1
	}
	c := Cost{Seconds: finish(arrivals, t, computeSeconds)}
	for _, f := range round {
		c.Flows = append(c.Flows, Flow{Route: f.Route, Bytes: f.Bytes * float64(p-1)})
	}
	return c, nil
}

// RelayStream prices a TATP bidirectional relay stream on each chain of
// dies at once (TEMP §IV-B): a chain is a Hamiltonian path of neighbours;
// in round r die i receives the block of die i−r from the left and the
// block of die i+r from the right, relaying both onward, so every transfer
// is one hop and no round pays a wrap-around. Each die computes its own
// block, then arriving blocks in order; the end dies, which receive one
// block per round for P−1 rounds, finish last.
func (m *Model) RelayStream(chains [][]wafer.DieID, blockBytes, computeSeconds float64) (Cost, error) {
	var round []Flow // round 1: every link of every chain, both ways
	for _, ch := range chains {
		for i := 1; i < len(ch); i++ {
			for _, ends := range [][2]wafer.DieID{{ch[i-1], ch[i]}, {ch[i], ch[i-1]}} {
				r, err := m.Route(ends[0], ends[1])
				if err != nil {
					return Cost{}, err
				}
				round = append(round, Flow{Route: r, Bytes: blockBytes})
			}
		}
	}
	p := ringSize(chains)
	if len(round) == 0 {
		return Cost{Seconds: computeSeconds}, nil
	}
	ld, err := m.PriceFlows(round)
	if err != nil {
		return Cost{}, err
	}
	t := ld.Seconds
	var c Cost
	for i := 0; i < p; i++ {
		arrivals := make([]int, p)
		for r := 1; r < p; r++ {
			if i-r >= 0 {
				arrivals[r]++
			}
			if i+r < p {
				arrivals[r]++
			}
		}
		c.Seconds = max(c.Seconds, finish(arrivals, t, computeSeconds))
	}
	// Traffic: the link between chain positions i and i+1 carries, to the
	// right, the blocks of dies 0..i (i+1 blocks) and, to the left, those of
	// dies i+1..P−1.
	for _, ch := range chains {
		n := len(ch)
		for i := 0; i+1 < n; i++ {
			right, _ := m.Route(ch[i], ch[i+1])
			left, _ := m.Route(ch[i+1], ch[i])
			c.Flows = append(c.Flows, Flow{Route: right, Bytes: blockBytes * float64(i+1)},
				Flow{Route: left, Bytes: blockBytes * float64(n-1-i)})
		}
	}
	return c, nil
}

// finish is when a die that computes its own block at time 0 and then
// arrivals[r] blocks arriving at r·round, each taking compute, is done.
func finish(arrivals []int, round, compute float64) float64 {
	f := compute
	for r, n := range arrivals {
		for range n {
			f = max(f, float64(r)*round) + compute
		}
	}
	return f
}
