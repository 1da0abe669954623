// Command pipeline-figure draws the throughput of the multi-wafer sweep
// (scripts/pipeline-sweep.sh) against the number of wafers: it reads the
// `tempc pipeline --json` reports NAME-N.json in a directory, for the
// configurations temp, megatron1, megatron3 and fsdp and N from 1 to 6,
// and writes wafers.svg there, a line per configuration over the points
// that fit (predicted tokens/s).
//
//	go run ./scripts/pipeline-figure [DIR]   # default docs/pipeline
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/tempc/tempc/driver"
	"gonum.org/v1/plot/plotter"
)

func main() {
	dir := "docs/pipeline"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	names := []string{"temp", "megatron1", "megatron3", "fsdp"}
	pts := make([]plotter.XYs, len(names))
	for i, name := range names {
		for n := 1; n <= 6; n++ {
			data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, n)))
			if errors.Is(err, fs.ErrNotExist) {
				continue // not run, or it does not fit (NAME-N.err says why)
			}
			if err != nil {
				log.Fatal(err)
			}
			var r struct {
				TokensPerSecond float64 `json:"tokens_per_second"`
			}
			if err := json.Unmarshal(data, &r); err != nil {
				log.Fatalf("%s-%d.json: %v", name, n, err)
			}
			pts[i] = append(pts[i], plotter.XY{X: float64(n), Y: r.TokensPerSecond})
		}
	}
	p, err := driver.WafersPlot("gpt3-175b across temp48 wafers (predicted, 1F1B)", names, pts)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "wafers.svg"))
	if err != nil {
		log.Fatal(err)
	}
	if err := driver.WriteSVG(io.Writer(f), p); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
