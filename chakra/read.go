package chakra

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/tempc/tempc/chakra/etpb"
	"github.com/tempc/tempc/internal/fileio"
)

// A Reader reads a Chakra trace: a GlobalMetadata message, then Node
// messages, each preceded by its size as a varint (Chakra's framing). A
// gzip-compressed trace is read as well, as Chakra's own reader does.
type Reader struct {
	r    *bufio.Reader
	name string
	meta *etpb.GlobalMetadata
	off  int64 // bytes of the (decompressed) stream read so far
	msgs int   // messages read so far
	buf  bytes.Buffer
}

// NewReader reads the GlobalMetadata of the trace r holds; name labels
// errors.
func NewReader(name string, r io.Reader) (*Reader, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("chakra: %s: %w", name, err)
		}
		br = bufio.NewReader(z)
	}
	rd := &Reader{r: br, name: name}
	rd.meta = &etpb.GlobalMetadata{}
	if err := rd.next(rd.meta); err != nil {
		if err == io.EOF {
			err = fmt.Errorf("chakra: %s: empty trace: no GlobalMetadata", name)
		}
		return nil, err
	}
	return rd, nil
}

// Metadata returns the trace's GlobalMetadata.
func (r *Reader) Metadata() *etpb.GlobalMetadata { return r.meta }

// Next returns the next node, or io.EOF after the last.
func (r *Reader) Next() (*etpb.Node, error) {
	n := &etpb.Node{}
	if err := r.next(n); err != nil {
		return nil, err
	}
	return n, nil
}

// next reads one length-delimited message into m; io.EOF if the stream
// ends cleanly before it.
func (r *Reader) next(m proto.Message) error {
	at := r.off
	size, err := binary.ReadUvarint(byteCounter{r})
	switch {
	case err == io.EOF && r.off == at:
		return io.EOF
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return r.errorf(at, "truncated message size")
	case err != nil:
		return r.errorf(at, "message size: %v", err)
	case size > maxMessage:
		return r.errorf(at, "message of %d bytes, more than Chakra's %d", size, maxMessage)
	}
	// Read what is there rather than allocating what the size claims: a
	// corrupt size fails at the end of the stream.
	r.buf.Reset()
	k, err := io.CopyN(&r.buf, r.r, int64(size))
	r.off += k
	if err == io.EOF {
		return r.errorf(at, "truncated message: %d of %d bytes", k, size)
	}
	if err != nil {
		return r.errorf(at, "%v", err)
	}
	if err := proto.Unmarshal(r.buf.Bytes(), m); err != nil {
		return r.errorf(at, "%v", err)
	}
	r.msgs++
	return nil
}

func (r *Reader) errorf(off int64, format string, args ...any) error {
	what := "node"
	if r.msgs == 0 {
		what = "GlobalMetadata"
	}
	return fmt.Errorf("chakra: %s: byte %d, message %d (%s): %s", r.name, off, r.msgs, what, fmt.Sprintf(format, args...))
}

// byteCounter reads single bytes for binary.ReadUvarint, counting them.
type byteCounter struct{ r *Reader }

func (b byteCounter) ReadByte() (byte, error) {
	c, err := b.r.r.ReadByte()
	if err == nil {
		b.r.off++
	}
	return c, err
}

// MaxReadBytes bounds what Read decodes of a trace, gzip-compressed or
// not: its nodes are all held in memory, some 4 times their encoded size.
const MaxReadBytes = 1 << 30

// Read reads the trace in file, a regular file: its GlobalMetadata and
// its nodes, in file order. It refuses a trace that decodes to more than
// MaxReadBytes; NewReader streams a trace of any size.
func Read(file string) (*etpb.GlobalMetadata, []*etpb.Node, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("chakra: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, nil, fmt.Errorf("chakra: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("chakra: %s is not a regular file (mode %s), want a trace", file, fi.Mode().Type())
	}
	r, err := NewReader(file, f)
	if err != nil {
		return nil, nil, err
	}
	var nodes []*etpb.Node
	for {
		n, err := r.Next()
		if err == io.EOF {
			return r.Metadata(), nodes, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if r.off > MaxReadBytes {
			return nil, nil, fmt.Errorf("chakra: %s: decodes to more than %s, the most Read holds in memory (read it with NewReader)", file, fileio.Bytes(MaxReadBytes))
		}
		nodes = append(nodes, n)
	}
}
