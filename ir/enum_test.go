package ir

import (
	"fmt"
	"slices"
	"testing"
)

// TestEnumNames pins the names of the enums of types_enum.go (the graph
// JSON spells values so) and checks that every value's String parses back
// to it, that the count sentinel prints as unknown and that its name does
// not parse.
func TestEnumNames(t *testing.T) {
	tests := []struct {
		name      string
		got, want []string
		roundTrip func(t *testing.T)
	}{
		{"DType", DTypeNames(), []string{"bf16", "fp16", "fp32", "int32"}, roundTrip(ParseDType, numDTypes)},
		{"Role", RoleNames(), []string{"input", "activation", "actgrad", "weight", "gradient", "optstate", "boundary"}, roundTrip(ParseRole, numRoles)},
		{"Phase", PhaseNames(), []string{"fwd", "bwd", "opt"}, roundTrip(ParsePhase, numPhases)},
		{"Kind", KindNames(), []string{"matmul", "attention", "elementwise", "norm", "softmax", "embedding", "loss", "adam"},
			roundTrip(ParseKind, numKinds)},
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

// roundTrip checks the values below n of an enum: String then parse gives
// the value back; n itself prints as T(n) and does not parse.
func roundTrip[T interface {
	~uint8
	String() string
}](parse func(string) (T, bool), n T) func(t *testing.T) {
	return func(t *testing.T) {
		for v := T(0); v < n; v++ {
			if got, ok := parse(v.String()); !ok || got != v {
				t.Errorf("parse(%q) = %d, %v; want %d", v.String(), got, ok, v)
			}
		}
		if want := fmt.Sprintf("%T(%d)", n, n); "ir."+n.String() != want {
			t.Errorf("value %d prints as %q, want %q", n, n.String(), want)
		}
		if _, ok := parse(n.String()); ok {
			t.Errorf("parse(%q) succeeds", n.String())
		}
	}
}
