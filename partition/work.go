package partition

import "github.com/tempc/tempc/ir"

// work fills every group's Work and the space's optimizer and replicated
// figures.
func (b *builder) work() {
	p := b.sp
	g := p.Graph
	readByBwd := make([]bool, len(g.Tensors))
	for i := range g.Ops {
		if op := &g.Ops[i]; op.Phase == ir.Backward {
			for _, t := range op.Inputs {
				readByBwd[t] = true
			}
		}
	}
	saved := func(ts []ir.TensorID) float64 {
		var b float64
		for _, t := range ts {
			if readByBwd[t] && g.Tensor(t).Role == ir.Activation {
				b += float64(g.Tensor(t).Bytes())
			}
		}
		return b
	}
	firstOfLayer := map[int]ir.OpID{} // the first block group op of each layer
	unfused := p.Config.UnfusedAttention
	for gi, grp := range p.Groups {
		gr := &p.Groups[gi].Work
		for _, id := range grp.Ops {
			op := g.Op(id)
			if a := op.Attn; unfused && op.Kind == ir.Attention && a != nil {
				scores := 2 * float64(a.Batch) * float64(a.Heads) * float64(a.SeqQ) * float64(a.SeqKV)
				if op.Phase == ir.Forward {
					gr.Scores += scores
					gr.FwdHBM += 4 * scores
				} else {
					gr.BwdHBM += 7 * scores
				}
			}
			if op.Phase == ir.Forward {
				gr.FwdFLOPs += op.FLOPs
				gr.FwdHBM += float64(op.BytesRead + op.BytesWritten)
				gr.SavedIn += saved(op.Inputs[:1])
				if op.Kind == ir.Attention {
					gr.SavedOut += saved(op.Outputs)
				}
				gr.Block = gr.Block || op.Class == "block"
				if f, ok := firstOfLayer[op.Layer]; op.Class == "block" && (!ok || id < f) {
					firstOfLayer[op.Layer] = id
				}
			} else {
				gr.BwdFLOPs += op.FLOPs
				gr.BwdHBM += float64(op.BytesRead + op.BytesWritten)
			}
		}
	}
	heads := map[ir.OpID]bool{}
	for _, id := range firstOfLayer {
		heads[id] = true
	}
	for gi, grp := range p.Groups {
		for _, id := range grp.Ops {
			p.Groups[gi].Work.Head = p.Groups[gi].Work.Head || heads[id]
		}
	}
	for _, a := range p.Pointwise {
		op, gr := g.Op(a.Op), &p.Groups[a.Group].Work
		if op.Phase == ir.Forward {
			gr.PwFwdFLOPs += op.FLOPs
			gr.PwFwdHBM += float64(op.BytesRead + op.BytesWritten)
			gr.PwSaved += saved(op.Inputs)
		} else {
			gr.PwBwdFLOPs += op.FLOPs
			gr.PwBwdHBM += float64(op.BytesRead + op.BytesWritten)
		}
	}
	var owned int64
	for _, grp := range p.Groups {
		owned += grp.Params
	}
	s := g.Summary()
	p.ReplicatedParams = float64(s.Parameters - owned)
	for i := range g.Ops {
		if op := &g.Ops[i]; op.Kind == ir.OptimizerUpdate {
			p.AdamFLOPs += op.FLOPs
			p.AdamHBM += float64(op.BytesRead + op.BytesWritten)
		}
	}
}
