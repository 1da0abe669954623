package costmodel

import "github.com/tempc/tempc/wafer"

// RingStream prices a TSPP ring stream on each ring of dies at once (TEMP,
// HPCA 2026, §IV): every die starts with one block of blockBytes and a
// compute of computeSeconds per block; in each of P−1 rounds every die
// passes the block it holds to the next die of its ring while computing on
// it. A die computes its own block, then each arriving block in order; the
// blocks arrive one round apart, the round being the time of that round's
// flows (one hop on a Hamiltonian cycle, the wrap-around route on a path,
// which then paces every round).
func (m *Model) RingStream(rings [][]wafer.DieID, blockBytes, computeSeconds float64) (Cost, error) {
	return m.StreamRounds(rings, StreamOrder{}, blockBytes, computeSeconds, computeSeconds)
}

// StreamOrder says when a stream's dies forward blocks, beyond "once it
// has arrived and the previous forward that way has been received".
type StreamOrder struct {
	// Relay is a TATP relay on chains (else a TSPP ring on rings).
	Relay bool
	// Paced forwards a block only once the die has computed the blocks
	// before it (lower's streams with blocks in SRAM: three stream
	// buffers, six for a relay, bound how far blocks run ahead).
	Paced bool
	// Reduce forwards a block only once the die has added its own
	// contribution to it (a stream of partial sums), and the die's own
	// block once it has computed it.
	Reduce bool
	// MinHop is the least time a block takes to cross a hop (a block that
	// lands in HBM is forwarded once all of it is there).
	MinHop float64
}

// StreamRounds prices a stream on groups (their rings, or with o.Relay
// their chains) whose own round takes own and every other round round.
func (m *Model) StreamRounds(groups [][]wafer.DieID, o StreamOrder, blockBytes, own, round float64) (Cost, error) {
	if o.Relay {
		return m.relayStream(groups, blockBytes, own, round, o)
	}
	return m.ringStream(groups, blockBytes, own, round, o)
}

// HBMHop is the least time a block of blockBytes that lands in HBM takes
// to cross a hop: its time through the HBM port (StreamOrder.MinHop).
func (m *Model) HBMHop(blockBytes float64) float64 {
	return blockBytes / (m.Spec.Die.HBMBandwidth * m.Params.HBMEfficiency)
}

func (m *Model) ringStream(rings [][]wafer.DieID, blockBytes, own, computeSeconds float64, o StreamOrder) (Cost, error) {
	p := ringSize(rings)
	round, err := m.ringStep(rings, blockBytes)
	if err != nil || len(round) == 0 {
		return Cost{Seconds: own}, err
	}
	ld, err := m.PriceFlows(round)
	if err != nil {
		return Cost{}, err
	}
	t := max(ld.Seconds, o.MinHop)
	// Every die alike: block r (r ≥ 1) arrives at a, is computed by f. Its
	// predecessor forwarded it once it had arrived there and the forward
	// of block r−1 had been received — paced, once block r−2 was computed
	// there (fPrev); reducing, once block r−1 was (f, before this round).
	a, fPrev, f := t, 0.0, own
	if o.Reduce {
		a = own + t
	}
	for r := 1; r < p; r++ {
		if r >= 2 {
			next := a
			if o.Paced {
				next = max(next, fPrev)
			}
			if o.Reduce {
				next = max(next, f)
			}
			a = next + t
		}
		fPrev, f = f, max(f, a)+computeSeconds
	}
	c := Cost{Seconds: f}
	for _, fl := range round {
		c.Flows = append(c.Flows, Flow{Route: fl.Route, Bytes: fl.Bytes * float64(p-1)})
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
	return m.StreamRounds(chains, StreamOrder{Relay: true}, blockBytes, computeSeconds, computeSeconds)
}

func (m *Model) relayStream(chains [][]wafer.DieID, blockBytes, own, computeSeconds float64, o StreamOrder) (Cost, error) {
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
		return Cost{Seconds: own}, nil
	}
	ld, err := m.PriceFlows(round)
	if err != nil {
		return Cost{}, err
	}
	c := Cost{Seconds: relayFinish(p, max(ld.Seconds, o.MinHop), own, computeSeconds, o)}
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

// relayFinish is when the last die of a relay on a chain of p dies is
// done, every hop taking t, its own block own and every other compute:
// die i computes its own block at time 0, then in round r the block from
// its left (of die i−r), then the one from its right (of die i+r), each
// once it has arrived. It relays each onward when it has arrived and its
// previous relay that way has been received — paced, when it has computed
// the rounds before; reducing, when it has added to that block (and its
// own block once computed).
func relayFinish(p int, t, own, compute float64, o StreamOrder) float64 {
	// fromLeft[i] / fromRight[i]: when the block die i gets this round
	// from its left / right arrives (meaningful where it gets one).
	fromLeft, fromRight := make([]float64, p), make([]float64, p)
	nextLeft, nextRight := make([]float64, p), make([]float64, p)
	f := make([]float64, p)
	first := t // the neighbours' own blocks, sent at once
	if o.Reduce {
		first = own + t
	}
	for i := range p {
		f[i] = own
		fromLeft[i], fromRight[i] = first, first
	}
	for r := 1; r < p; r++ {
		for i := range p {
			prev := f[i]
			if i-r >= 0 {
				f[i] = max(f[i], fromLeft[i]) + compute
				if i+1 < p {
					start := max(fromLeft[i], fromLeft[i+1]) // and its previous relay right was received
					if o.Paced {
						start = max(start, prev)
					}
					if o.Reduce {
						start = max(start, f[i])
					}
					nextLeft[i+1] = start + t
				}
			}
			if i+r < p {
				f[i] = max(f[i], fromRight[i]) + compute
				if i > 0 {
					start := max(fromRight[i], fromRight[i-1])
					if o.Paced {
						start = max(start, prev)
					}
					if o.Reduce {
						start = max(start, f[i])
					}
					nextRight[i-1] = start + t
				}
			}
		}
		fromLeft, nextLeft = nextLeft, fromLeft
		fromRight, nextRight = nextRight, fromRight
	}
	var last float64
	for _, x := range f {
		last = max(last, x)
	}
	return last
}
