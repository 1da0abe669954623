package ilp

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// TestEnumNames pins the names of Status (solve reports in JSON spell it
// so) and Objective (tempc solve --objective) and checks that every
// value's String parses back to it, that a Status goes through JSON as its
// name and back, and that unknown names and values fail.
func TestEnumNames(t *testing.T) {
	t.Run("Status", func(t *testing.T) {
		want := []string{"optimal", "time-limit", "infeasible", "unbounded", "failed", "gap-limit"}
		if got := StatusNames(); !slices.Equal(got, want) {
			t.Errorf("names %q, want %q", got, want)
		}
		for i, name := range want {
			s := Status(i)
			if got, err := ParseStatus(s.String()); err != nil || got != s {
				t.Errorf("ParseStatus(%q) = %d, %v; want %d", s.String(), got, err, s)
			}
			js, err := json.Marshal(s)
			var back Status
			if err != nil || string(js) != fmt.Sprintf("%q", name) || json.Unmarshal(js, &back) != nil || back != s {
				t.Errorf("%s: JSON %s, %v, back %v", name, js, err, back)
			}
		}
		if _, err := json.Marshal(Status(len(want))); err == nil {
			t.Error("an unknown status marshals")
		}
		checkUnknown(t, Status(len(want)), ParseStatus, `unknown status "bogus" (want optimal, time-limit, infeasible, unbounded, failed or gap-limit)`)
	})
	t.Run("Objective", func(t *testing.T) {
		want := []string{"time", "energy"}
		if got := ObjectiveNames(); !slices.Equal(got, want) {
			t.Errorf("names %q, want %q", got, want)
		}
		for i := range want {
			o := Objective(i)
			if got, err := ParseObjective(o.String()); err != nil || got != o {
				t.Errorf("ParseObjective(%q) = %d, %v; want %d", o.String(), got, err, o)
			}
		}
		checkUnknown(t, Objective(len(want)), ParseObjective, `unknown objective "bogus" (want time or energy)`)
	})
}

// checkUnknown checks that the value n past an enum's last, and -1, print
// as T(n) and T(-1) and do not parse, and that parsing "bogus" fails with
// bogusErr.
func checkUnknown[T interface {
	~int
	String() string
}](t *testing.T, n T, parse func(string) (T, error), bogusErr string) {
	t.Helper()
	for _, v := range []T{n, -1} {
		if want := fmt.Sprintf("%T(%d)", v, v); "ilp."+v.String() != want {
			t.Errorf("value %d prints as %q, want %q", v, v.String(), want)
		}
		if _, err := parse(v.String()); err == nil {
			t.Errorf("parse(%q) succeeds", v.String())
		}
	}
	if _, err := parse("bogus"); err == nil || err.Error() != bogusErr {
		t.Errorf("parse(bogus): %v, want %s", err, bogusErr)
	}
}
