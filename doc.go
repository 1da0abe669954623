// Package tempc compiles the training step of a large language model for a
// wafer-scale chip, and replays the result in a packet-level simulator.
//
// Compile runs the whole pipeline: it loads the model (Options.Model: a
// preset, a Hugging Face config.json, a tempc JSON graph or an ONNX file;
// or Options.Graph), builds the strategy space of every op group on the
// wafer (Options.Wafer or Options.Spec), prices it with the analytic cost
// model, chooses one layout and one partition scheme per group with an
// exact ILP solved by HiGHS (the temp mapper refining the placement in a
// dual-level loop), lowers the choice to per-die programs and verifies
// them. The Result carries the plan and the report `tempc solve --json`
// prints: solver status, bound and gap, predicted step, memory and
// energy, and every group's scheme.
//
// Simulate replays a plan's whole training step in the bundled simulator
// (package wafer/sim), which models compute engines, HBM ports, SRAM, DMA
// and links without calling the cost model, and compares what it measured
// with the plan's predictions. ReadPlan reads a plan file back, with its
// wafer, and holds it to its graph's work.
//
// Solve stops after the global level, and Price after pricing, for
// callers that want the strategy space or the solver record alone.
//
// PlanPipeline cuts a model into pipeline stages, one per wafer of a
// cluster, and plans each stage on its wafer; CompilePipeline lowers the
// stages, the inter-wafer transfers and the schedule into one plan over
// the cluster's joined mesh, which Simulate replays like any plan.
//
// The command tempc (cmd/tempc) is this API with flags, text and JSON
// output, and pictures (package driver).
package tempc
