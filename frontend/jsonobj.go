package frontend

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// jsonSource maps byte offsets of one JSON document to line:column.
type jsonSource struct {
	file string
	data []byte
	// lines holds the offset at which each line starts, built on first use.
	lines []int
}

func (s *jsonSource) pos(offset int64) Pos {
	if offset > int64(len(s.data)) {
		offset = int64(len(s.data))
	}
	if s.lines == nil {
		s.lines = []int{0}
		for i, c := range s.data {
			if c == '\n' {
				s.lines = append(s.lines, i+1)
			}
		}
	}
	// The line is the last whose start is at or before offset.
	line := sort.SearchInts(s.lines, int(offset)+1) - 1
	return Pos{File: s.file, Line: line + 1, Col: int(offset) - s.lines[line] + 1}
}

// syntaxError turns a decoding error into a positioned Error.
func (s *jsonSource) syntaxError(err error, at int64) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &Error{Pos: s.pos(se.Offset), Msg: "malformed JSON: " + se.Error()}
	case errors.As(err, &te):
		return &Error{Pos: s.pos(te.Offset), Field: te.Field, Msg: fmt.Sprintf("want %v, got JSON %s", te.Type, te.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &Error{Pos: s.pos(int64(len(s.data))), Msg: "malformed JSON: unexpected end of input (truncated file?)"}
	default:
		return &Error{Pos: s.pos(at), Msg: "malformed JSON: " + err.Error()}
	}
}

// jsonField is one member of a JSON object: its raw value and the position
// of its key.
type jsonField struct {
	key string
	raw json.RawMessage
	pos Pos
	// at is the byte offset of the value in the source.
	at int64
}

// jsonObject is a JSON object whose members remember where they were.
type jsonObject struct {
	src    *jsonSource
	pos    Pos
	fields map[string]*jsonField
	keys   []string // in file order
}

// parseObject reads data, which must hold exactly one JSON object, keeping
// the position of every top-level key. Nested values stay raw.
func parseObject(file string, data []byte) (*jsonObject, *Error) {
	src := &jsonSource{file: file, data: data}
	return src.object(0, data)
}

// object parses the object in data, found at byte offset base of src.
func (s *jsonSource) object(base int64, data []byte) (*jsonObject, *Error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, s.syntaxError(err, base)
	}
	start := base + dec.InputOffset() - 1
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &Error{Pos: s.pos(base), Msg: fmt.Sprintf("want a JSON object, got %v", tok)}
	}
	o := &jsonObject{src: s, pos: s.pos(start), fields: map[string]*jsonField{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, s.syntaxError(err, base+dec.InputOffset())
		}
		key := tok.(string) // object keys are always strings once Token succeeds
		keyPos := s.pos(s.keyStart(base + dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, s.syntaxError(adjust(err, base), base+dec.InputOffset())
		}
		if prev, dup := o.fields[key]; dup {
			return nil, &Error{Pos: keyPos, Field: key, Msg: fmt.Sprintf("duplicate key (first at line %d)", prev.pos.Line)}
		}
		at := base + dec.InputOffset() - int64(len(raw))
		o.fields[key] = &jsonField{key: key, raw: raw, pos: keyPos, at: at}
		o.keys = append(o.keys, key)
	}
	if _, err := dec.Token(); err != nil {
		return nil, s.syntaxError(adjust(err, base), base+dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Pos: s.pos(base + dec.InputOffset()), Msg: "unexpected data after the JSON object"}
	}
	return o, nil
}

// adjust shifts the offset of a syntax error by base.
func adjust(err error, base int64) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		c := *se
		c.Offset += base
		return &c
	}
	return err
}

// keyStart finds the opening quote of the key whose closing quote ends just
// before end.
func (s *jsonSource) keyStart(end int64) int64 {
	i := end - 2
	for i > 0 && !(s.data[i] == '"' && s.data[i-1] != '\\') {
		i--
	}
	return i
}

// has reports whether key is present and not null.
func (o *jsonObject) has(key string) bool {
	f, ok := o.fields[key]
	return ok && string(f.raw) != "null"
}

// fieldPos is the position of key, or of the object when key is absent.
func (o *jsonObject) fieldPos(key string) Pos {
	if f, ok := o.fields[key]; ok {
		return f.pos
	}
	return o.pos
}

// int reads key as an integer. It reports absent required keys, non-integers
// and values outside int64.
func (o *jsonObject) int(e *errs, key string, required bool) (int64, bool) {
	if !o.has(key) {
		if required {
			e.add(o.pos, key, "required field is missing")
		}
		return 0, false
	}
	f := o.fields[key]
	var n json.Number
	// json.Number also accepts a quoted number; a config must not.
	if c := f.raw[0]; c == '"' || json.Unmarshal(f.raw, &n) != nil {
		e.add(f.pos, key, "want an integer, got %s", f.raw)
		return 0, false
	}
	v, err := n.Int64()
	if err != nil {
		fv, ferr := n.Float64()
		if ferr != nil || fv != math.Trunc(fv) || math.Abs(fv) > 1<<53 {
			e.add(f.pos, key, "want an integer, got %s", f.raw)
			return 0, false
		}
		v = int64(fv)
	}
	return v, true
}

// str reads key as a string.
func (o *jsonObject) str(e *errs, key string, required bool) (string, bool) {
	if !o.has(key) {
		if required {
			e.add(o.pos, key, "required field is missing")
		}
		return "", false
	}
	f := o.fields[key]
	var s string
	if err := json.Unmarshal(f.raw, &s); err != nil {
		e.add(f.pos, key, "want a string, got %s", f.raw)
		return "", false
	}
	return s, true
}

// boolean reads key as a boolean, returning def when absent or null.
func (o *jsonObject) boolean(e *errs, key string, def bool) bool {
	if !o.has(key) {
		return def
	}
	f := o.fields[key]
	var b bool
	if err := json.Unmarshal(f.raw, &b); err != nil {
		e.add(f.pos, key, "want true or false, got %s", f.raw)
		return def
	}
	return b
}

// child parses key's value as a nested object with positions.
func (o *jsonObject) child(e *errs, key string) *jsonObject {
	if !o.has(key) {
		return nil
	}
	f := o.fields[key]
	c, err := o.src.object(f.at, f.raw)
	if err != nil {
		e.list = append(e.list, err)
		return nil
	}
	return c
}
