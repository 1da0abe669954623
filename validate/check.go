package validate

import (
	"errors"
	"fmt"

	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer/sim"
)

// Validate rejects an unknown suite, cost model parameters outside their
// range and simulator settings that are negative (zero means the default
// packet size, buffer and event limit).
func (o Options) Validate() error {
	switch o.Suite {
	case "", "default", "quick":
	default:
		return fmt.Errorf("validate: unknown suite %q (want default or quick)", o.Suite)
	}
	if err := o.Params.Validate(); err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	if err := o.Sim.Validate(); err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	return nil
}

// build builds every case's program and measures its simulation, failing
// when one exceeds the simulator's limits: with the first such case, how
// many others do, and a packet size with which all would fit.
func build(cases []Case, o Options) ([]*plan.Program, error) {
	progs := make([]*plan.Program, len(cases))
	var first *Case
	var firstErr *sim.LimitError
	over, suggest := 0, int64(0)
	for i := range cases {
		c := &cases[i]
		progs[i] = &plan.Program{}
		c.Build(progs[i])
		_, err := sim.Measure(c.Spec, progs[i], simConfig(o, c))
		var le *sim.LimitError
		switch {
		case errors.As(err, &le):
			if first == nil {
				first, firstErr = c, le
			}
			over++
			if suggest >= 0 && le.Suggest > 0 {
				suggest = max(suggest, le.Suggest)
			} else {
				suggest = -1 // no packet size fits this case
			}
		case err != nil:
			return nil, fmt.Errorf("validate: case %s/%s: %w", c.Class, c.Name, err)
		}
	}
	if first == nil {
		return progs, nil
	}
	return nil, tooSmall(first, firstErr, over, suggest)
}

// tooSmall explains that case c (and others more) would exceed the
// simulator's limits at the packet size in force.
func tooSmall(c *Case, le *sim.LimitError, over int, suggest int64) error {
	others := ""
	if over > 1 {
		others = fmt.Sprintf(" (and %d more cases)", over-1)
	}
	what := fmt.Sprintf("the simulation needs %d events, above the limit of %d", le.Events, le.MaxEvents)
	if le.Events <= le.MaxEvents {
		what = fmt.Sprintf("the simulation could buffer %d packets at once", le.LivePackets)
	}
	if suggest <= 0 {
		return fmt.Errorf("validate: case %s/%s%s: %s at packets of %d bytes, and no packet size fits: raise the event limit",
			c.Class, c.Name, others, what, le.PacketBytes)
	}
	return fmt.Errorf("validate: case %s/%s%s: packet size %d bytes is too small: %s; use packets of at least %d bytes",
		c.Class, c.Name, others, le.PacketBytes, what, suggest)
}
