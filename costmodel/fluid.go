package costmodel

import (
	"fmt"
	"math"
	"sort"

	"github.com/tempc/tempc/wafer"
)

// fluid computes when each of a set of flows that start together finishes
// when they share links as the simulator's routers share them, at the
// fluid level (no packets): an output link serves its input ports
// round-robin, so its bandwidth is split max-min fairly between the input
// ports that feed it (each DMA-injected flow being its own port); the flows
// that enter through one input port share one FIFO, so they split that
// port's share in proportion to what they can deliver. Shares are solved by
// fixed-point iteration (fairShare) and recomputed whenever a flow ends.
// capacity gives each link's bandwidth. It returns, per flow, the time its
// last byte leaves its bottleneck (route latency not included).
//
// Every step ends at least one flow, so there are at most as many steps as
// flows. A step that would not (a rate that is zero, as when a tiny
// bandwidth underflows, or a time or byte count that is not finite) is an
// error rather than a loop that never ends.
func fluid(routes [][]wafer.LinkID, bytes []float64, capacity func(wafer.LinkID) float64) ([]float64, error) {
	n := len(routes)
	finish := make([]float64, n)
	remaining := append([]float64(nil), bytes...)
	active := make([]bool, n)
	left := 0
	for f := range routes {
		if err := checkFlow(f, routes[f], bytes[f], capacity); err != nil {
			return nil, err
		}
		if remaining[f] > 0 && len(routes[f]) > 0 {
			active[f] = true
			left++
		}
	}
	now := 0.0
	for left > 0 {
		rate := fairShare(routes, active, capacity)
		dt := math.Inf(1)
		for f := range routes {
			if !active[f] {
				continue
			}
			if !(rate[f] > 0) || math.IsInf(rate[f], 0) {
				why := ""
				if rate[f] == 0 {
					why = " underflows"
				}
				return nil, numeric("costmodel: fluid model: flow %d rate is %g (link bandwidth %g B/s%s)",
					f, rate[f], minCapacity(routes[f], capacity), why)
			}
			dt = min(dt, remaining[f]/rate[f])
		}
		if !(dt > 0) || math.IsInf(now+dt, 0) {
			return nil, numeric("costmodel: fluid model: step of %g s at t=%g s is not a positive finite time", dt, now)
		}
		now += dt
		ended := 0
		for f := range routes {
			if !active[f] {
				continue
			}
			remaining[f] -= rate[f] * dt
			if remaining[f] <= 1e-9*bytes[f] {
				active[f] = false
				finish[f] = now
				left--
				ended++
			}
		}
		if ended == 0 {
			return nil, numeric("costmodel: fluid model: no flow ended in the step to t=%g s (%d flows left)", now, left)
		}
	}
	return finish, nil
}

// numericError is a pattern the model cannot price in finite time: a
// rate that underflows, a time or size that is not finite. Pricing a
// layout fails on it (a route that faults block does not: see layout).
type numericError struct{ msg string }

func (e *numericError) Error() string { return e.msg }

// numeric returns a numericError.
func numeric(format string, args ...any) error {
	return &numericError{fmt.Sprintf(format, args...)}
}

// checkFlow rejects a flow whose bytes are negative or not finite, or that
// crosses a link whose bandwidth is not a positive finite number.
func checkFlow(f int, route []wafer.LinkID, bytes float64, capacity func(wafer.LinkID) float64) error {
	if !(bytes >= 0) || math.IsInf(bytes, 0) {
		return numeric("costmodel: fluid model: flow %d of %g bytes", f, bytes)
	}
	for _, l := range route {
		if c := capacity(l); !(c > 0) || math.IsInf(c, 0) {
			return numeric("costmodel: fluid model: flow %d crosses link %d of bandwidth %g B/s", f, l, c)
		}
	}
	return nil
}

// minCapacity is the least bandwidth on route.
func minCapacity(route []wafer.LinkID, capacity func(wafer.LinkID) float64) float64 {
	c := math.Inf(1)
	for _, l := range route {
		c = min(c, capacity(l))
	}
	return c
}

// fairShareIterations bounds the fixed-point iteration of fairShare; it
// converges in a few tens of rounds on the patterns of the validation suite.
const fairShareIterations = 200

// fairShare returns each active flow's rate. A flow's demand at a link is
// the least rate the other links on its route allow it; every link splits
// its capacity max-min fairly between its input ports' total demands, and
// each port's share between its flows in proportion to their demands. A
// flow's rate is the least its links allow. The allowances are iterated to
// a fixed point.
func fairShare(routes [][]wafer.LinkID, active []bool, capacity func(wafer.LinkID) float64) []float64 {
	type use struct {
		flow, hop int
		port      int64 // input port feeding the link: the previous link, or −1−flow when injected
	}
	byLink := map[wafer.LinkID][]use{}
	allow := make([][]float64, len(routes)) // per flow, per hop: what that link allows
	for f, r := range routes {
		if !active[f] {
			continue
		}
		allow[f] = make([]float64, len(r))
		for h, l := range r {
			allow[f][h] = capacity(l)
			port := int64(-1 - f)
			if h > 0 {
				port = int64(r[h-1])
			}
			byLink[l] = append(byLink[l], use{f, h, port})
		}
	}
	links := make([]wafer.LinkID, 0, len(byLink))
	for l := range byLink {
		links = append(links, l)
	}
	sort.Slice(links, func(i, j int) bool { return links[i] < links[j] })
	demand := func(f, skip int) float64 {
		d := math.Inf(1)
		for h, a := range allow[f] {
			if h != skip {
				d = min(d, a)
			}
		}
		return d
	}
	for it := 0; it < fairShareIterations; it++ {
		change := 0.0
		for _, l := range links {
			uses := byLink[l]
			ports := map[int64]float64{}
			for _, u := range uses {
				ports[u.port] += min(demand(u.flow, u.hop), capacity(l))
			}
			shares := waterfill(ports, capacity(l))
			for _, u := range uses {
				d := min(demand(u.flow, u.hop), capacity(l))
				a := capacity(l)
				if total := ports[u.port]; total > 0 {
					a = d * shares[u.port] / total
				}
				change = max(change, math.Abs(a-allow[u.flow][u.hop])/capacity(l))
				allow[u.flow][u.hop] = a
			}
		}
		if change < 1e-12 {
			break
		}
	}
	rate := make([]float64, len(routes))
	for f := range routes {
		if active[f] {
			rate[f] = demand(f, -1)
		}
	}
	return rate
}

// waterfill splits capacity max-min fairly between demands: each gets
// min(demand, level), the level chosen so the shares use all the capacity
// or satisfy every demand.
func waterfill(demands map[int64]float64, capacity float64) map[int64]float64 {
	keys := make([]int64, 0, len(demands))
	for k := range demands {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if demands[keys[i]] != demands[keys[j]] {
			return demands[keys[i]] < demands[keys[j]]
		}
		return keys[i] < keys[j]
	})
	shares := make(map[int64]float64, len(keys))
	left := capacity
	for i, k := range keys {
		level := left / float64(len(keys)-i)
		shares[k] = min(demands[k], level)
		left -= shares[k]
	}
	return shares
}
