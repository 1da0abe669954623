package plan

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// TestKindNames pins the names of the task kinds (the plan JSON spells
// them so) and checks that every kind's String parses back to it, that it
// goes through JSON as its name and back, and that unknown names and
// values fail.
func TestKindNames(t *testing.T) {
	want := []string{"compute", "transfer", "send", "recv"}
	if got := KindNames(); !slices.Equal(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
	for i, name := range want {
		k := Kind(i)
		if got, err := ParseKind(k.String()); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %d, %v; want %d", k.String(), got, err, k)
		}
		js, err := json.Marshal(Task{Kind: k})
		var back Task
		if err != nil || json.Unmarshal(js, &back) != nil || back.Kind != k {
			t.Errorf("%s: JSON %s, %v, back %v", name, js, err, back.Kind)
		}
	}
	unknown := Kind(len(want))
	if got := unknown.String(); got != fmt.Sprintf("Kind(%d)", len(want)) {
		t.Errorf("unknown kind prints as %q", got)
	}
	if _, err := json.Marshal(Task{Kind: unknown}); err == nil {
		t.Errorf("a task of kind %v marshals", unknown)
	}
	const bogusErr = `unknown task kind "bogus" (want compute, transfer, send or recv)`
	if _, err := ParseKind("bogus"); err == nil || err.Error() != bogusErr {
		t.Errorf("ParseKind(bogus): %v, want %s", err, bogusErr)
	}
}
