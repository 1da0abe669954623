package wafer

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLoadRefusesWhatIsNotAWaferFile: Load refuses, before reading, what is not a
// wafer file of at most MaxFileBytes — /dev/zero once ran it out of
// memory — and still reads a real one.
func TestLoadRefusesWhatIsNotAWaferFile(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: a size past the bound without writing it.
	if err := f.Truncate(MaxFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	good := filepath.Join(dir, "good.json")
	var b strings.Builder
	if err := WriteJSON(&b, mustPreset(t, "mesh4x4")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path, want string }{
		{"device", "/dev/zero", "is a device"},
		{"directory", dir, "is a directory"},
		{"too large", big, "wafer file of 67108865 bytes is too large (limit 67108864)"},
		{"a real file", good, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.path == "/dev/zero" {
				if _, err := os.Stat(c.path); err != nil {
					t.Skip("no /dev/zero here")
				}
			}
			s, err := Load(c.path)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Load(%s): %v", c.path, err)
			case c.want == "" && s.NumDies() != 16:
				t.Fatalf("Load(%s) has %d dies, want mesh4x4's 16", c.path, s.NumDies())
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "wafer: ")):
				t.Fatalf("Load(%s) = %v, want an error with %q", c.path, err, c.want)
			}
		})
	}
}

// TestLoadNamedRefusesAFIFO: a wafer named inside a plan must be a file; a
// FIFO there would block the reader forever. A name the user gives may be
// a pipe.
func TestLoadNamedRefusesAFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "w.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if _, err := LoadNamed(fifo); err == nil || !strings.Contains(err.Error(), "is a pipe") {
		t.Errorf("LoadNamed(FIFO) = %v, want a refusal", err)
	}
	if s, err := LoadNamed("temp48"); err != nil || s.Name != "temp48" {
		t.Errorf("LoadNamed(temp48) = %v", err)
	}
}
