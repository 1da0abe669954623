package plan

import (
	"bytes"
	"strings"
	"testing"
)

// TestReadJSONAmplification: a plan file of empty objects, which would
// decode to some 70 times its size, is refused before decoding, with the
// count and the estimate; the valid plan, with braces in its strings, is
// read.
func TestReadJSONAmplification(t *testing.T) {
	p := validPlan()
	p.Model = `m{{{"\"{` // braces in strings are not objects
	var b bytes.Buffer
	if err := WriteJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	valid := b.Bytes()
	if _, err := ReadJSON("valid.json", valid); err != nil {
		t.Fatalf("the valid plan: %v", err)
	}
	i := bytes.Index(valid, []byte(`"tasks":[`)) + len(`"tasks":[`)
	empty := append(append(append([]byte{}, valid[:i]...), bytes.Repeat([]byte("{},"), 100000)...), valid[i:]...)
	_, err := ReadJSON("empty.json", empty)
	const want = "plan: empty.json: 100012 JSON objects in 301 kB, more than a plan holds (at most one per 24 bytes"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("empty objects: %v, want an error containing %q", err, want)
	}
	for _, c := range []struct {
		text string
		want int64
	}{{`{}`, 1}, {`{"a":"{"}`, 1}, {`{"a":"\"{"}`, 1}, {`{"a":"\\"}{`, 2}, {`[{},{},{}]`, 3}} {
		if got := countObjects([]byte(c.text)); got != c.want {
			t.Errorf("countObjects(%s) = %d, want %d", c.text, got, c.want)
		}
	}
}
