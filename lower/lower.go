package lower

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ir"
	"github.com/tempc/tempc/partition"
	"github.com/tempc/tempc/plan"
	"github.com/tempc/tempc/wafer"
)

// Lower turns the global level's choice — a layout and one scheme per op
// group of a priced space — into a plan on the layout's mapping (its
// groups' rings and chains, as the local level left them). Tasks wait for what they read: a
// die's work for the die's results of the work before it (see
// Fragment), never for a barrier; the plan's runs hand over per die
// (plan.Node). The runtime behaviour it writes out, for every strategy
// family alike:
//
//   - micro-batches run one after another (gradient accumulation, as
//     Megatron-LM and PyTorch run them without pipeline parallelism): a
//     micro-batch's forward starts on a die once the one before has ended
//     its backward there;
//   - the DP gradient all-reduce runs in buckets (costmodel.Sync's, of
//     costmodel.Params.BucketBytes) beside the last micro-batch's backward pass, each bucket once its
//     gradients are computed (DDP's no_sync for the others);
//   - FSDP gathers the next layer's weights beside the current layer's
//     kernels and reduce-scatters a layer's gradients beside the next
//     layer's backward;
//   - Megatron's backward overlaps the data gradient's reduction with the
//     weight gradient, and sequence parallelism's gather of the input with
//     the data gradient (Megatron-Core's forward overlap,
//     --tp-comm-overlap, is the ring-x and ring-y streams);
//   - TSPP ring and TATP relay streams overlap their rounds' kernels;
//   - the optimizer waits for everything (a barrier); relays on sub-chains
//     reduce-scatter their gradients among the sub-chains before it and
//     all-gather the updated weights after it.
//
// The space must be aliased (one group per block op), which gives the
// loop structure:
//
//	micro-batch loop ×(n−1), then the last micro-batch (its backward blocks
//	carry the DP buckets; with DP 1 it is one loop ×n):
//	                      pre-block groups forward
//	                      block forward, layer 0          (edges from the pre groups)
//	                      block forward, layers 1..L−1 ×(L−1) (edges between blocks)
//	                      post-block groups forward and backward
//	                      block backward, layers L−1..1 ×(L−1)
//	                      block backward, layer 0
//	                      pre-block groups backward
//	optimizer (a barrier)
//
// The plan names its graph (batch, seq and graph_sha256) so that
// CheckWork can hold it to that graph; its ModelSource is the caller's to
// set.
func Lower(t *costmodel.Table, a ilp.Assignment) (*plan.Plan, error) {
	lw, p, err := newLowerer(t, a)
	if err != nil {
		return nil, err
	}
	l, sp := lw.l, t.Space
	n := int(l.MicroBatches(sp.Graph.Batch))
	if l.DP > 1 {
		if n > 1 {
			p.Steps = append(p.Steps, plan.Node{Name: "micro-batch", Count: n - 1, Body: lw.micro(false)})
		}
		p.Steps = append(p.Steps, plan.Node{Name: "last micro-batch", Count: 1, Body: lw.micro(true)})
	} else {
		p.Steps = append(p.Steps, plan.Node{Name: "micro-batch", Count: n, Body: lw.micro(false)})
	}
	p.Steps = append(p.Steps, lw.optimizer())
	return p, nil
}

// newLowerer checks that a fits and prepares its lowering, with the
// plan's header (everything but the steps).
func newLowerer(t *costmodel.Table, a ilp.Assignment) (*lowerer, *plan.Plan, error) {
	sp := t.Space
	if sp.Config.Unaliased {
		return nil, nil, fmt.Errorf("lower: plans are built from aliased spaces; compile without --unaliased")
	}
	b, err := ilp.Evaluate(t, a)
	if err != nil {
		return nil, nil, err
	}
	if !b.Fits {
		return nil, nil, fmt.Errorf("lower: the assignment needs %.1f GB per die, above %.1f GB", b.Mem.Total()/1e9, t.Capacity/1e9)
	}
	l := &sp.Layouts[a.Layout]
	lw := &lowerer{t: t, a: a, l: l, s: sp.Spec, mp: t.Mappings[a.Layout], bucket: costmodel.DefaultBucketBytes}
	if a.Layout < len(t.Sync) && t.Sync[a.Layout].Bucket > 0 {
		lw.bucket = int64(t.Sync[a.Layout].Bucket)
	}
	lw.prepare()
	p := &plan.Plan{SchemaVersion: plan.SchemaVersion, Model: sp.Graph.Name, Batch: sp.Graph.Batch, Seq: sp.Graph.Seq,
		GraphSHA256: GraphSHA256(sp.Graph), Wafer: sp.Spec.Name, Layout: l.Name(), MicroBatch: l.MicroBatch,
		StaticBytes:   staticBytes(t, a),
		CapacityBytes: t.Capacity, PredictedSeconds: b.Seconds, PredictedEnergy: b.Energy, PredictedMemory: b.Mem.Total()}
	if sp.Config.UnfusedAttention {
		p.Attention = "unfused"
	}
	if p.WaferSpec, err = SpecJSON(sp.Spec); err != nil {
		return nil, nil, err
	}
	for _, ring := range lw.rings {
		p.Dies = append(p.Dies, ring...)
		p.Groups = append(p.Groups, slices.Clone(ring))
	}
	p.Strategies = Strategies(t, a)
	return lw, p, nil
}

