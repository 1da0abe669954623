package jsonpos

import (
	"errors"
	"math"
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
	elems := o.Array(e, "list", true)
	if len(elems) != 2 || elems[0].Pos.Line != 4 || elems[0].Pos.Col != 5 || elems[1].Pos.Line != 5 || elems[1].Path != "list[1]" {
		t.Errorf("elements %v", elems)
	}
	if x := elems[1].Object(e); x == nil || x.FieldPos("x").Line != 5 || x.FieldPos("x").Col != 6 {
		t.Errorf("element object %+v", x)
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
		{"{\"a\" 1}", "f.json:1:6: malformed JSON: "},
		{"{\"a\"1}", "f.json:1:5: malformed JSON: "},
		{"\x08\x07", "f.json:1:1: malformed JSON: invalid character '\\b'"},
		{"{\"a\": tru}", "f.json:1:10: malformed JSON: invalid character '}'"},
		{"{\"a\": [1,\n tru]}", "f.json:2:5: malformed JSON: invalid character ']'"},
		{"{\"a\": 1 \"b\": 2}", "f.json:1:9: malformed JSON: invalid character '\"' after object key:value pair"},
		{"[]", "want a JSON object"},
		{"\n  [1]\n", "f.json:2:3: want a JSON object, got [1]"},
		{`"` + strings.Repeat("é", 30) + `"`, `got "` + strings.Repeat("é", 19) + "…"},
		{"{\"a\": 1, \"a\": 2}", "duplicate key"},
		{"{} x", "f.json:1:4: unexpected data after"},
		{"{}\n {}", "f.json:2:2: unexpected data after"},
	}
	for _, tc := range tests {
		_, err := Parse("f.json", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.src, err, tc.want)
		}
	}
}

// TestNumbersAndNesting: each problem names the full path and the position
// of the value at fault.
func TestNumbersAndNesting(t *testing.T) {
	src := `{"a": {"b": [1, 2.5, "3", 1e3, 1e300, null, -0, 9223372036854775808]}, "n": null, "s": null, "arr": 5, "o": [1]}`
	// elem reads element i of a.b as an integer in [lo, hi].
	elem := func(i int, lo, hi int64) func(*Object, *Errs) any {
		return func(o *Object, e *Errs) any {
			v, _ := o.Child(e, "a").Array(e, "b", true)[i].IntIn(e, lo, hi)
			return v
		}
	}
	const any64 = math.MaxInt64
	tests := []struct {
		name string
		run  func(o *Object, e *Errs) any
		want string // "" for no error
		val  any
	}{
		{"int", elem(0, math.MinInt64, any64), "", int64(1)},
		{"fraction", elem(1, math.MinInt64, any64), "x.json:1:17: a.b[1]: want an integer, got 2.5", int64(0)},
		{"quoted", elem(2, math.MinInt64, any64), `a.b[2]: want an integer, got "3"`, int64(0)},
		{"exponent", elem(3, math.MinInt64, any64), "", int64(1000)},
		{"huge", elem(4, math.MinInt64, any64), "a.b[4]: 1e300 is outside the 64-bit integer range", int64(0)},
		{"null element", elem(5, math.MinInt64, any64), "a.b[5]: want an integer, got null", int64(0)},
		{"minus zero", elem(6, math.MinInt64, any64), "", int64(0)},
		{"past int64", elem(7, math.MinInt64, any64), "outside the 64-bit integer range", int64(0)},
		{"in range", elem(3, 1, 1000), "", int64(1000)},
		{"above range", elem(3, 1, 999), "a.b[3]: 1000 exceeds the limit of 999", int64(0)},
		{"zero not positive", elem(6, 1, 9), "a.b[6]: must be positive, got 0", int64(0)},
		{"zero not negative", elem(6, 0, 9), "", int64(0)},
		{"below minimum", elem(0, 2, 9), "a.b[0]: must be at least 2, got 1", int64(0)},
		{"null required", func(o *Object, e *Errs) any { v, _ := o.Int(e, "n", true); return v }, "x.json:1:72: n: want an integer, got null", int64(0)},
		{"null optional", func(o *Object, e *Errs) any { v, _ := o.Str(e, "s", false); return v }, "", ""},
		{"not an array", func(o *Object, e *Errs) any { return len(o.Array(e, "arr", true)) }, "arr: want an array, got 5", 0},
		{"element not an object", func(o *Object, e *Errs) any { return o.Array(e, "o", true)[0].Object(e) == nil }, "o[0]: want a JSON object, got 1", true},
		{"unknown", func(o *Object, e *Errs) any { o.Unknown(e, "a", "n", "s", "arr"); return 0 }, "x.json:1:104: o: unknown field", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, perr := Parse("x.json", []byte(src))
			if perr != nil {
				t.Fatal(perr)
			}
			e := &Errs{File: "x.json"}
			got := tc.run(o, e)
			err := e.Err()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if got != tc.val {
				t.Errorf("value %v, want %v", got, tc.val)
			}
		})
	}
}

func TestNestedDuplicateKey(t *testing.T) {
	o, perr := Parse("x.json", []byte("{\"a\": {\"k\": 1,\n \"k\": 2}}"))
	if perr != nil {
		t.Fatal(perr)
	}
	e := &Errs{}
	if o.Child(e, "a") != nil || !strings.Contains(e.Err().Error(), "x.json:2:2: a.k: duplicate key") {
		t.Errorf("nested duplicate: %v", e.Err())
	}
}

func TestErrsDropsRepeats(t *testing.T) {
	e := &Errs{File: "x.json"}
	for i := 0; i < 2; i++ {
		e.Add(Pos{Line: 3, Col: 1}, "n_head", "must be positive")
	}
	var list ErrorList
	if !errors.As(e.Err(), &list) || len(list) != 1 || !e.Reported("n_head") || e.Reported("n_embd") {
		t.Errorf("got %v", e.Err())
	}
}
