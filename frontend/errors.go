package frontend

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

// ErrorList is every problem found in one input, sorted by position. Readers
// collect problems rather than stopping at the first.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return "frontend: " + strings.Join(msgs, "\n\t")
}

// sortErrors orders by line, column, then message, for deterministic output.
func (l ErrorList) sort() {
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

// errs accumulates problems for one file.
type errs struct {
	file string
	list ErrorList
}

func (e *errs) add(pos Pos, field, format string, args ...any) {
	if pos.File == "" {
		pos.File = e.file
	}
	e.list = append(e.list, &Error{Pos: pos, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// err returns the sorted list as an error, or nil when empty.
func (e *errs) err() error {
	if len(e.list) == 0 {
		return nil
	}
	e.list.sort()
	return e.list
}
