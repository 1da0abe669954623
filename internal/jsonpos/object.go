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
	"strconv"
	"strings"
	"unicode/utf8"
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
		return s.syntaxError(se)
	case errors.As(err, &te):
		return &Error{Pos: s.Pos(te.Offset), Field: te.Field, Msg: fmt.Sprintf("want %v, got JSON %s", te.Type, te.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &Error{Pos: s.Pos(int64(len(s.data))), Msg: "malformed JSON: unexpected end of input (truncated file?)"}
	default:
		return &Error{Pos: s.Pos(at), Msg: "malformed JSON: " + err.Error()}
	}
}

// syntaxError positions a syntax error at the byte it is about. A
// Decoder's offsets leave out the bytes its tokenizer consumed, so the
// whole document is scanned again, whose error offset counts every byte up
// to and including the offending one.
func (s *Source) syntaxError(se *json.SyntaxError) *Error {
	var raw json.RawMessage
	var whole *json.SyntaxError
	if !errors.As(json.Unmarshal(s.data, &raw), &whole) {
		return &Error{Pos: s.Pos(se.Offset), Msg: "malformed JSON: " + se.Error()}
	}
	if whole.Offset >= int64(len(s.data)) && strings.HasPrefix(whole.Error(), "unexpected end") {
		return &Error{Pos: s.Pos(int64(len(s.data))), Msg: "malformed JSON: unexpected end of input (truncated file?)"}
	}
	return &Error{Pos: s.Pos(max(whole.Offset-1, 0)), Msg: "malformed JSON: " + whole.Error()}
}

// Field is one member of a JSON object or one element of a JSON array:
// its raw value and where it is.
type Field struct {
	// Key is the member's key ("" for an array element).
	Key string
	// Path names the value in messages: "n_embd", "ops[3].matmul.m",
	// "tensors[0].shape[2]".
	Path string
	Raw  json.RawMessage
	// Pos is the position of the key, or of the value for an array element.
	Pos Pos
	// At is the byte offset of the value in the source.
	At  int64
	src *Source
}

// Object is a JSON object whose members remember where they were.
type Object struct {
	Src *Source
	Pos Pos
	// Path names the object in messages ("" for the top level, "ops[3]").
	Path   string
	Fields map[string]*Field
	Keys   []string // in file order
}

// Parse reads data, which must hold exactly one JSON object, keeping
// the position of every top-level key. Nested values stay raw.
func Parse(file string, data []byte) (*Object, *Error) {
	src := &Source{file: file, data: data}
	return src.object(0, data, "")
}

// object parses the object in data, found at byte offset base of src and
// named path in messages.
func (s *Source) object(base int64, data []byte, path string) (*Object, *Error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, s.SyntaxError(adjust(err, base), base)
	}
	start := base + dec.InputOffset() - 1
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &Error{Pos: s.Pos(base + skipSpace(data, 0)), Field: path, Msg: "want a JSON object, got " + Short(data)}
	}
	o := &Object{Src: s, Pos: s.Pos(start), Path: path, Fields: map[string]*Field{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, s.SyntaxError(adjust(err, base), base+dec.InputOffset())
		}
		key := tok.(string) // object keys are always strings once Token succeeds
		keyPos := s.Pos(s.keyStart(base + dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, s.SyntaxError(adjust(err, base), base+dec.InputOffset())
		}
		if prev, dup := o.Fields[key]; dup {
			return nil, &Error{Pos: keyPos, Field: o.path(key), Msg: fmt.Sprintf("duplicate key (first at line %d)", prev.Pos.Line)}
		}
		at := base + dec.InputOffset() - int64(len(raw))
		o.Fields[key] = &Field{Key: key, Path: o.path(key), Raw: raw, Pos: keyPos, At: at, src: s}
		o.Keys = append(o.Keys, key)
	}
	if _, err := dec.Token(); err != nil {
		return nil, s.SyntaxError(adjust(err, base), base+dec.InputOffset())
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Pos: s.Pos(base + skipSpace(data, end)), Msg: "unexpected data after the JSON object"}
	}
	return o, nil
}

// skipSpace returns the offset of the first byte at or after i in data
// that is not JSON white space.
func skipSpace(data []byte, i int64) int64 {
	for i < int64(len(data)) && bytes.IndexByte([]byte(" \t\r\n"), data[i]) >= 0 {
		i++
	}
	return i
}

