package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unsafe"

	"github.com/tempc/tempc/internal/fileio"
	"github.com/tempc/tempc/internal/jsonpos"
)

// WriteJSON writes the plan's canonical JSON: fields in a fixed order,
// tasks by ID, nodes in execution order (plan.schema.json).
func WriteJSON(w io.Writer, p *Plan) error {
	bw := bufio.NewWriter(w)
	if err := json.NewEncoder(bw).Encode(p); err != nil {
		return err
	}
	return bw.Flush()
}

// MaxFileBytes bounds the plan files tempc reads (1 GiB). The largest
// plan tempc writes, mt-nlg-530b across six wafers, is 66 MB; the bound
// keeps a wrong or hostile file from being read into memory whole.
const MaxFileBytes = 1 << 30

// MaxObjects bounds the JSON objects (tasks, nodes, programs, ...) of a
// plan file ReadJSON decodes: 2^25, some 7.7 GB of tasks decoded. The
// largest plan tempc writes, mt-nlg-530b across six wafers, holds about
// 400,000; gpt3-175b on temp48 (30 MB) 170,000.
const MaxObjects = 1 << 25

// minObjectBytes is the fewest bytes a plan file spends per object: the
// smallest task tempc writes, {"id":0,"kind":"recv","die":0} and its
// comma, takes 31. A real plan spends some 180 (gpt3-175b on temp48:
// 30 MB for 170,000 tasks), so this refuses only files of empty or
// nearly empty objects, which decode to 70 times their size ({} becomes
// a task of over 200 bytes) where a real plan decodes to twice its size.
const minObjectBytes = 24

// countObjects counts the objects of a JSON text (the opening braces
// outside strings), in one pass without decoding it.
func countObjects(data []byte) int64 {
	var n int64
	in, esc := false, false
	for _, c := range data {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && c == '{':
			n++
		}
	}
	return n
}

// ReadJSON parses a plan, rejecting unknown fields, data after the plan
// and other schema versions (version 1 with a hint to recompile); malformed JSON is reported with its position. It does not
// Verify the plan.
//
// Decoding is bounded too: a file of more JSON objects than one per
// minObjectBytes bytes (or more than MaxObjects) is refused before it is
// decoded, since every object may become a task of some 200 bytes.
func ReadJSON(file string, data []byte) (*Plan, error) {
	if n := countObjects(data); n > MaxObjects || n > int64(len(data))/minObjectBytes+1 {
		return nil, fmt.Errorf("plan: %s: %d JSON objects in %s, more than a plan holds (at most one per %d bytes, and %d in all): decoded as tasks they would take about %s",
			file, n, fileio.Bytes(int64(len(data))), minObjectBytes, MaxObjects, fileio.Bytes(n*int64(unsafe.Sizeof(Task{}))))
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		src, perr := jsonpos.Parse(file, data)
		if perr != nil {
			return nil, fmt.Errorf("plan: %w", jsonpos.ErrorList{perr})
		}
		return nil, fmt.Errorf("plan: %w", jsonpos.ErrorList{src.Src.SyntaxError(err, 0)})
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("plan: %s: data after the plan, at byte %d", file, dec.InputOffset())
	}
	switch {
	case p.SchemaVersion == 1:
		return nil, fmt.Errorf("plan: %s: schema_version 1 does not say which graph the plan was compiled from; recompile it (this tempc reads %d)", file, SchemaVersion)
	case p.SchemaVersion == 2:
		return nil, fmt.Errorf("plan: %s: schema_version 2 does not say where data lives (SRAM or HBM); recompile it (this tempc reads %d)", file, SchemaVersion)
	case p.SchemaVersion == 3:
		return nil, fmt.Errorf("plan: %s: schema_version 3 puts a barrier between all blocks, which this tempc no longer reads as such; recompile it (this tempc reads %d)", file, SchemaVersion)
	case p.SchemaVersion < OldestSchemaVersion || p.SchemaVersion > SchemaVersion:
		return nil, fmt.Errorf("plan: %s: schema_version %d, this tempc reads %d to %d", file, p.SchemaVersion, OldestSchemaVersion, SchemaVersion)
	}
	return &p, nil
}
