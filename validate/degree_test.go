package validate

import (
	"math"
	"testing"

	"github.com/tempc/tempc/wafer"
)

// TestDegreeSweepSubChains: on mesh4x4 the sweep streams gpt2's mlp.up
// over groups of 2, 4, 8 and 12 dies, then on the 3×4 group's sub-chains
// of 4 and of 6 at once; a sub-chain row keeps 1/degree of the weight
// per die, and every row's simulated time is within the stream-large
// class's error of its prediction.
func TestDegreeSweepSubChains(t *testing.T) {
	s, _ := wafer.Preset("mesh4x4")
	ds, err := DegreeSweep("gpt2", "block/mlp.up", s, 16, 512, 2)
	if err != nil {
		t.Fatal(err)
	}
	const weight = 2 * (768*3072 + 3072) // bf16, with the bias
	var sub int
	for _, d := range ds {
		if d.Scheme == "relay-w/sub-chains" {
			sub++
			if d.Degree != 2+2*sub || d.GroupDies != 12 || d.WeightBytes != weight/float64(d.Degree) {
				t.Errorf("sub-chain row %+v, want degree %d of 12 dies keeping 1/%d of %d bytes", d, 2+2*sub, 2+2*sub, weight)
			}
		} else if d.GroupDies != d.Degree {
			t.Errorf("%s on %s: group of %d dies, degree %d", d.Scheme, d.Group, d.GroupDies, d.Degree)
		}
		if e := d.Simulated/d.Analytic - 1; !(math.Abs(e) < 0.25) {
			t.Errorf("%s degree %d on %s: simulated %.4g s, predicted %.4g s", d.Scheme, d.Degree, d.Group, d.Simulated, d.Analytic)
		}
	}
	if sub != 2 || len(ds) != 10 {
		t.Errorf("%d rows, %d on sub-chains; want 4 groups × 2 schemes and 2", len(ds), sub)
	}
}
