package driver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tempc/tempc/chakra"
)

// How the driver writes files. A command's files are an output set
// (outputs): each regular file is written into a temporary file beside
// it, and the set is published only when every member has been written,
// by renaming the temporary files over their targets, so that a failed
// or interrupted run leaves the previous files whole and never a new plan
// beside an old trace. A target that is not a regular file — a device
// such as /dev/null, a FIFO, a /proc/self/fd link such as /dev/stdout —
// is never replaced: it is opened for writing and written in place when
// the set is published.

// temps holds the temporary files and directories the driver has
// created and not yet published or removed. It is process-wide because
// what it guards is: a process that exits on a second interrupt must
// remove them first (RemoveTemps). Publishing a set holds its lock, so an
// exit waits for a set's renames to end.
var temps = struct {
	sync.Mutex
	live   map[string]bool
	closed bool
}{live: map[string]bool{}}

// track records a live temporary path; it refuses once RemoveTemps has
// run, since the process is exiting.
func track(path string) error {
	temps.Lock()
	defer temps.Unlock()
	if temps.closed {
		os.RemoveAll(path)
		return errors.New("driver: exiting: no new output is written")
	}
	temps.live[path] = true
	return nil
}

// untrack forgets a temporary path once it was renamed or removed.
func untrack(path string) {
	temps.Lock()
	delete(temps.live, path)
	temps.Unlock()
}

// RemoveTemps removes every temporary file and directory the driver's
// outputs hold, and makes later outputs fail: for a process about to exit
// without returning (a second interrupt), so that it leaves none behind.
// A set being published is published first.
func RemoveTemps() {
	temps.Lock()
	defer temps.Unlock()
	temps.closed = true
	for path := range temps.live {
		os.RemoveAll(path)
		delete(temps.live, path)
	}
}

// liveTemps counts the live temporary paths (tests).
func liveTemps() int {
	temps.Lock()
	defer temps.Unlock()
	return len(temps.live)
}

// A target is where one output goes.
type target struct {
	// path is as the user gave it; file is the file written, path with
	// its symbolic links followed (a new file's path if none exists).
	path, file string
	// direct says file is written in place: it is a device, FIFO or
	// socket, or it is reached through /proc (a /proc/self/fd link, a
	// process's standard output), which only the kernel can follow.
	direct bool
	// regular says file is an existing regular file (its mode is kept).
	regular bool
	mode    fs.FileMode
}

// maxLinks bounds the symbolic links followed to find a target, as the
// kernel's ELOOP does.
const maxLinks = 40

// locate finds where an output written to path goes. The last element
// of path is followed link by link; once a link leads into /proc, the
// rest is the kernel's to follow, and the target is written in place.
func locate(path string) (target, error) {
	t := target{path: path}
	fail := func(err error) (target, error) { return t, fmt.Errorf("driver: cannot write %s: %w", path, err) }
	if strings.HasSuffix(path, string(filepath.Separator)) {
		return fail(errors.New("it names a directory"))
	}
	p, err := filepath.Abs(path)
	if err != nil {
		return fail(err)
	}
	for range maxLinks {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return fail(err)
		}
		if dir == "/proc" || strings.HasPrefix(dir, "/proc/") {
			fi, err := os.Stat(p)
			if err != nil {
				return fail(err)
			}
			t.file, t.direct, t.regular, t.mode = p, true, fi.Mode().IsRegular(), fi.Mode().Perm()
			return t, nil
		}
		p = filepath.Join(dir, filepath.Base(p))
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			t.file, t.mode = p, 0o644
			return t, nil
		case err != nil:
			return fail(err)
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return fail(err)
			}
			if !filepath.IsAbs(link) {
				link = filepath.Join(dir, link)
			}
			p = link
			continue
		case fi.IsDir():
			return fail(errors.New("it is a directory"))
		case fi.Mode().IsRegular():
			t.file, t.regular, t.mode = p, true, fi.Mode().Perm()
			return t, nil
		default: // a device, FIFO or socket
			t.file, t.direct, t.mode = p, true, fi.Mode().Perm()
			return t, nil
		}
	}
	return fail(fmt.Errorf("more than %d symbolic links", maxLinks))
}

