// Package etpb holds the Go types of Chakra's execution-trace schema
// (package ChakraProtoMsg), generated from et_def.proto by
// internal/protogen. Only the chakra package should need it directly.
package etpb

//go:generate go run github.com/tempc/tempc/internal/protogen -out . -import github.com/tempc/tempc/chakra/etpb et_def.proto
