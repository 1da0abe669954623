package partition

import "fmt"

// Schedule is a pipeline-parallel schedule: the order in which each
// pipeline stage runs the forward and backward passes of the micro-batches
// of one training step. The zero value is 1F1B, Megatron-LM's default.
type Schedule uint8

//go:generate go run github.com/tempc/tempc/internal/enumgen -type Schedule=schedule
const (
	// OneFOneB is PipeDream-Flush's one-forward-one-backward (Narayanan
	// et al. 2021, §2.2; Megatron-LM's non-interleaved schedule): stage d
	// of p runs min(p−d−1, m) forward passes, then alternates one forward
	// and one backward, then drains the backward passes; it holds at most
	// p−d micro-batches' activations, with GPipe's bubble.
	OneFOneB Schedule = iota // 1f1b
	// GPipe runs every micro-batch's forward pass, then every backward
	// pass, the latest micro-batch first (Huang et al. 2019; autograd's
	// order in torchgpipe): a stage holds all m micro-batches'
	// activations at its peak.
	GPipe // gpipe
	// Interleaved is Megatron-LM's interleaved 1F1B (Narayanan et al.
	// 2021, §2.2.2): each device holds v model chunks (virtual stage c·p+d
	// on device d), so a micro-batch passes every device v times and the
	// bubble shrinks v-fold, for v times the point-to-point messages.
	Interleaved // interleaved-1f1b
)

// Pass is one pass of one micro-batch through one virtual stage: Chunk is
// the model chunk on the device (0 without interleaving), so the virtual
// stage is Chunk·p + device.
type Pass struct {
	Chunk    int
	Micro    int
	Backward bool
}

func (w Pass) String() string {
	pass := "F"
	if w.Backward {
		pass = "B"
	}
	return fmt.Sprintf("%s%d.%d", pass, w.Micro, w.Chunk)
}

// PipelineOrder is the order in which each of p devices runs its passes
// for m micro-batches under schedule s, with v model chunks per device
// (v is 1 except for Interleaved, which needs v ≥ 2 and, as Megatron-LM's
// implementation, m a multiple of p). order[d] lists device d's passes;
// every (chunk, micro-batch) appears once forward and once backward.
func PipelineOrder(s Schedule, p, m, v int) ([][]Pass, error) {
	if p < 1 || m < 1 || v < 1 {
		return nil, fmt.Errorf("partition: pipeline of %d stages, %d micro-batches and %d chunks per stage: each must be at least 1", p, m, v)
	}
	if s != Interleaved && v != 1 {
		return nil, fmt.Errorf("partition: the %s schedule runs one model chunk per stage, not %d", s, v)
	}
	order := make([][]Pass, p)
	for d := range order {
		switch s {
		case GPipe:
			for j := range m {
				order[d] = append(order[d], Pass{Micro: j})
			}
			for j := m - 1; j >= 0; j-- {
				order[d] = append(order[d], Pass{Micro: j, Backward: true})
			}
		case OneFOneB:
			warm := min(p-d-1, m)
			for j := range warm {
				order[d] = append(order[d], Pass{Micro: j})
			}
			for i := range m - warm {
				order[d] = append(order[d], Pass{Micro: warm + i}, Pass{Micro: i, Backward: true})
			}
			for j := m - warm; j < m; j++ {
				order[d] = append(order[d], Pass{Micro: j, Backward: true})
			}
		case Interleaved:
			if v < 2 {
				return nil, fmt.Errorf("partition: the interleaved schedule needs at least 2 model chunks per stage, not %d", v)
			}
			if m%p != 0 {
				return nil, fmt.Errorf("partition: the interleaved schedule needs the micro-batches (%d) to be a multiple of the stages (%d)", m, p)
			}
			order[d] = interleaved(p, m, v, d)
		default:
			return nil, fmt.Errorf("partition: unknown pipeline schedule %d", s)
		}
	}
	return order, nil
}

// interleaved is device d's order in Megatron-LM's interleaved schedule:
// the k-th forward pass of the device is micro-batch (k / pv)·p + k mod p
// of chunk (k / p) mod v, the k-th backward the same micro-batch of chunk
// v−1−(k / p) mod v; (p−d−1)·2 + (v−1)·p forward passes warm up, then
// forward and backward alternate, then the backward passes drain.
func interleaved(p, m, v, d int) []Pass {
	total := m * v
	at := func(k int, backward bool) Pass {
		c := (k / p) % v
		if backward {
			c = v - 1 - c
		}
		return Pass{Chunk: c, Micro: (k/(p*v))*p + k%p, Backward: backward}
	}
	warm := min((p-d-1)*2+(v-1)*p, total)
	var out []Pass
	for k := range warm {
		out = append(out, at(k, false))
	}
	for i := range total - warm {
		out = append(out, at(warm+i, false), at(i, true))
	}
	for k := total - warm; k < total; k++ {
		out = append(out, at(k, true))
	}
	return out
}
