package plan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

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

// ReadJSON parses a plan, rejecting unknown fields, data after the plan
// and other schema versions (version 1 with a hint to recompile); malformed JSON is reported with its position. It does not
// Verify the plan.
func ReadJSON(file string, data []byte) (*Plan, error) {
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
