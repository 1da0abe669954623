package wafer

import (
	"bytes"
	"os"
	"testing"
)

// FuzzReadJSON: any input gives a valid Spec or an error, never a panic; an
// accepted wafer routes between its healthy corners without panicking.
func FuzzReadJSON(f *testing.F) {
	data, err := os.ReadFile("testdata/temp48-faults.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, name := range PresetNames() {
		s, _ := Preset(name)
		var b bytes.Buffer
		if err := WriteJSON(&b, s); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadJSON("fuzz.json", data)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted an invalid wafer: %v", err)
		}
		if s.NumDies() <= 4096 {
			_, _ = s.Route(0, DieID(s.NumDies()-1), XY)
		}
	})
}
