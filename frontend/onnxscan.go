package frontend

import (
	"fmt"
	"reflect"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/tempc/tempc/internal/fileio"
)

// Bounds on what ReadONNX decodes. A protobuf message costs far more
// memory decoded than on the wire: an empty NodeProto entry is 2 bytes in
// the file and over 100 bytes as a Go struct and its pointer, an empty
// string 2 bytes and 16 as a Go string. So the file's size limit alone
// does not bound memory; scanONNX estimates the decoded size from the wire
// format, without allocating, and ReadONNX refuses a model beyond these
// bounds before decoding it.
const (
	// maxONNXNodes bounds the nodes of the graph, and separately its
	// initializers and its input, output and value_info entries:
	// maxLayers blocks of up to 512 nodes each (2^21). torch.onnx exports
	// about 100 nodes a block (most of them shape computations), ONNX
	// Runtime's fused graphs under 20.
	maxONNXNodes = maxLayers * 512
	// maxONNXDecoded bounds the estimated memory of the decoded messages
	// (2 GiB): twice the largest file read (maxFileBytes) with its
	// weights inline, and about 4 times what a maxLayers-block export
	// without inline weights takes.
	maxONNXDecoded = 2 << 30
)

// onnxListFields are the repeated fields of GraphProto held to
// maxONNXNodes, with their names in messages.
var onnxListFields = []struct {
	name protoreflect.FullName
	what string
}{
	{"onnx.GraphProto.node", "nodes"},
	{"onnx.GraphProto.initializer", "initializers"},
	{"onnx.GraphProto.input", "graph inputs"},
	{"onnx.GraphProto.output", "graph outputs"},
	{"onnx.GraphProto.value_info", "value_info entries"},
}

// wireScan totals the decoded size of a serialised message.
type wireScan struct {
	// counts are the elements of each repeated message field.
	counts map[protoreflect.FullName]int64
	// messages and strings count the decoded messages and the strings
	// and byte strings of all fields.
	messages, strings int64
	// bytes is the estimated memory of the decoded messages.
	bytes int64
	// sizes caches the Go struct size of each message type.
	sizes map[protoreflect.FullName]int64
}

// maxScanDepth bounds the nesting followed (the onnxpb subset nests six
// deep: model, graph, node, attribute, tensor, external data entry).
const maxScanDepth = 16

// checkONNXSize scans data as a ModelProto and returns the problem that
// makes decoding it unsafe, or "". Malformed wire data ends the scan
// quietly: the decoder reports it.
func checkONNXSize(data []byte, md protoreflect.MessageDescriptor) string {
	s := &wireScan{counts: map[protoreflect.FullName]int64{}, sizes: map[protoreflect.FullName]int64{}}
	s.bytes = s.size(md)
	s.message(data, md, 0)
	for _, f := range onnxListFields {
		if n := s.counts[f.name]; n > maxONNXNodes {
			return fmt.Sprintf("the graph lists %d %s, beyond tempc's limit of %d (%d blocks of 512); the file is not an exported decoder or is corrupt",
				n, f.what, maxONNXNodes, maxLayers)
		}
	}
	if s.bytes > maxONNXDecoded {
		return fmt.Sprintf("decoding the model would take about %s of memory (%d messages, %d strings), beyond tempc's limit of %s; the file is not an exported decoder or is corrupt",
			fileio.Bytes(s.bytes), s.messages, s.strings, fileio.Bytes(maxONNXDecoded))
	}
	return ""
}

// message adds the fields of the message of type md encoded in b. Fields
// outside the onnxpb subset, and fields whose wire type does not match
// the schema, are skipped: the decoder discards them.
func (s *wireScan) message(b []byte, md protoreflect.MessageDescriptor, depth int) {
	if depth > maxScanDepth {
		return
	}
	fields := md.Fields()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		fd := fields.ByNumber(num)
		if fd != nil && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return
			}
			b = b[m:]
			s.bytesField(fd, v, depth)
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return
		}
		b = b[m:]
		if fd != nil && fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.StringKind &&
			fd.Kind() != protoreflect.BytesKind {
			s.bytes += slot(fd, 8) // a scalar: an element of a slice, or an optional's pointer
		}
	}
}

// bytesField adds one length-delimited field: a message, a string or
// byte string, or a packed run of scalars.
func (s *wireScan) bytesField(fd protoreflect.FieldDescriptor, v []byte, depth int) {
	switch fd.Kind() {
	case protoreflect.MessageKind:
		s.messages++
		s.counts[fd.FullName()]++
		s.bytes += s.size(fd.Message()) + slot(fd, 8) // the struct and its pointer
		if fd.ContainingOneof() != nil {
			s.bytes += 16 // the oneof's wrapper
		}
		s.message(v, fd.Message(), depth+1)
	case protoreflect.StringKind, protoreflect.BytesKind:
		s.strings++
		s.bytes += slot(fd, 24) + int64(len(v)) // header (and an optional's pointer) and contents
	case protoreflect.GroupKind:
	default:
		if !fd.IsList() {
			return // a scalar in the wrong wire type: discarded
		}
		var elems int64
		switch fd.Kind() {
		case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
			elems = int64(len(v)) / 4
		case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
			elems = int64(len(v)) / 8
		default: // varints: one ends at each byte below 0x80
			for _, c := range v {
				if c < 0x80 {
					elems++
				}
			}
		}
		s.bytes += elems * slot(fd, 8)
	}
}

// slot is the memory an element of n bytes takes in its field: twice n in
// a list, whose slice grows by doubling while it is decoded.
func slot(fd protoreflect.FieldDescriptor, n int64) int64 {
	if fd.IsList() {
		return 2 * n
	}
	return n
}

// size returns the size of the Go struct of message type md.
func (s *wireScan) size(md protoreflect.MessageDescriptor) int64 {
	if n, ok := s.sizes[md.FullName()]; ok {
		return n
	}
	n := int64(64) // a message type outside the registry: a guess
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName()); err == nil {
		n = int64(reflect.TypeOf(mt.Zero().Interface()).Elem().Size())
	}
	n = (n + 15) &^ 15 // the allocator's size classes are multiples of 16 here
	s.sizes[md.FullName()] = n
	return n
}
