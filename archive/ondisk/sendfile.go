package ondisk

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/journal"
)

// HeldTail is how many of a file's last bytes a Body sent by the kernel holds back until the
// file is shown to be still the version that was hashed.
const HeldTail = 64 << 10

// tailBufs are the buffers the held-back tails are read into.
var tailBufs = sync.Pool{New: func() any { b := make([]byte, HeldTail); return &b }}

// Body is the body of a PUT of a file whose SHA-256 (want) is known and is in the key. Read
// releases the bytes through user space and hashes them, like VerifyingReader: the last bytes
// are released only if everything read hashes to want and the file is still r's version.
// SendTo lets the kernel send the file to a socket (sendfile, no copy through user space and
// no second hash) and holds back the last HeldTail bytes: they are read, then the file's
// identity (device, inode, size, mtime, change and birth time) is compared with r's once
// more, and they are sent only if nothing changed. Any write to the file since it was hashed
// (write, truncate, a replacement, even one that sets size and mtime back) moves its change
// time, so a key receives either the bytes it was named after or a request cut short of its
// Content-Length, which the archive does not store.
type Body struct {
	mu      sync.Mutex // Read and SendTo run on the transport's goroutine; Verdict after the PUT
	f       *os.File
	rec     *journal.Record
	want    string
	off     int64     // bytes released so far
	h       hash.Hash // of the bytes released by Read; nil once the kernel sent some
	kernel  int64     // bytes sent by SendTo, for tests and metrics
	changed error
}

// NewBody returns the body of a PUT of f, which record r describes and whose SHA-256 is want.
func NewBody(f *os.File, r *journal.Record, want string) *Body {
	return &Body{f: f, rec: r, want: want, h: sha256.New()}
}

// Verdict is why the bytes were refused, or nil.
func (b *Body) Verdict() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

// KernelSent is how many bytes went out through the kernel (SendTo) rather than Read.
func (b *Body) KernelSent() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.kernel
}

// Close does nothing: the file belongs to the caller. A Body is an io.ReadCloser so that
// net/http sends it as it is, where SendTo can be found.
func (b *Body) Close() error { return nil }

func (b *Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		return 0, b.changed
	}
	size := b.rec.Size
	if b.off >= size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), size-b.off)]
	n, err := b.f.ReadAt(p, b.off)
	if n < len(p) {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: shrank to %d bytes during upload, was %d", ErrChanged, b.off+int64(n), size)
		}
		b.changed = err
		return 0, err
	}
	if b.h != nil {
		b.h.Write(p)
	}
	if b.off+int64(n) < size {
		b.off += int64(n)
		return n, nil
	}
	// The final bytes: release them only if the content is what the key says.
	if err := b.final(); err != nil {
		return 0, err
	}
	b.off += int64(n)
	return n, nil
}

// final checks, before the last bytes go out, that they may: with every byte read through
// Read, their hash; in any case the file's identity. b.mu held.
func (b *Body) final() error {
	if b.h != nil {
		if got := hex.EncodeToString(b.h.Sum(nil)); got != b.want {
			b.changed = fmt.Errorf("%w: content hash changed during upload (sha256 %s, key says %s)", ErrChanged, got, b.want)
			return b.changed
		}
	}
	if err := SameVersion(b.f, b.rec); err != nil {
		b.changed = err
		return err
	}
	return nil
}

// SendTo sends the next n bytes of the body (all that are left) to s, a connection whose
// descriptor sendfile can write to (a *net.TCPConn): all but the held-back tail by sendfile,
// then the tail once the file is shown unchanged. It returns the bytes written; an error
// means the request must be abandoned (Verdict says why if the file changed).
func (b *Body) SendTo(s interface {
	syscall.Conn
	io.Writer
}, n int64) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		return 0, b.changed
	}
	size := b.rec.Size
	if n != size-b.off {
		return 0, fmt.Errorf("send %d bytes of a body with %d left", n, size-b.off)
	}
	var written int64
	if head := size - HeldTail - b.off; head > 0 {
		b.h = nil // the hash no longer covers what is sent; the identity check does
		m, err := sendfile(s, b.f, b.off, head)
		b.off += m
		b.kernel += m
		written += m
		if err != nil {
			if errors.Is(err, ErrChanged) {
				b.changed = err
			}
			return written, err
		}
	}
	m, err := b.sendTail(s)
	return written + m, err
}

// sendTail reads the bytes from b.off to the end, checks the file, and writes them. b.mu held.
func (b *Body) sendTail(s io.Writer) (int64, error) {
	bp := tailBufs.Get().(*[]byte)
	defer tailBufs.Put(bp)
	tail := (*bp)[:b.rec.Size-b.off]
	if n, err := b.f.ReadAt(tail, b.off); n < len(tail) {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: shrank to %d bytes during upload, was %d", ErrChanged, b.off+int64(n), b.rec.Size)
		}
		b.changed = err
		return 0, err
	}
	if b.h != nil {
		b.h.Write(tail)
	}
	if err := b.final(); err != nil {
		return 0, err
	}
	n, err := s.Write(tail)
	b.off += int64(n)
	return int64(n), err
}

// sendfile writes n bytes of f from off to s with sendfile(2), waiting on the poller while the
// socket is full. f's own offset is not used (the bodies of a resent request may overlap).
func sendfile(s syscall.Conn, f *os.File, off, n int64) (int64, error) {
	out, err := s.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("sendfile: %w", err)
	}
	in, err := f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("sendfile: %w", err)
	}
	var sent int64
	var serr error
	ferr := in.Read(func(infd uintptr) bool {
		werr := out.Write(func(outfd uintptr) bool {
			for sent < n && serr == nil {
				o := off + sent
				m, err := unix.Sendfile(int(outfd), int(infd), &o, int(min(n-sent, 1<<30)))
				switch {
				case errors.Is(err, unix.EAGAIN):
					return false // wait until the socket can take more
				case errors.Is(err, unix.EINTR):
				case err != nil:
					serr = fmt.Errorf("sendfile: %w", err)
				case m == 0:
					serr = fmt.Errorf("%w: sendfile found the end of the file %d bytes early", ErrChanged, n-sent)
				default:
					sent += int64(m)
				}
			}
			return true
		})
		if serr == nil && werr != nil {
			serr = fmt.Errorf("sendfile: %w", werr)
		}
		return true
	})
	if serr == nil && ferr != nil {
		serr = fmt.Errorf("sendfile: %w", ferr)
	}
	return sent, serr
}
