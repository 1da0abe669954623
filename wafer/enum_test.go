package wafer

import (
	"fmt"
	"slices"
	"testing"
)

// TestEnumNames pins the names of the enums of topology_enum.go and
// route_enum.go and checks that every value's String parses back to it,
// that the values past the last and below the first print as unknown and
// that an unknown name fails with the names in the error.
func TestEnumNames(t *testing.T) {
	tests := []struct {
		name      string
		got, want []string
		roundTrip func(t *testing.T)
	}{
		{"Dir", DirNames(), []string{"N", "E", "S", "W"},
			roundTrip(ParseDir, 4, `unknown direction "bogus" (want N, E, S or W)`)},
		{"Routing", RoutingNames(), []string{"xy", "yx"},
			roundTrip(ParseRouting, 2, `unknown routing "bogus" (want xy or yx)`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Equal(tc.got, tc.want) {
				t.Errorf("names %q, want %q", tc.got, tc.want)
			}
			tc.roundTrip(t)
		})
	}
}

// roundTrip checks the n values of an enum: String then parse gives the
// value back; n and -1 print as T(n) and T(-1) and do not parse; parsing
// "bogus" fails with bogusErr.
func roundTrip[T interface {
	~int8
	String() string
}](parse func(string) (T, error), n T, bogusErr string) func(t *testing.T) {
	return func(t *testing.T) {
		for v := T(0); v < n; v++ {
			if got, err := parse(v.String()); err != nil || got != v {
				t.Errorf("parse(%q) = %d, %v; want %d", v.String(), got, err, v)
			}
		}
		for _, v := range []T{n, -1} {
			if want := fmt.Sprintf("%T(%d)", v, v); "wafer."+v.String() != want {
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
}
