package chakra

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cancelAfter is a context whose Err turns to Canceled after n calls:
// an interrupt in the middle of an export.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// entries lists dir's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestChakraDirAtomic: an export replaces its directory whole — an
// earlier export's traces under another workload name are gone —, and an
// export interrupted before or in the middle of the step leaves the
// earlier one as it was, with no staging directory beside it.
func TestChakraDirAtomic(t *testing.T) {
	p, s := tinyPlan(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	if _, err := Write(context.Background(), dir, p, s, Options{Name: "old"}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"cancelled before", cancelled},
		{"cancelled after 2 runs", &cancelAfter{Context: context.Background(), n: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var staging string
			_, err := Write(tc.ctx, dir, p, s, Options{Name: "new", OnStaging: func(path string) { staging = path }})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			if staging == "" || filepath.Dir(staging) != parent {
				t.Errorf("staging directory %q, want one in %s", staging, parent)
			}
			if got := entries(t, parent); len(got) != 1 || got[0] != "out" {
				t.Errorf("%s holds %v, want only out", parent, got)
			}
			after, err := os.ReadFile(filepath.Join(dir, manifestFile))
			if err != nil || string(after) != string(before) {
				t.Errorf("the earlier export's manifest changed (%v)", err)
			}
		})
	}
	if _, err := Write(context.Background(), dir, p, s, Options{Name: "new"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range entries(t, dir) {
		if strings.HasPrefix(name, "old.") {
			t.Errorf("the earlier export's %s is left in the new one", name)
		}
	}
	if got := entries(t, parent); len(got) != 1 {
		t.Errorf("%s holds %v, want only out", parent, got)
	}
}

// TestChakraDirRefusesForeignFiles: a directory that holds anything an
// export does not write is refused before anything is written, and kept.
func TestChakraDirRefusesForeignFiles(t *testing.T) {
	p, s := tinyPlan(t)
	for _, tc := range []struct {
		name  string
		setup func(dir string) error
		want  string
	}{
		{"a user's file", func(dir string) error { return os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644) }, "notes.txt"},
		{"traces without a manifest", func(dir string) error { return os.WriteFile(filepath.Join(dir, "x.0.et"), nil, 0o644) }, "no manifest.json"},
		{"a subdirectory", func(dir string) error { return os.Mkdir(filepath.Join(dir, "sub"), 0o755) }, "sub"},
		{"a file, not a directory", nil, "is not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			var err error
			if tc.setup == nil {
				err = os.WriteFile(dir, []byte("mine"), 0o644)
			} else if err = os.Mkdir(dir, 0o755); err == nil {
				err = tc.setup(dir)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = Write(context.Background(), dir, p, s, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
			if got := entries(t, filepath.Dir(dir)); len(got) != 1 {
				t.Errorf("left %v beside the directory", got)
			}
		})
	}
}