// path is the message name of member key.
func (o *Object) path(key string) string {
	if o.Path == "" {
		return key
	}
	return o.Path + "." + key
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

// Short is raw for a message: without surrounding space, cut to its first
// 40 bytes (at a character boundary).
func Short(raw []byte) string {
	const max = 40
	raw = bytes.TrimSpace(raw)
	if len(raw) <= max {
		return string(raw)
	}
	n := max
	for n > 0 && !utf8.RuneStart(raw[n]) {
		n--
	}
	return string(raw[:n]) + "…"
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

// lookup returns key's member when it holds a value. An absent key, or
// one set to null, is reported when required (null at its own position).
func (o *Object) lookup(e *Errs, key string, required bool, want string) (*Field, bool) {
	f, ok := o.Fields[key]
	switch {
	case ok && string(f.Raw) != "null":
		return f, true
	case required && ok:
		e.Add(f.Pos, f.Path, "want %s, got null", want)
	case required:
		e.Add(o.Pos, o.path(key), "required field is missing")
	}
	return nil, false
}

// Int reads key as an integer. It reports absent (or null) required keys,
// non-integers and values outside int64; an integral number written with a
// fraction or exponent (4096.0, 1e3) is accepted.
func (o *Object) Int(e *Errs, key string, required bool) (int64, bool) {
	f, ok := o.lookup(e, key, required, "an integer")
	if !ok {
		return 0, false
	}
	return f.Int(e)
}

// Int reads the value as an integer (see Object.Int).
func (f *Field) Int(e *Errs) (int64, bool) {
	// Only a bare JSON number is an integer: a quoted "4096" is not.
	if c := f.Raw[0]; c != '-' && (c < '0' || c > '9') {
		e.Add(f.Pos, f.Path, "want an integer, got %s", Short(f.Raw))
		return 0, false
	}
	s := string(f.Raw)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, true
	}
	fv, err := strconv.ParseFloat(s, 64)
	switch {
	case err == nil && fv == math.Trunc(fv) && fv >= math.MinInt64 && fv < math.MaxInt64:
		return int64(fv), true
	case err != nil || fv == math.Trunc(fv):
		e.Add(f.Pos, f.Path, "%s is outside the 64-bit integer range", Short(f.Raw))
	default:
		e.Add(f.Pos, f.Path, "want an integer, got %s", Short(f.Raw))
	}
	return 0, false
}

// Str reads key as a string.
func (o *Object) Str(e *Errs, key string, required bool) (string, bool) {
	f, ok := o.lookup(e, key, required, "a string")
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(f.Raw, &s); err != nil {
		e.Add(f.Pos, f.Path, "want a string, got %s", Short(f.Raw))
		return "", false
	}
	return s, true
}

// Bool reads key as a boolean, returning def when absent or null.
func (o *Object) Bool(e *Errs, key string, def bool) bool {
	f, ok := o.lookup(e, key, false, "")
	if !ok {
		return def
	}
	var b bool
	if err := json.Unmarshal(f.Raw, &b); err != nil {
		e.Add(f.Pos, f.Path, "want true or false, got %s", Short(f.Raw))
		return def
	}
	return b
}

// Child parses key's value as a nested object with positions; nil when it
// is absent, null or not an object (reported).
func (o *Object) Child(e *Errs, key string) *Object {
	f, ok := o.lookup(e, key, false, "")
	if !ok {
		return nil
	}
	return f.Object(e)
}

// Object parses the value as an object with positions, or reports why not
// and returns nil.
func (f *Field) Object(e *Errs) *Object {
	c, err := f.src.object(f.At, f.Raw, f.Path)
	if err != nil {
		e.Append(err)
		return nil
	}
	return c
}

// Array returns the elements of the array under key, each with its own
// position and path (key[i]). An absent, null (when required) or non-array
// value is reported and gives nil.
func (o *Object) Array(e *Errs, key string, required bool) []*Field {
	f, ok := o.lookup(e, key, required, "an array")
	if !ok {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(f.Raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		e.Add(f.Pos, f.Path, "want an array, got %s", Short(f.Raw))
		return nil
	}
	var elems []*Field
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			panic(err) // f.Raw was decoded once already, so it is valid JSON
		}
		at := f.At + dec.InputOffset() - int64(len(raw))
		elems = append(elems, &Field{Path: fmt.Sprintf("%s[%d]", f.Path, len(elems)), Raw: raw,
			Pos: o.Src.Pos(at), At: at, src: o.Src})
	}
	return elems
}

// Unknown reports every key of o that is not one of known.
func (o *Object) Unknown(e *Errs, known ...string) {
	for _, k := range o.Keys {
		found := false
		for _, n := range known {
			found = found || k == n
		}
		if !found {
			e.Add(o.Fields[k].Pos, o.path(k), "unknown field (known: %s)", strings.Join(known, ", "))
		}
	}
}

// IntIn reads key as an integer in [lo, hi], reporting one outside.
func (o *Object) IntIn(e *Errs, key string, required bool, lo, hi int64) (int64, bool) {
	f, ok := o.lookup(e, key, required, "an integer")
	if !ok {
		return 0, false
	}
	return f.IntIn(e, lo, hi)
}

// IntIn reads the value as an integer in [lo, hi], reporting one outside.
func (f *Field) IntIn(e *Errs, lo, hi int64) (int64, bool) {
	v, ok := f.Int(e)
	switch {
	case !ok:
	case v < lo && lo == 1:
		e.Add(f.Pos, f.Path, "must be positive, got %d", v)
	case v < lo && lo == 0:
		e.Add(f.Pos, f.Path, "must not be negative, got %d", v)
	case v < lo:
		e.Add(f.Pos, f.Path, "must be at least %d, got %d", lo, v)
	case v > hi:
		e.Add(f.Pos, f.Path, "%d exceeds the limit of %d", v, hi)
	default:
		return v, true
	}
	return 0, false
}
