package etpb

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedIsCurrent regenerates et_def.pb.go as the go:generate line
// in doc.go does and compares it with the committed file.
func TestGeneratedIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator (go run)")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	cmd := exec.Command(gotool, "run", "github.com/tempc/tempc/internal/protogen",
		"-out", dir, "-import", "github.com/tempc/tempc/chakra/etpb", "et_def.proto")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protogen: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "et_def.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("et_def.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("et_def.pb.go is stale: run go generate ./chakra/etpb")
	}
}
