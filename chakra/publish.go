package chakra

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Staged is an export written into a staging directory beside its
// destination and not yet published (Stage).
type Staged struct {
	// Manifest describes the export.
	Manifest *Manifest
	// dir is the destination, tmp the staging directory ("" once
	// published or discarded).
	dir, tmp string
}

// Dir is the staging directory ("" once published or discarded).
func (st *Staged) Dir() string { return st.tmp }

// Publish puts the staged export in its directory's place: an earlier
// directory is renamed aside, the staging directory renamed in, and the
// earlier one removed; if the second rename fails the earlier directory
// is put back.
func (st *Staged) Publish() error {
	if st.tmp == "" {
		return errors.New("chakra: export already published or discarded")
	}
	if _, err := os.Lstat(st.dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(st.tmp, st.dir); err != nil {
			return fmt.Errorf("chakra: %w", err)
		}
		st.tmp = ""
		return nil
	}
	// A fresh name to rename the earlier export to: made as an empty
	// directory, and removed, since os.Rename does not replace one.
	old, err := os.MkdirTemp(filepath.Dir(st.dir), "."+filepath.Base(st.dir)+".*.old")
	if err == nil {
		err = os.Remove(old)
	}
	if err != nil {
		return fmt.Errorf("chakra: %w", err)
	}
	if err := os.Rename(st.dir, old); err != nil {
		return fmt.Errorf("chakra: %w", err)
	}
	if err := os.Rename(st.tmp, st.dir); err != nil {
		if rerr := os.Rename(old, st.dir); rerr != nil {
			return fmt.Errorf("chakra: %w; the earlier export is left at %s (%v)", err, old, rerr)
		}
		return fmt.Errorf("chakra: %w", err)
	}
	st.tmp = ""
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("chakra: the earlier export, renamed to %s, could not be removed: %w", old, err)
	}
	return nil
}

// Discard removes the staging directory (nothing once published).
func (st *Staged) Discard() error {
	if st.tmp == "" {
		return nil
	}
	err := os.RemoveAll(st.tmp)
	st.tmp = ""
	return err
}

// destination is dir made absolute, with its symbolic links followed
// when it exists (the directory they lead to is replaced, not the link).
func destination(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("chakra: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("chakra: %w", err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if filepath.Dir(abs) == abs {
		return "", fmt.Errorf("chakra: %s is a root directory: give a directory of its own for the export", dir)
	}
	return abs, nil
}

// traceName matches the traces' names (TraceFile).
var traceName = regexp.MustCompile(`\.[0-9]+\.et$`)

// CheckDir says whether dir can receive an export, which replaces it
// whole: dir must be missing, an empty directory, or an earlier export —
// its manifest.json beside files only an export writes (traces and
// configurations) —, so that nothing else in it is lost.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("chakra: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("chakra: %s is not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("chakra: %w", err)
	}
	if len(ents) == 0 {
		return nil
	}
	export := false
	var foreign []string
	for _, e := range ents {
		name := e.Name()
		switch {
		case !e.Type().IsRegular():
			foreign = append(foreign, name)
		case name == manifestFile:
			export = true
		case name == networkFile || name == systemFile || name == memoryFile || name == readmeFile || traceName.MatchString(name):
		default:
			foreign = append(foreign, name)
		}
	}
	if !export {
		foreign = append(foreign, "no "+manifestFile)
	}
	if len(foreign) > 0 {
		if len(foreign) > 3 {
			foreign = append(foreign[:3], fmt.Sprintf("%d more", len(foreign)-3))
		}
		return fmt.Errorf("chakra: %s is not an earlier export (it holds %s); the export replaces its directory whole: give a new or empty directory", dir, strings.Join(foreign, ", "))
	}
	return nil
}
