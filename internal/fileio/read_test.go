package fileio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.json")
	if err := os.WriteFile(small, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	big10001 := filepath.Join(dir, "big10001.json")
	if err := os.WriteFile(big10001, make([]byte, 10001), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	for _, tc := range []struct {
		name, path string
		kind       Kind
		want       string // "" for success
	}{
		{"regular", small, RegularOnly, ""},
		{"too large", big, RegularOnly, "of 100 B is too large (limit 10 B)"},
		{"too large by a byte", big10001, RegularOnly, "of 10001 bytes is too large (limit 10000)"},
		{"directory", dir, AllowPipes, "is a directory"},
		{"device", "/dev/zero", AllowPipes, "is a device"},
		{"fifo from a file", fifo, RegularOnly, "is a pipe"},
		{"missing", filepath.Join(dir, "none"), AllowPipes, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := int64(10)
			if tc.path == big10001 {
				limit = 10000 // both read "10.0 kB"
			}
			_, err := Read(tc.path, limit, tc.kind, "plan file")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Read(%s) = %v, want an error containing %q", tc.path, err, tc.want)
			}
		})
	}
}

// TestReadBoundsAPipe: a pipe (a reader of unknown length) is read to its
// limit and refused past it, never read whole.
func TestReadBoundsAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer w.Close()
		buf := make([]byte, 4096)
		for i := 0; i < 1000; i++ { // 4 MB, far past the limit
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}()
	_, err = ReadAll(r, "<stdin>", 1<<10, "plan")
	r.Close()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadAll of 4 MB with a 1 kB limit = %v, want ErrTooLarge", err)
	}
}

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {999, "999 B"}, {1000, "1.00 kB"}, {43e6, "43.0 MB"}, {10e6, "10.0 MB"},
		{72e9, "72.0 GB"}, {123456789012, "123 GB"}, {1 << 30, "1.07 GB"},
	} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
