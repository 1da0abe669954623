package jsonpos

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in an input file; Line and Col count from 1 (Col in
// bytes). A zero Line means the whole file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	f := p.File
	if f == "" {
		f = "<input>"
	}
	if p.Line == 0 {
		return f
	}
	return fmt.Sprintf("%s:%d:%d", f, p.Line, p.Col)
}

// Error is one problem in an input, at a position, concerning a field (a
// JSON key path such as "num_attention_heads" or "ops[3].inputs").
type Error struct {
	Pos   Pos
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%v: %s", e.Pos, e.Msg)
	}
	return fmt.Sprintf("%v: %s: %s", e.Pos, e.Field, e.Msg)
}

// ErrorList is every problem found in one input, sorted by position.
// Readers collect problems rather than stopping at the first.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n\t")
}

// Sort orders by line, column, then message, for deterministic output.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return l[i].Error() < l[j].Error()
	})
}

// dedup drops repeats of the same message at the same position, which
// arise when two derived checks land on one field (GPT-2's n_head is both
// the query and the key/value head count). l must be sorted.
func (l ErrorList) dedup() ErrorList {
	out := l[:0]
	for i, e := range l {
		if i == 0 || e.Error() != l[i-1].Error() {
			out = append(out, e)
		}
	}
	return out
}

// Errs accumulates the problems of one file.
type Errs struct {
	// File names the input in positions that lack one.
	File string
	// Prefix starts the message of the error Err returns, e.g. "frontend".
	Prefix string
	List   ErrorList
}

// Add records a problem at pos concerning field.
func (e *Errs) Add(pos Pos, field, format string, args ...any) {
	if pos.File == "" {
		pos.File = e.File
	}
	e.List = append(e.List, &Error{Pos: pos, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Append records an already positioned problem.
func (e *Errs) Append(err *Error) { e.List = append(e.List, err) }

// Reported tells whether a problem concerning field was recorded, so that
// checks derived from a field already at fault can stay quiet.
func (e *Errs) Reported(field string) bool {
	for _, x := range e.List {
		if x.Field == field {
			return true
		}
	}
	return false
}

// Len is the number of problems recorded.
func (e *Errs) Len() int { return len(e.List) }

// Err returns nil when no problem was recorded, else the sorted ErrorList
// wrapped with Prefix (errors.As finds the list).
func (e *Errs) Err() error {
	if len(e.List) == 0 {
		return nil
	}
	e.List.Sort()
	e.List = e.List.dedup()
	if e.Prefix == "" {
		return e.List
	}
	return fmt.Errorf("%s: %w", e.Prefix, e.List)
}