// Strategies is the scheme a assigns to each op group of t, as a plan
// records it.
func Strategies(t *costmodel.Table, a ilp.Assignment) []plan.Strategy {
	out := make([]plan.Strategy, len(a.Options))
	for gi, oi := range a.Options {
		opt, g := t.Options[gi][oi], t.Space.Groups[gi]
		out[gi] = plan.Strategy{Group: g.Key, Layers: g.Mult, Scheme: opt.Name(), In: opt.Scheme.In().String(), Out: opt.Scheme.Out().String()}
	}
	return out
}

// staticBytes is what each die holds all step: the layout's weights,
// gradients and optimizer states, and what sub-chain streams keep beyond
// them (costmodel.Option.Degree).
func staticBytes(t *costmodel.Table, a ilp.Assignment) float64 {
	f := t.Fixed[a.Layout].Mem
	b := f.Weights + f.Grads + f.OptStates
	for gi, oi := range a.Options {
		m := t.Options[gi][oi].Price[a.Layout].Mem
		b += m.Weights + m.Grads + m.OptStates
	}
	return b
}

// micro is one micro-batch's blocks; sync puts the DP gradient buckets in
// its backward blocks.
func (lw *lowerer) micro(sync bool) []plan.Node {
	layers := lw.layers()
	micro := []plan.Node{lw.block("fwd.pre", lw.pre, fwd, edgesPre, sync)}
	if len(lw.blk) > 0 {
		micro = append(micro, lw.block("fwd.layer0", lw.blk, fwd, edgesFirst, sync))
		if layers > 1 {
			micro = append(micro, count(lw.block("fwd.layers", lw.blk, fwd, edgesRest, sync), layers-1))
		}
	}
	micro = append(micro, lw.block("post", lw.post, both, edgesPost, sync))
	if len(lw.blk) > 0 {
		if layers > 1 {
			micro = append(micro, count(lw.block("bwd.layers", lw.blk, bwd, edgesRest, sync), layers-1))
		}
		micro = append(micro, lw.block("bwd.layer0", lw.blk, bwd, edgesFirst, sync))
	}
	return append(micro, lw.block("bwd.pre", lw.pre, bwd, edgesPre, sync))
}

// SpecJSON is s in the wafer file format, compact, as a plan carries it
// (wafer_spec).
func SpecJSON(s *wafer.Spec) (json.RawMessage, error) {
	var ws, compact bytes.Buffer
	if err := wafer.WriteJSON(&ws, s); err != nil {
		return nil, fmt.Errorf("lower: %w", err)
	}
	if err := json.Compact(&compact, ws.Bytes()); err != nil {
		return nil, fmt.Errorf("lower: %w", err)
	}
	return compact.Bytes(), nil
}

// GraphSHA256 is the hex SHA-256 of the graph's canonical text.
func GraphSHA256(g *ir.Graph) string {
	h := sha256.New()
	if err := g.WriteText(h); err != nil {
		panic(err) // a hash never fails to write
	}
	return hex.EncodeToString(h.Sum(nil))
}

func count(n plan.Node, c int) plan.Node {
	n.Count = c
	return n
}

// Pass directions of a block.
type pass int

const (
	fwd pass = iota
	bwd
	both
)

// Which edges a block carries.
type edgeSet int

const (
	edgesPre   edgeSet = iota // among pre-block groups
	edgesFirst                // within a layer, and from pre-block groups into layer 0
	edgesRest                 // within a layer, and from the layer before
	edgesPost                 // into and among post-block groups
)

type lowerer struct {
	t *costmodel.Table
	a ilp.Assignment
	l *partition.Layout
	s *wafer.Spec
	// mp is the layout's mapping; rings and chains its groups'.
	mp            partition.Mapping
	rings, chains [][]wafer.DieID
	// pre, blk and post list group indexes by position around the blocks.
	pre, blk, post []int
	// bucket is the DP gradient bucket per die, in bytes.
	bucket int64
}

func (lw *lowerer) prepare() {
	lw.rings, lw.chains = lw.mp.Rings, lw.mp.Chains
	for gi, g := range lw.t.Space.Groups {
		switch {
		case g.Work.Block:
			lw.blk = append(lw.blk, gi)
		case len(lw.blk) == 0:
			lw.pre = append(lw.pre, gi)
		default:
			lw.post = append(lw.post, gi)
		}
	}
}

func (lw *lowerer) layers() int {
	if len(lw.blk) == 0 {
		return 0
	}
	return lw.t.Space.Groups[lw.blk[0]].Mult
}

func (lw *lowerer) scheme(gi int) partition.Scheme {
	return lw.t.Options[gi][lw.a.Options[gi]].Scheme
}

// route gives every transfer of prog whose route is not the simulator's
// default (XY) its route under the mapping: fixed routes, and detours
// around faults.
func (lw *lowerer) route(prog *plan.Program) error {
	for i := range prog.Tasks {
		t := &prog.Tasks[i]
		if t.Kind != plan.Transfer || t.Route != nil {
			continue
		}
		r, err := lw.mp.Route(lw.s, wafer.XY, t.Die, t.Dst)
		if err != nil {
			return fmt.Errorf("lower: %w", err)
		}
		if xy, err := lw.s.Route(t.Die, t.Dst, wafer.XY); err != nil || !slices.Equal(xy, r) {
			t.Route = r
		}
	}
	return nil
}
