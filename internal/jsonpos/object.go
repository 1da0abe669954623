// Package jsonpos reads JSON while remembering where every value was, so
// that readers of user files can report problems as file:line:col with the
// field at fault, and collect all problems of a file instead of the first.
package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Source is one JSON document; it maps byte offsets of one JSON document to line:column.
type Source struct {
	file string
	data []byte
	// lines holds the offset at which each line starts, built on first use.
	lines []int
}

// Pos converts a byte offset into a position.
func (s *Source) Pos(offset int64) Pos {
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

// SyntaxError turns a decoding error into a positioned Error.
func (s *Source) SyntaxError(err error, at int64) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &Error{Pos: s.Pos(se.Offset), Msg: "malformed JSON: " + se.Error()}
	case errors.As(err, &te):
		return &Error{Pos: s.Pos(te.Offset), Field: te.Field, Msg: fmt.Sprintf("want %v, got JSON %s", te.Type, te.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &Error{Pos: s.Pos(int64(len(s.data))), Msg: "malformed JSON: unexpected end of input (truncated file?)"}
	default:
		return &Error{Pos: s.Pos(at), Msg: "malformed JSON: " + err.Error()}
	}
}

// Field is one member of a JSON object: its raw value and the position
// of its key.
type Field struct {
	Key string
	Raw json.RawMessage
	Pos Pos
	// At is the byte offset of the value in the source.
	At int64
}

// Object is a JSON object whose members remember where they were.
type Object struct {
	Src    *Source
	Pos    Pos
	Fields map[string]*Field
	Keys   []string // in file order
}

// Parse reads data, which must hold exactly one JSON object, keeping
// the position of every top-level key. Nested values stay raw.
func Parse(file string, data []byte) (*Object, *Error) {
	src := &Source{file: file, data: data}
	return src.object(0, data)
}

// object parses the object in data, found at byte offset base of src.
func (s *Source) object(base int64, data []byte) (*Object, *Error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, s.SyntaxError(err, base)
	}
	start := base + dec.InputOffset() - 1
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &Error{Pos: s.Pos(base), Msg: fmt.Sprintf("want a JSON object, got %v", tok)}
	}
	o := &Object{Src: s, Pos: s.Pos(start), Fields: map[string]*Field{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, s.SyntaxError(err, base+dec.InputOffset())
		}
		key := tok.(string) // object keys are always strings once Token succeeds
		keyPos := s.Pos(s.keyStart(base + dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, s.SyntaxError(adjust(err, base), base+dec.InputOffset())
		}
		if prev, dup := o.Fields[key]; dup {
			return nil, &Error{Pos: keyPos, Field: key, Msg: fmt.Sprintf("duplicate key (first at line %d)", prev.Pos.Line)}
		}
		at := base + dec.InputOffset() - int64(len(raw))
		o.Fields[key] = &Field{Key: key, Raw: raw, Pos: keyPos, At: at}
		o.Keys = append(o.Keys, key)
	}
	if _, err := dec.Token(); err != nil {
		return nil, s.SyntaxError(adjust(err, base), base+dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Pos: s.Pos(base + dec.InputOffset()), Msg: "unexpected data after the JSON object"}
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
func (s *Source) keyStart(end int64) int64 {
	i := end - 2
	for i > 0 && !(s.data[i] == '"' && s.data[i-1] != '\\') {
		i--
	}
	return i
}

// Has reports whether key is present and not null.
func (o *Object) Has(key string) bool {
	f, ok := o.Fields[key]
	return ok && string(f.Raw) != "null"
}

// FieldPos is the position of key, or of the object when key is absent.
func (o *Object) FieldPos(key string) Pos {
	if f, ok := o.Fields[key]; ok {
		return f.Pos
	}
	return o.Pos
}

// Int reads key as an integer. It reports absent required keys, non-integers
// and values outside int64.
func (o *Object) Int(e *Errs, key string, required bool) (int64, bool) {
	if !o.Has(key) {
		if required {
			e.Add(o.Pos, key, "required field is missing")
		}
		return 0, false
	}
	f := o.Fields[key]
	var n json.Number
	// json.Number also accepts a quoted number; a config must not.
	if c := f.Raw[0]; c == '"' || json.Unmarshal(f.Raw, &n) != nil {
		e.Add(f.Pos, key, "want an integer, got %s", f.Raw)
		return 0, false
	}
	v, err := n.Int64()
	if err != nil {
		fv, ferr := n.Float64()
		if ferr != nil || fv != math.Trunc(fv) || math.Abs(fv) > 1<<53 {
			e.Add(f.Pos, key, "want an integer, got %s", f.Raw)
			return 0, false
		}
		v = int64(fv)
	}
	return v, true
}

// Str reads key as a string.
func (o *Object) Str(e *Errs, key string, required bool) (string, bool) {
	if !o.Has(key) {
		if required {
			e.Add(o.Pos, key, "required field is missing")
		}
		return "", false
	}
	f := o.Fields[key]
	var s string
	if err := json.Unmarshal(f.Raw, &s); err != nil {
		e.Add(f.Pos, key, "want a string, got %s", f.Raw)
		return "", false
	}
	return s, true
}

// Bool reads key as a boolean, returning def when absent or null.
func (o *Object) Bool(e *Errs, key string, def bool) bool {
	if !o.Has(key) {
		return def
	}
	f := o.Fields[key]
	var b bool
	if err := json.Unmarshal(f.Raw, &b); err != nil {
		e.Add(f.Pos, key, "want true or false, got %s", f.Raw)
		return def
	}
	return b
}

// Child parses key's value as a nested object with positions.
func (o *Object) Child(e *Errs, key string) *Object {
	if !o.Has(key) {
		return nil
	}
	f := o.Fields[key]
	c, err := o.Src.object(f.At, f.Raw)
	if err != nil {
		e.Append(err)
		return nil
	}
	return c
}

// Elements returns the position of each element of the array under key,
// reporting a missing key.
func (o *Object) Elements(e *Errs, key string) []Pos {
	f, ok := o.Fields[key]
	if !ok {
		e.Add(o.Pos, key, "required field is missing")
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(f.Raw))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	var pos []Pos
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			break
		}
		pos = append(pos, o.Src.Pos(f.At+dec.InputOffset()-int64(len(raw))))
	}
	return pos
}