// check says, before any work, whether t can be written: a file can be
// created beside a replaced target, a direct one opened for writing.
func (t target) check() error {
	if t.direct {
		if err := writeAccess(t.file); err != nil {
			return fmt.Errorf("driver: cannot write %s: %w", t.path, err)
		}
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(t.file), "."+filepath.Base(t.file)+".*.tmp")
	if err != nil {
		return fmt.Errorf("driver: cannot write %s: %w", t.path, err)
	}
	f.Close()
	track(f.Name())
	defer untrack(f.Name())
	return os.Remove(f.Name())
}

// A publisher is an output staged elsewhere (a Chakra directory) that a
// set publishes with its files.
type publisher interface {
	Publish() error
	Discard() error
}

// outputs is a set of output files, published together (see above),
// made by newOutputs; discard it (deferred) whatever happens.
type outputs struct {
	targets map[string]target
	order   []string // the paths of targets, in the order given
	// staged are the regular files written to temporary files, in order;
	// direct the in-place targets, written at publication.
	staged []stagedFile
	direct []stagedFile
	extra  []publisher
}

// stagedFile is one file of a set: its target, and its temporary file
// (regular targets) or the function that writes it (direct ones).
type stagedFile struct {
	t     target
	tmp   string
	write func(io.Writer) error
}

// newOutputs locates and checks the set's files ("" and "-" are not
// files), refusing one file given twice — but a device, FIFO or /proc
// target (-o /dev/null --trace /dev/null) may take several outputs, each
// written in turn.
func newOutputs(paths ...string) (*outputs, error) {
	o := &outputs{targets: map[string]target{}}
	files := map[string]string{}
	for _, path := range paths {
		if path == "" || path == "-" {
			continue
		}
		t, err := locate(path)
		if err != nil {
			return nil, err
		}
		if prev, ok := files[t.file]; ok && !t.direct {
			return nil, fmt.Errorf("driver: %s and %s are the same file: give each output its own", prev, path)
		}
		files[t.file] = path
		if err := t.check(); err != nil {
			return nil, err
		}
		o.targets[path] = t
		o.order = append(o.order, path)
	}
	return o, nil
}

// outside refuses a file of the set inside directory dir (or dir
// itself), which an output replacing dir whole (a Chakra export) would
// remove.
func (o *outputs) outside(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	for _, path := range o.order {
		t := o.targets[path]
		if rel, err := filepath.Rel(abs, t.file); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("driver: %s is inside %s, which the export replaces whole: write it elsewhere", path, dir)
		}
	}
	return nil
}

// notInputs refuses a file of the set that is one of the files the
// command reads (a plan, model or wafer file): writing it would destroy
// the input. Inputs that are not files (presets, "-") are passed over.
func (o *outputs) notInputs(inputs ...string) error {
	for _, in := range inputs {
		fi, err := os.Stat(in)
		if in == "" || in == "-" || err != nil || !fi.Mode().IsRegular() {
			continue
		}
		for _, path := range o.order {
			if ti, err := os.Stat(o.targets[path].file); err == nil && os.SameFile(fi, ti) {
				return fmt.Errorf("driver: %s is %s, an input of the command: write the output elsewhere", path, in)
			}
		}
	}
	return nil
}

// add writes path's content with write: now into a temporary file for a
// regular target, at publication for a direct one. A path newOutputs was
// not given is located now.
func (o *outputs) add(path string, write func(io.Writer) error) error {
	t, ok := o.targets[path]
	if !ok {
		var err error
		if t, err = locate(path); err != nil {
			return err
		}
		o.targets[path] = t
	}
	if t.direct {
		o.direct = append(o.direct, stagedFile{t: t, write: write})
		return nil
	}
	tmp, err := stage(t, write)
	if err != nil {
		return err
	}
	o.staged = append(o.staged, stagedFile{t: t, tmp: tmp})
	return nil
}

