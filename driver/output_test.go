//go:build linux

package driver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// content is what the output tests write.
const content = "new content\n"

func writeContent(w io.Writer) error {
	_, err := io.WriteString(w, content)
	return err
}

// noTemps fails if dir holds a temporary file of an output.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
	if n := liveTemps(); n != 0 {
		t.Errorf("%d temporary files still registered", n)
	}
}

// nullDevice makes a character device like /dev/null (1, 3) in dir:
// the tests never write to the system's own.
func nullDevice(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "null")
	if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("cannot make a device node here: %v", err)
	}
	return path
}

// readFIFO makes a FIFO in dir and reads it to its end in the
// background: the returned channel receives what was read.
func readFIFO(t *testing.T, dir string) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(path)
		got <- string(b)
	}()
	return path, got
}

// TestOutputToDevice: an output on a character device (as /dev/null) is
// written to the device, which stays a device, directly or through a
// symbolic link.
func TestOutputToDevice(t *testing.T) {
	dir := t.TempDir()
	dev := nullDevice(t, dir)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(dev, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dev, link} {
		if err := writeFile(context.Background(), path, writeContent); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if fi, err := os.Stat(dev); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
			t.Fatalf("after writing %s the device is %v (%v)", path, fi.Mode(), err)
		}
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link became %v (%v)", fi.Mode(), err)
	}
	noTemps(t, dir)
}

// TestOutputToFIFO: an output on a FIFO reaches its reader, and the FIFO
// stays one, directly or through a symbolic link.
func TestOutputToFIFO(t *testing.T) {
	for _, viaLink := range []bool{false, true} {
		dir := t.TempDir()
		fifo, got := readFIFO(t, dir)
		path := fifo
		if viaLink {
			path = filepath.Join(dir, "link")
			if err := os.Symlink("fifo", path); err != nil {
				t.Fatal(err)
			}
		}
		if err := writeFile(context.Background(), path, writeContent); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != content {
			t.Errorf("the reader got %q, want %q", s, content)
		}
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
			t.Errorf("the FIFO became %v (%v)", fi.Mode(), err)
		}
		noTemps(t, dir)
	}
}

// TestOutputToProcFD: /dev/stdout is a link to /proc/self/fd/1, which
// names an open file, not a path: an output there (here the write end
// of a pipe, directly and through a link like /dev/stdout) is written
// into the open file.
func TestOutputToProcFD(t *testing.T) {
	dir := t.TempDir()
	for _, viaLink := range []bool{false, true} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(r)
			got <- string(b)
		}()
		path := "/proc/self/fd/" + strconv.Itoa(int(w.Fd()))
		if viaLink {
			link := filepath.Join(dir, "stdout")
			os.Remove(link)
			if err := os.Symlink(path, link); err != nil {
				t.Fatal(err)
			}
			path = link
		}
		err = writeFile(context.Background(), path, writeContent)
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != content {
			t.Errorf("%s: the pipe got %q, want %q", path, s, content)
		}
		r.Close()
	}
	if fi, err := os.Lstat(filepath.Join(dir, "stdout")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link became %v (%v)", fi.Mode(), err)
	}
	noTemps(t, dir)
}

// TestOutputThroughLink: a link to a regular file has its target
// replaced (permissions kept) and stays a link; a link to a file not yet
// made creates it.
func TestOutputThroughLink(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target"), filepath.Join(dir, "link")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target", link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "sub", "new"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, file string }{{link, target}, {dangling, filepath.Join(dir, "sub", "new")}} {
		if err := writeFile(context.Background(), tc.path, writeContent); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(tc.path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s became %v (%v)", tc.path, fi.Mode(), err)
		}
		if b, err := os.ReadFile(tc.file); err != nil || string(b) != content {
			t.Errorf("%s holds %q (%v)", tc.file, b, err)
		}
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
		t.Errorf("target's mode became %v, want 0600", fi.Mode().Perm())
	}
	noTemps(t, dir)
	noTemps(t, filepath.Join(dir, "sub"))
}

// TestOutputRefuses: a directory, a path ending in a separator, a missing
// directory, a link loop, and one file given for two outputs are refused
// before anything is written.
func TestOutputRefuses(t *testing.T) {
	dir := t.TempDir()
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink("loop", loop); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("plan.json", link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{dir}, "is a directory"},
		{[]string{filepath.Join(dir, "x") + "/"}, "names a directory"},
		{[]string{filepath.Join(dir, "missing", "x")}, "no such file"},
		{[]string{loop}, "symbolic links"},
		{[]string{filepath.Join(dir, "plan.json"), link}, "are the same file"},
	} {
		_, err := newOutputs(tc.paths...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "driver: ") {
			t.Errorf("%v: got %v, want an error with %q", tc.paths, err, tc.want)
		}
	}
	noTemps(t, dir)
}

