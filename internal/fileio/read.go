// Package fileio reads the files tempc is given, safely: every
// read is bounded in size, a device is never read as a file, and a path
// found inside another file (a plan's model source) must name a regular
// file, so that a hostile or mistaken input is refused by name rather than
// exhausting memory or blocking forever. Bytes writes byte counts for the
// messages that name them.
package fileio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
)

// Kind says which files a read accepts besides regular files.
type Kind int

const (
	// RegularOnly accepts regular files only (or symbolic links to
	// them): for paths read out of another file, which nobody typed.
	RegularOnly Kind = iota
	// AllowPipes also accepts pipes and FIFOs (standard input, a shell's
	// process substitution), read up to the limit: for paths the user
	// gave on the command line.
	AllowPipes
)

// ErrTooLarge is wrapped by the error of a read whose file holds more than
// its limit.
var ErrTooLarge = errors.New("too large")

// Read reads the file at path, refusing it, before reading anything, when
// it is a directory, a device or socket, a pipe where kind is RegularOnly,
// or a regular file of more than limit bytes; a pipe is read to at most
// limit+1 bytes and refused past limit. what names the file's role in the
// errors, e.g. "plan file". Errors carry the path.
func Read(path string, limit int64, kind Kind, what string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := accept(path, fi, kind, what); err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() && fi.Size() > limit {
		size, max := Bytes(fi.Size()), Bytes(limit)
		if size == max { // 1 GiB + 1 and 1 GiB both read "1.07 GB"
			size, max = fmt.Sprintf("%d bytes", fi.Size()), fmt.Sprintf("%d", limit)
		}
		return nil, fmt.Errorf("%s: %s of %s is %w (limit %s)", path, what, size, ErrTooLarge, max)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Stat again through the open file: the path may have been replaced
	// between the two calls.
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := accept(path, fi, kind, what); err != nil {
		return nil, err
	}
	return ReadAll(f, path, limit, what)
}

// accept refuses what Read does not read.
func accept(path string, fi fs.FileInfo, kind Kind, what string) error {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return fmt.Errorf("%s: is a directory, want a %s", path, what)
	case m&fs.ModeNamedPipe != 0 && kind == AllowPipes:
		return nil
	case m&fs.ModeNamedPipe != 0:
		return fmt.Errorf("%s: is a pipe, want a regular file as %s", path, what)
	case m&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		return fmt.Errorf("%s: is a device, want a %s", path, what)
	default:
		return fmt.Errorf("%s: is not a regular file (mode %s), want a %s", path, m.Type(), what)
	}
}

// ReadAll reads r to its end but refuses, once read, more than limit
// bytes. name and what name the source in the error.
func ReadAll(r io.Reader, name string, limit int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %s of more than %s is %w (limit %s)", name, what, Bytes(limit), ErrTooLarge, Bytes(limit))
	}
	return data, nil
}

// Bytes writes n bytes for a person: B, kB, MB, GB or TB (powers of ten),
// with three significant figures, so that 43 MB never reads "0.0 GB". A
// count that is not finite is written as it is.
func Bytes[N int | int64 | float64](n N) string {
	v := float64(n)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%g B", v)
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	switch {
	case i == 0:
		return fmt.Sprintf("%.0f B", math.Trunc(v))
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, units[i])
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, units[i])
	default:
		return fmt.Sprintf("%.2f %s", v, units[i])
	}
}
