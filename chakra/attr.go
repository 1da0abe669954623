package chakra

import (
	"math"

	"github.com/tempc/tempc/chakra/etpb"
)

// Attr returns the attribute called name among attrs (a Node's or a
// GlobalMetadata's), the first if several are.
func Attr(attrs []*etpb.AttributeProto, name string) (*etpb.AttributeProto, bool) {
	for _, a := range attrs {
		if a.GetName() == name {
			return a, true
		}
	}
	return nil, false
}

// IntAttr returns the integer value of the attribute called name: any
// of Chakra's integer types, converted to int64 when it fits.
func IntAttr(attrs []*etpb.AttributeProto, name string) (int64, bool) {
	a, ok := Attr(attrs, name)
	if !ok {
		return 0, false
	}
	switch v := a.GetValue().(type) {
	case *etpb.AttributeProto_Int32Val:
		return int64(v.Int32Val), true
	case *etpb.AttributeProto_Int64Val:
		return v.Int64Val, true
	case *etpb.AttributeProto_Uint32Val:
		return int64(v.Uint32Val), true
	case *etpb.AttributeProto_Uint64Val:
		if v.Uint64Val > math.MaxInt64 {
			return 0, false
		}
		return int64(v.Uint64Val), true
	case *etpb.AttributeProto_Sint32Val:
		return int64(v.Sint32Val), true
	case *etpb.AttributeProto_Sint64Val:
		return v.Sint64Val, true
	case *etpb.AttributeProto_Fixed32Val:
		return int64(v.Fixed32Val), true
	case *etpb.AttributeProto_Fixed64Val:
		if v.Fixed64Val > math.MaxInt64 {
			return 0, false
		}
		return int64(v.Fixed64Val), true
	case *etpb.AttributeProto_Sfixed32Val:
		return int64(v.Sfixed32Val), true
	case *etpb.AttributeProto_Sfixed64Val:
		return v.Sfixed64Val, true
	}
	return 0, false
}

// NodeKind returns what of a plan a node written by Write stands for
// (its KindAttr attribute), or "" for a node of another producer.
func NodeKind(n *etpb.Node) Kind {
	a, _ := Attr(n.GetAttr(), KindAttr)
	return Kind(a.GetStringVal())
}
