package chakra

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tempc/tempc/chakra/etpb"
)

// Attribute names. The first group is what ASTRA-sim reads; their value
// types are those Chakra's own feeder reads (num_ops an int64,
// tensor_size a uint64, comm_src, comm_dst and comm_tag int32s,
// comm_size an int64). KindAttr is tempc's own.
const (
	attrIsCPUOp    = "is_cpu_op"
	attrNumOps     = "num_ops"
	attrTensorSize = "tensor_size"
	attrCommSrc    = "comm_src"
	attrCommDst    = "comm_dst"
	attrCommSize   = "comm_size"
	attrCommTag    = "comm_tag"
	// KindAttr names the string attribute that says what of a plan a
	// node stands for (see Kind).
	KindAttr = "tempc_kind"
)

// Kind is what of a plan a node stands for: the value of its KindAttr
// attribute.
type Kind string

// Node kinds.
const (
	// KindCompute is a compute task (COMP_NODE), KindDelay a compute
	// task of a fixed duration.
	KindCompute Kind = "compute"
	KindDelay   Kind = "delay"
	// KindSend and KindRecv are the two ends of a plan's send, receive
	// or transfer (COMM_SEND_NODE, COMM_RECV_NODE).
	KindSend Kind = "send"
	KindRecv Kind = "recv"
	// KindBarrier is a barrier of the step (plan.Node.Barrier), on the
	// die where plan.Expand puts it; a zero-time CPU COMP_NODE.
	KindBarrier Kind = "barrier"
	// KindSyncSend and KindSyncRecv carry a dependency between tasks
	// of two dies that no message of the plan carries: a one-byte
	// message (ASTRA-sim's analytical network wants a positive size).
	KindSyncSend Kind = "sync-send"
	KindSyncRecv Kind = "sync-recv"
	// KindJoin gathers many dependencies on one die into one node before
	// a sync message carries them to another die; a zero-time CPU
	// COMP_NODE.
	KindJoin Kind = "join"
)

// metadataVersion is the GlobalMetadata version written: the one
// Chakra's own trace generator writes.
const metadataVersion = "1.0.0"

// maxMessage bounds one encoded message, as Chakra frames messages with
// a 32-bit varint length.
const maxMessage = math.MaxInt32

// encoder turns nodes into length-delimited protobuf messages. It
// writes the wire format itself — fields in number order, proto3's
// defaults left out, a oneof's value always written — as the generated
// code would (TestEncoderIsCanonical holds it to proto.Marshal), at a
// fraction of the generated code's cost and with no allocation per node.
type encoder struct {
	buf []byte
}

// attr is one attribute of a node: a varint value (v: a bool, or an
// int32 or int64 sign-extended) or a string one (s), in field num of
// AttributeProto's value.
type attr struct {
	name string
	num  protowire.Number
	v    uint64
	s    string
	str  bool
}

// AttributeProto's value fields tempc writes.
const (
	fieldInt32  protowire.Number = 7
	fieldInt64  protowire.Number = 9
	fieldUint64 protowire.Number = 13
	fieldBool   protowire.Number = 27
	fieldString protowire.Number = 29
)

func boolAttr(name string, v bool) attr {
	a := attr{name: name, num: fieldBool}
	if v {
		a.v = 1
	}
	return a
}
func int32Attr(name string, v int32) attr {
	return attr{name: name, num: fieldInt32, v: uint64(int64(v))}
}
func int64Attr(name string, v int64) attr   { return attr{name: name, num: fieldInt64, v: uint64(v)} }
func uint64Attr(name string, v uint64) attr { return attr{name: name, num: fieldUint64, v: v} }
func kindAttr(k Kind) attr                  { return attr{name: KindAttr, num: fieldString, s: string(k), str: true} }

// Node's fields.
const (
	fieldID       protowire.Number = 1
	fieldName     protowire.Number = 2
	fieldType     protowire.Number = 3
	fieldDataDeps protowire.Number = 5
	fieldDuration protowire.Number = 7
	fieldAttr     protowire.Number = 10
)

// node encodes a Node into e.buf and returns it framed (see frame).
func (e *encoder) node(id uint64, name string, typ etpb.NodeType, deps []uint64, micros uint64, attrs ...attr) []byte {
	// The message goes after room for the longest size prefix; the
	// prefix is put right before it.
	b := append(e.buf[:0], make([]byte, binary.MaxVarintLen64)...)
	if id != 0 {
		b = protowire.AppendTag(b, fieldID, protowire.VarintType)
		b = protowire.AppendVarint(b, id)
	}
	if name != "" {
		b = protowire.AppendTag(b, fieldName, protowire.BytesType)
		b = protowire.AppendString(b, name)
	}
	if typ != 0 {
		b = protowire.AppendTag(b, fieldType, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(typ))
	}
	if len(deps) > 0 {
		n := 0
		for _, d := range deps {
			n += protowire.SizeVarint(d)
		}
		b = protowire.AppendTag(b, fieldDataDeps, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(n))
		for _, d := range deps {
			b = protowire.AppendVarint(b, d)
		}
	}
	if micros != 0 {
		b = protowire.AppendTag(b, fieldDuration, protowire.VarintType)
		b = protowire.AppendVarint(b, micros)
	}
	for _, a := range attrs {
		b = a.append(b)
	}
	e.buf = b
	size := uint64(len(b) - binary.MaxVarintLen64)
	at := binary.MaxVarintLen64 - protowire.SizeVarint(size)
	binary.PutUvarint(b[at:], size)
	return b[at:]
}

