package plan

import (
	"bytes"
	"testing"

	"tempc/wafer"
)

// FuzzReadPlan: any input is a plan that Verify accepts or rejects, or a
// read error; nothing panics.
func FuzzReadPlan(f *testing.F) {
	var p Program
	a := p.Compute("a", 0, 1e9, 0)
	p.Transfer("x", 0, 1, 1<<20, nil, a)
	q := p.Split(0)
	q.Tasks[0].Op = "op"
	pl := &Plan{SchemaVersion: SchemaVersion, Model: "m", Wafer: "mesh4x4", Layout: "l", Dies: []wafer.DieID{0, 1},
		CapacityBytes: 1e9, Steps: []Node{{Name: "loop", Count: 2, Body: []Node{{Name: "b", Count: 3, Program: &q}}}}}
	var b bytes.Buffer
	if err := WriteJSON(&b, pl); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`{"schema_version":1,"steps":[{"name":"x","count":1,"program":{"tasks":[{"id":0,"kind":"recv","die":99,"deps":[5]}]}}]}`))
	s, _ := wafer.Preset("mesh4x4")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadJSON("fuzz.json", data)
		if err != nil {
			return
		}
		_ = p.Verify(s)
		_, _ = p.Size()
	})
}
