// Package frontend reads models and builds their training graphs.
//
// A model is a built-in preset (Preset, PresetNames: the TEMP benchmark
// models and a few small ones), a Hugging Face config.json or the folder
// holding one (ReadHFConfig: model types gpt2, llama and opt; a
// mixture-of-experts type, an unknown one or an inconsistent field is an
// error naming the file position), an ONNX model as torch.onnx, Hugging
// Face Optimum or ONNX Runtime's optimizer export it (ReadONNX: the
// architecture is recognised from the graph's operators and the dims of
// its initializers, whose contents are never read; an unsupported
// operator is an error naming the node; package onnxpb holds the protobuf
// types), or tempc's own JSON graph (ReadGraphJSON, WriteGraphJSON;
// graph.schema.json). An Arch describes a decoder-only transformer;
// Forward builds its forward graph for a batch and sequence (Shape), and
// Train appends the backward pass — by per-kind rules (a GEMM Y = X·W
// gives dX = dY·Wᵀ and dW = Xᵀ·dY; gradients summed where a tensor has
// several readers) — and the mixed-precision Adam step. Load does all of
// it from a model's name or path (Options: batch and sequence, with
// TEMP's defaults); Build from an Arch. LoadContext, LoadArchContext and
// BuildStageContext stop when their context is done, every few thousand
// nodes or ops, with an error wrapping the context's.
//
// Every reader is bounded, so that a hostile or mistaken file is refused
// by name instead of exhausting memory or blocking: model files are read
// up to 1 GiB, never from a device, and from a pipe only when
// Options.Pipes says the user named it; an ONNX file is scanned before
// decoding for its node counts (at most 2^21 a list) and the memory its
// messages would take decoded (at most 2 GiB); a JSON file for its lines
// (2^24), values (2^25), entries of one object or array (2^21) and bytes
// of one string (2^20); and a name echoed in a message is cut to 64
// bytes.
package frontend
