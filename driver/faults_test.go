package driver

import (
	"fmt"
	"testing"

	"github.com/tempc/tempc/ilp"
)

// TestFaultReasonInMB: a fault map that does not fit by megabytes says
// so in megabytes, not "needs 0.0 GB per die, has 0.0 GB".
func TestFaultReasonInMB(t *testing.T) {
	for _, tc := range []struct {
		need, have float64
		want       string
	}{
		{43e6, 10e6, "needs 43.0 MB per die, has 10.0 MB"},
		{87.6e9, 72e9, "needs 87.6 GB per die, has 72.0 GB"},
		{950, 512, "needs 950 B per die, has 512 B"},
	} {
		err := fmt.Errorf("tempc: %w", &ilp.OutOfMemoryError{Model: "m", Wafer: "w", Need: tc.need, Have: tc.have})
		if got := reason(err); got != tc.want {
			t.Errorf("reason(%g, %g) = %q, want %q", tc.need, tc.have, got, tc.want)
		}
	}
}
