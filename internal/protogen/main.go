// Command protogen compiles .proto files to Go without protoc: protocompile
// parses and links them, and the official protoc-gen-go plugin (run with
// `go run`, so it is the version go.mod pins) receives the standard
// CodeGeneratorRequest on stdin and answers with the generated files.
//
// Usage, from a package directory (see its go:generate line):
//
//	go run github.com/tempc/tempc/internal/protogen -out DIR -import IMPORTPATH file.proto...
//
// Each generated file is written to DIR under its .proto's base name with
// the .pb.go suffix. The generated code is committed; regenerating needs
// only the Go toolchain and the module proxy.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

func main() {
	out := flag.String("out", ".", "directory the .pb.go files are written to")
	importPath := flag.String("import", "", "Go import path of the generated package (required)")
	flag.Parse()
	if *importPath == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: protogen -out DIR -import IMPORTPATH file.proto...")
		os.Exit(2)
	}
	if err := run(*out, *importPath, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "protogen:", err)
		os.Exit(1)
	}
}

func run(out, importPath string, files []string) error {
	comp := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	linked, err := comp.Compile(context.Background(), files...)
	if err != nil {
		return err
	}
	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: files}
	var params []string
	seen := map[string]bool{}
	add := func(fd *descriptorpb.FileDescriptorProto) {
		if !seen[fd.GetName()] {
			seen[fd.GetName()] = true
			req.ProtoFile = append(req.ProtoFile, fd)
		}
	}
	for _, f := range linked {
		// Dependencies precede their dependents, as protoc orders them.
		imports := f.Imports()
		for i := 0; i < imports.Len(); i++ {
			add(protodesc.ToFileDescriptorProto(imports.Get(i).FileDescriptor))
		}
		add(protodesc.ToFileDescriptorProto(f))
		params = append(params, "M"+f.Path()+"="+importPath)
	}
	req.Parameter = proto.String(strings.Join(append(params, "paths=source_relative"), ","))
	in, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "run", "google.golang.org/protobuf/cmd/protoc-gen-go")
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("protoc-gen-go: %w", err)
	}
	var resp pluginpb.CodeGeneratorResponse
	if err := proto.Unmarshal(raw, &resp); err != nil {
		return fmt.Errorf("protoc-gen-go response: %w", err)
	}
	if resp.Error != nil {
		return fmt.Errorf("protoc-gen-go: %s", resp.GetError())
	}
	for _, f := range resp.File {
		path := filepath.Join(out, filepath.Base(f.GetName()))
		if err := os.WriteFile(path, []byte(f.GetContent()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
