// Package onnxpb holds the Go types of the part of ONNX's protobuf schema
// that frontend reads (onnx.proto: models, graphs, nodes, attributes,
// tensors and value types, with the official field numbers). The Go code
// is generated and committed; regenerate it after editing onnx.proto with
// `go generate ./frontend/onnxpb` (TestGenerated checks it is current).
package onnxpb

//go:generate go run github.com/tempc/tempc/internal/protogen -out . -import github.com/tempc/tempc/frontend/onnxpb onnx.proto
