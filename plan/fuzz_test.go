package plan

import (
	"bytes"
	"testing"

	"github.com/tempc/tempc/wafer"
)

// FuzzReadPlan: any input is a plan that Verify accepts or rejects, or a
// read error; nothing panics.
func FuzzReadPlan(f *testing.F) {
	pl := validPlan()
	var b bytes.Buffer
	if err := WriteJSON(&b, pl); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`{"schema_version":3,"steps":[{"name":"x","count":1,"program":{"tasks":[{"id":0,"kind":"recv","die":99,"deps":[5]}]}}]}`))
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
