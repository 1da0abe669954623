// Package lower turns planning decisions into plan programs: what every die
// computes and sends, in which order, after what.
//
// This first version holds the communication patterns the planner's
// strategies are built from — ring collectives, TSPP ring streams and TATP
// relay streams over groups of dies — as program fragments with explicit
// dependencies. It never estimates a cost: the cost model prices these
// patterns, the simulator replays them.
//
// CheckWork is the other direction: it holds a plan, however it was made,
// to the graph it was compiled from — every pass of every op group and the
// optimizer step computed, once per step — deriving that work from the
// strategy space, not from the lowering.
package lower
