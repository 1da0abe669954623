//go:build cgo

package lower

import (
	"testing"

	"github.com/tempc/tempc/costmodel"
	"github.com/tempc/tempc/ilp"
	"github.com/tempc/tempc/ilp/highs"
)

// optimum is the global level's choice for the table (HiGHS).
func optimum(t testing.TB, tab *costmodel.Table) ilp.Assignment {
	t.Helper()
	sol, err := ilp.Solve(tab, ilp.Config{}, highs.Solver{}, ilp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sol.Assignment
}
