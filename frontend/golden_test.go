package frontend

import (
	"path/filepath"
	"testing"

	"github.com/tempc/tempc/internal/golden"
)

// Golden files under testdata/golden hold the canonical text form of
// generated graphs. Regenerate them after an intended change with
//
//	UPDATE_GOLDEN=1 go test ./frontend -run TestGolden
//
// (or `make golden`) and review the diff like code.
func TestGolden(t *testing.T) {
	tests := []struct {
		file  string
		model string
		opt   Options
	}{
		// GPT-2 small, batch 8 of its full 1024-token context.
		{"gpt2.train.txt", "gpt2", Options{Batch: 8, Seq: 1024}},
		// The JSON graph example, completed by Train.
		{"tiny-forward.train.txt", filepath.Join("testdata", "graph", "tiny-forward.json"), Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			g, err := Load(tc.model, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "golden", tc.file), g.Text())
		})
	}
}
