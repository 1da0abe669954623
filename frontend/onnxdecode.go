package frontend

import (
	"context"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tempc/tempc/frontend/onnxpb"
)

// onnxGraphField is the number of ModelProto's graph field.
const onnxGraphField = 7

// decodeModel decodes data into m as proto.Unmarshal does (discarding
// fields outside onnxpb's subset), but the graph checkEvery fields at a
// time, looking at ctx between them: the graph of a large file takes
// seconds to decode. Decoding field by field into the same message is
// decoding the whole, as protobuf merges repeated occurrences. On
// malformed data the rest is handed to proto.Unmarshal, whose error names
// the fault.
func decodeModel(ctx context.Context, file string, data []byte, m *onnxpb.ModelProto) error {
	opt := proto.UnmarshalOptions{DiscardUnknown: true, Merge: true}
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return opt.Unmarshal(data, m)
		}
		k := protowire.ConsumeFieldValue(num, typ, data[n:])
		if k < 0 {
			return opt.Unmarshal(data, m)
		}
		field := data[:n+k]
		data = data[n+k:]
		if num != onnxGraphField || typ != protowire.BytesType {
			if err := opt.Unmarshal(field, m); err != nil {
				return err
			}
			continue
		}
		v, _ := protowire.ConsumeBytes(field[n:])
		if m.Graph == nil {
			m.Graph = &onnxpb.GraphProto{}
		}
		if err := decodeChunks(ctx, file, v, m.Graph, opt); err != nil {
			return err
		}
	}
	return nil
}

// decodeChunks merges the fields of data into g checkEvery at a time.
func decodeChunks(ctx context.Context, file string, data []byte, g *onnxpb.GraphProto, opt proto.UnmarshalOptions) error {
	for len(data) > 0 {
		if err := stopped(ctx, file); err != nil {
			return err
		}
		end := 0
		for fields := 0; fields < checkEvery && end < len(data); fields++ {
			num, typ, n := protowire.ConsumeTag(data[end:])
			if n < 0 {
				return opt.Unmarshal(data, g)
			}
			k := protowire.ConsumeFieldValue(num, typ, data[end+n:])
			if k < 0 {
				return opt.Unmarshal(data, g)
			}
			end += n + k
		}
		if err := opt.Unmarshal(data[:end], g); err != nil {
			return err
		}
		data = data[end:]
	}
	return nil
}
