// Package lower turns planning decisions into plan programs: what every die
// computes and sends, in which order, after what.
//
// Lower writes a whole training step: the global level's layout and
// schemes on the local level's mapping, as loops of blocks whose tasks
// hand over per die (see Lower for the runtime behaviour it writes out).
// Its fragments are the communication patterns the strategies are built
// from — ring collectives, all-to-alls, multicasts and reductions on
// trees, TSPP ring streams and TATP relay streams over groups of dies or
// their sub-chains — with explicit dependencies. It never estimates a
// cost: the cost model prices these
// patterns, the simulator replays them. What each compute task moves (its
// FLOPs, kernel efficiency, HBM and SRAM bytes) and where each transfer's
// payload lives (HBM or SRAM at either end; Task.Reduce for reductions)
// come from costmodel.SchemeMove, the one description of a scheme's data
// movement that pricing reads too. A stream whose blocks are in SRAM
// forwards a block only once the die has computed the one before (its
// three stream buffers); collectives move their payloads HBM to HBM.
//
// CheckWork is the other direction: it holds a plan, however it was made,
// to the graph it was compiled from — every pass of every op group and the
// optimizer step computed, once per step — deriving that work from the
// strategy space, not from the lowering. CheckComm holds it to the
// communication its recorded layout, groups and schemes imply — every
// collective, stream, resharding, K/V exchange and DP reduction, with at
// least the bytes the graph implies, into each die from the right dies —
// and CheckPipeline a pipeline plan's stages, boundaries and tied
// exchange; CheckPipelineRoutes tells a planner whether a pipeline's
// stages can reach each other around faults before it is lowered.
package lower