// addPublisher makes p part of the set.
func (o *outputs) addPublisher(p publisher) { o.extra = append(o.extra, p) }

// stage writes a temporary file beside t's file and returns its name.
func stage(t target, write func(io.Writer) error) (name string, err error) {
	f, err := os.CreateTemp(filepath.Dir(t.file), "."+filepath.Base(t.file)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("driver: cannot write %s: %w", t.path, err)
	}
	if err := track(f.Name()); err != nil {
		f.Close()
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			untrack(f.Name())
		}
	}()
	if err := writeTo(f, write); err != nil {
		return "", fmt.Errorf("driver: %s: %w", t.path, err)
	}
	if err := os.Chmod(f.Name(), t.mode); err != nil {
		return "", fmt.Errorf("driver: %w", err)
	}
	return f.Name(), nil
}

// writeTo writes f through a buffer and closes it.
func writeTo(f *os.File, write func(io.Writer) error) error {
	bw := bufio.NewWriter(f)
	err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// commit publishes the set: unless ctx is done, it writes the direct
// targets, then renames every staged file over its target and publishes
// the staged directories. On any failure nothing more is published and
// the rest is discarded.
func (o *outputs) commit(ctx context.Context) error {
	defer o.discard()
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	for _, d := range o.direct {
		flag := os.O_WRONLY
		if d.t.regular {
			flag |= os.O_TRUNC // a regular file reached through /proc, as a shell's > opens it
		}
		f, err := os.OpenFile(d.t.file, flag, 0)
		if err != nil {
			return fmt.Errorf("driver: cannot write %s: %w", d.t.path, err)
		}
		if err := writeTo(f, d.write); err != nil {
			return fmt.Errorf("driver: %s: %w", d.t.path, err)
		}
	}
	temps.Lock()
	defer temps.Unlock()
	if temps.closed {
		return errors.New("driver: exiting: the outputs are not published")
	}
	for i, s := range o.staged {
		if err := os.Rename(s.tmp, s.t.file); err != nil {
			return fmt.Errorf("driver: cannot write %s: %w", s.t.path, err)
		}
		delete(temps.live, s.tmp)
		o.staged[i].tmp = ""
	}
	for i, p := range o.extra {
		if err := p.Publish(); err != nil {
			return err
		}
		o.extra[i] = nil
	}
	return nil
}

// discard removes what the set staged and did not publish.
func (o *outputs) discard() {
	for i, s := range o.staged {
		if s.tmp != "" {
			os.Remove(s.tmp)
			untrack(s.tmp)
			o.staged[i].tmp = ""
		}
	}
	for i, p := range o.extra {
		if p != nil {
			p.Discard()
			o.extra[i] = nil
		}
	}
	o.direct = nil
}

// writeFile writes one file as a set of one (see outputs), refusing a path
// that is one of the command's inputs.
func writeFile(ctx context.Context, path string, write func(io.Writer) error, inputs ...string) error {
	o, err := newOutputs(path)
	if err != nil {
		return err
	}
	defer o.discard()
	if err := o.notInputs(inputs...); err != nil {
		return err
	}
	if err := o.add(path, write); err != nil {
		return err
	}
	return o.commit(ctx)
}

// stagedDir is a staged Chakra export in an output set: its staging
// directory is forgotten by the temporaries' registry once it is
// published or discarded.
type stagedDir struct{ *chakra.Staged }

func (d stagedDir) Publish() error {
	dir := d.Dir()
	defer delete(temps.live, dir) // commit holds the lock
	return d.Staged.Publish()
}

func (d stagedDir) Discard() error {
	dir := d.Dir()
	defer untrack(dir)
	return d.Staged.Discard()
}

// trackStaging records a Chakra staging directory as a live temporary.
func trackStaging(path string) { track(path) }