// append appends the attribute as field Node.attr.
func (a attr) append(b []byte) []byte {
	n := protowire.SizeTag(1) + protowire.SizeBytes(len(a.name)) + protowire.SizeTag(a.num)
	if a.str {
		n += protowire.SizeBytes(len(a.s))
	} else {
		n += protowire.SizeVarint(a.v)
	}
	b = protowire.AppendTag(b, fieldAttr, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, a.name)
	if a.str {
		b = protowire.AppendTag(b, a.num, protowire.BytesType)
		return protowire.AppendString(b, a.s)
	}
	b = protowire.AppendTag(b, a.num, protowire.VarintType)
	return protowire.AppendVarint(b, a.v)
}

// compNode encodes a COMP_NODE: on the CPU (a zero-time barrier or join)
// or on the die's engine, with its FLOPs and HBM bytes.
func (e *encoder) compNode(id uint64, name string, kind Kind, deps []uint64, cpu bool, ops int64, tensor uint64, micros uint64) []byte {
	if cpu {
		return e.node(id, name, etpb.NodeType_COMP_NODE, deps, micros, kindAttr(kind), boolAttr(attrIsCPUOp, true))
	}
	return e.node(id, name, etpb.NodeType_COMP_NODE, deps, micros, kindAttr(kind), boolAttr(attrIsCPUOp, false),
		int64Attr(attrNumOps, ops), uint64Attr(attrTensorSize, tensor))
}

// commNode encodes a COMM_SEND_NODE or COMM_RECV_NODE.
func (e *encoder) commNode(id uint64, name string, typ etpb.NodeType, kind Kind, deps []uint64, src, dst int32, size int64, tag int32) []byte {
	return e.node(id, name, typ, deps, 0, kindAttr(kind), boolAttr(attrIsCPUOp, false), int32Attr(attrCommSrc, src),
		int32Attr(attrCommDst, dst), int64Attr(attrCommSize, size), int32Attr(attrCommTag, tag))
}

// frame writes msg to w as Chakra frames a message — its size as a
// varint, then its bytes — and returns the bytes written.
func frame(w io.Writer, msg []byte) (int, error) {
	if len(msg) > maxMessage {
		return 0, fmt.Errorf("a message of %d bytes, more than Chakra's %d", len(msg), maxMessage)
	}
	var pre [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(pre[:], uint64(len(msg)))
	if _, err := w.Write(pre[:k]); err != nil {
		return 0, err
	}
	if _, err := w.Write(msg); err != nil {
		return 0, err
	}
	return k + len(msg), nil
}

// dieTrace is the trace file of one die being written.
type dieTrace struct {
	w    *bufio.Writer
	c    io.Closer
	next uint64 // the next node's ID
	err  error  // the first write error
	info *RankInfo
	// exact is the compute time written so far, in µs, before
	// rounding; info.DurationMicros what the nodes' durations add up to.
	exact float64
	// sinks lists the nodes that no node of their run waits for since
	// the latest barrier (see stepper).
	sinks []uint32
}

// emit writes node m, framed and encoded with ID d.next, and returns its
// ID.
func (d *dieTrace) emit(m []byte) uint32 {
	id := d.next
	d.next++
	d.info.Nodes++
	if id > math.MaxUint32 && d.err == nil {
		d.err = fmt.Errorf("more than 2^32 nodes")
	}
	if len(m) > maxMessage && d.err == nil {
		d.err = fmt.Errorf("node %d: a message of %d bytes, more than Chakra's %d", id, len(m), maxMessage)
	}
	if d.err == nil {
		_, d.err = d.w.Write(m)
		d.info.Bytes += int64(len(m))
	}
	return uint32(id)
}

// micros returns the duration in whole µs to give a node of sec seconds:
// rounded so that the durations of a die's nodes add up to their exact
// total, within half a microsecond (error diffusion).
func (d *dieTrace) micros(sec float64) uint64 {
	d.exact += sec * 1e6
	total := uint64(math.Round(d.exact))
	us := total - min(total, d.info.DurationMicros)
	d.info.DurationMicros += us
	return us
}