// TestOutputSetInterrupted: a set of outputs whose run is interrupted
// (its context cancelled) before publication, or one of whose files
// fails to write, leaves the previous files whole and no temporary file.
func TestOutputSetInterrupted(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	failing := func(w io.Writer) error {
		io.WriteString(w, "half a trace")
		return errors.New("disk full")
	}
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		second func(io.Writer) error
		want   error
	}{
		{"interrupted", cancelled, writeContent, context.Canceled},
		{"second file fails", context.Background(), failing, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			planFile, traceFile := filepath.Join(dir, "plan.json"), filepath.Join(dir, "trace.json")
			for _, f := range []string{planFile, traceFile} {
				if err := os.WriteFile(f, []byte("previous"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := newOutputs(planFile, traceFile)
			if err != nil {
				t.Fatal(err)
			}
			err = out.add(planFile, writeContent)
			if err == nil {
				if err = out.add(traceFile, tc.second); err == nil {
					err = out.commit(tc.ctx)
				}
			}
			out.discard()
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want a failure (%v)", err, tc.want)
			}
			for _, f := range []string{planFile, traceFile} {
				if b, _ := os.ReadFile(f); string(b) != "previous" {
					t.Errorf("%s became %q", filepath.Base(f), b)
				}
			}
			noTemps(t, dir)
		})
	}
}

// TestRemoveTempsOnExit: what an exiting process removes (RemoveTemps)
// includes a set's staged files, and no output is published after it.
func TestRemoveTempsOnExit(t *testing.T) {
	defer func() { temps.Lock(); temps.closed = false; temps.Unlock() }()
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.json")
	out, err := newOutputs(planFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.add(planFile, writeContent); err != nil {
		t.Fatal(err)
	}
	RemoveTemps()
	if err := out.commit(context.Background()); err == nil {
		t.Error("a set was published after RemoveTemps")
	}
	if _, err := os.Stat(planFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("plan.json exists (%v)", err)
	}
	noTemps(t, dir)
}

// TestOutputInsideChakraDir: a file of the set inside the directory an
// export replaces whole would be removed with it, so it is refused.
func TestOutputInsideChakraDir(t *testing.T) {
	dir := t.TempDir()
	out, err := newOutputs(filepath.Join(dir, "plan.json"), filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := out.outside(filepath.Join(dir, "chakra")); err != nil {
		t.Errorf("a sibling directory: %v", err)
	}
	if err := out.outside(dir); err == nil || !strings.Contains(err.Error(), "plan.json is inside") {
		t.Errorf("got %v, want plan.json refused", err)
	}
}

// TestOutputNotInput: an output on a file the command reads (the plan
// simulate replays, a model or wafer file), directly or through a link,
// is refused; a preset name that is no file is passed over.
func TestOutputNotInput(t *testing.T) {
	dir := t.TempDir()
	planFile, link := filepath.Join(dir, "plan.json"), filepath.Join(dir, "link.json")
	if err := os.WriteFile(planFile, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("plan.json", link); err != nil {
		t.Fatal(err)
	}
	out, err := newOutputs(link)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.notInputs("gpt2", "-", planFile); err == nil || !strings.Contains(err.Error(), "an input of the command") {
		t.Errorf("got %v, want the plan file refused as an output", err)
	}
	if err := out.notInputs("gpt2", filepath.Join(dir, "other.json")); err != nil {
		t.Errorf("other inputs: %v", err)
	}
}

// TestOutputRelativeInsideChakraDir: a relative output path inside the
// export's directory is refused too.
func TestOutputRelativeInsideChakraDir(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("ck", 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := newOutputs(filepath.Join("ck", "plan.dot"))
	if err != nil {
		t.Fatal(err)
	}
	if err := out.outside("ck"); err == nil || !strings.Contains(err.Error(), "is inside ck") {
		t.Errorf("got %v, want ck/plan.dot refused", err)
	}
}

// TestWaferSVGNotItsInput: tempc wafer --svg on its own wafer file is
// refused before the file is touched.
func TestWaferSVGNotItsInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "w.json")
	var b bytes.Buffer
	if err := Wafer(context.Background(), &b, WaferOptions{Wafer: "mesh4x4", JSON: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Wafer(context.Background(), io.Discard, WaferOptions{Wafer: file, SVG: file})
	if err == nil || !strings.Contains(err.Error(), "an input of the command") {
		t.Fatalf("--svg on the wafer file: %v", err)
	}
	if got, _ := os.ReadFile(file); !bytes.Equal(got, b.Bytes()) {
		t.Error("the wafer file changed")
	}
}
