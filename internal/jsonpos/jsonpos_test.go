package jsonpos

import (
	"errors"
	"strings"
	"testing"
)

func TestPositionsOfKeysAndElements(t *testing.T) {
	src := "{\n  \"a\": 1,\n  \"list\": [\n    {\"x\": 1},\n    {\"x\": 2}\n  ],\n  \"obj\": {\"k\": \"v\"}\n}"
	o, err := Parse("f.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p := o.FieldPos("a"); p.Line != 2 || p.Col != 3 {
		t.Errorf("a at %v", p)
	}
	e := &Errs{File: "f.json", Prefix: "test"}
	pos := o.Elements(e, "list")
	if len(pos) != 2 || pos[0].Line != 4 || pos[0].Col != 5 || pos[1].Line != 5 {
		t.Errorf("elements at %v", pos)
	}
	child := o.Child(e, "obj")
	if child == nil || child.FieldPos("k").Line != 7 {
		t.Errorf("child key at %v", child.FieldPos("k"))
	}
	if v, ok := o.Int(e, "a", true); !ok || v != 1 {
		t.Error("Int")
	}
	o.Int(e, "missing", true)
	o.Str(e, "a", false) // a number, not a string
	err2 := e.Err()
	var list ErrorList
	if !errors.As(err2, &list) || len(list) != 2 || !strings.HasPrefix(err2.Error(), "test: f.json:") {
		t.Errorf("errors: %v", err2)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"{\"a\": 1,", "f.json:1:9: malformed JSON: unexpected end of input"},
		{"{\"a\" 1}", "f.json:1:"},
		{"[]", "want a JSON object"},
		{"{\"a\": 1, \"a\": 2}", "duplicate key"},
		{"{} x", "unexpected data after"},
	}
	for _, tc := range tests {
		_, err := Parse("f.json", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.src, err, tc.want)
		}
	}
}
