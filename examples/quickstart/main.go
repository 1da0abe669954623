package main

import (
	"context"
	"fmt"
	"log"

	"github.com/tempc/tempc"
)

func main() {
	res, err := tempc.Compile(context.Background(), tempc.Options{Model: "llama2-7b", Wafer: "temp48", Seq: 2048})
	if err != nil {
		log.Fatal(err)
	}
	sim, err := tempc.Simulate(context.Background(), res.Plan, res.Spec, tempc.SimulateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, %s: step %.4f s predicted, %.4f s simulated\n", res.Report.Layout.Name, res.Report.Status, res.Report.StepSeconds, sim.Report.Simulated)
}
