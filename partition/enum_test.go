package partition

import (
	"fmt"
	"slices"
	"testing"
)

// TestEnumNames pins the names of the enums of layout_enum.go and
// space_enum.go (flags, layout names and reports spell values so) and
// checks that every value's String parses back to it, that the value past
// the last prints as unknown and that an unknown name fails with the
// names in the error.
func TestEnumNames(t *testing.T) {
	tests := []struct {
		name      string
		got, want []string
		roundTrip func(t *testing.T)
	}{
		{"Recompute", RecomputeNames(), []string{"none", "selective", "full"},
			roundTrip(ParseRecompute, NumRecompute, `unknown recompute mode "bogus" (want none, selective or full)`)},
		{"Act", ActNames(), []string{"R", "S", "C"},
			roundTrip(ParseAct, NumActs, `unknown activation layout "bogus" (want R, S or C)`)},
		{"Scheme", SchemeNames(), []string{"megatron-col", "megatron-row", "sp-col", "sp-row", "fsdp", "ring-w", "ring-x",
			"relay-w", "relay-x", "heads", "ring-seq", "vocab", "vocab-sp", "batch", "ring-y", "relay-y", "fsdp-keep"},
			roundTrip(ParseScheme, numSchemes, `unknown scheme "bogus" (want megatron-col, megatron-row, sp-col, sp-row, `+
				`fsdp, ring-w, ring-x, relay-w, relay-x, heads, ring-seq, vocab, vocab-sp, batch, ring-y, relay-y or fsdp-keep)`)},
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
// the value back; n itself prints as T(n) and does not parse; parsing
// "bogus" fails with bogusErr.
func roundTrip[T interface {
	~uint8
	String() string
}](parse func(string) (T, error), n T, bogusErr string) func(t *testing.T) {
	return func(t *testing.T) {
		for v := T(0); v < n; v++ {
			if got, err := parse(v.String()); err != nil || got != v {
				t.Errorf("parse(%q) = %d, %v; want %d", v.String(), got, err, v)
			}
		}
		if want := fmt.Sprintf("%T(%d)", n, n); "partition."+n.String() != want {
			t.Errorf("value %d prints as %q, want %q", n, n.String(), want)
		}
		if _, err := parse(n.String()); err == nil {
			t.Errorf("parse(%q) succeeds", n.String())
		}
		if _, err := parse("bogus"); err == nil || err.Error() != bogusErr {
			t.Errorf("parse(bogus): %v, want %s", err, bogusErr)
		}
	}
}
