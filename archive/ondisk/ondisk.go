// Package ondisk answers, for the lanes that read archived files (upload, forwarding,
// disposal, reconciliation), whether a file on disk is still the version its record names
// and whether its bytes are the archived ones: a version's identity (size, mtime, change and
// birth time, inode), one read that hashes and sniffs a file (Identify), a reader that
// refuses to release bytes that do not hash to the key (VerifyingReader), and the proof
// required before a file is moved or deleted (ProveArchived).
package ondisk

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gabriel-vasile/mimetype"
	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// SniffLen is how much of a file MIME detection looks at (mimetype's own default limit).
const SniffLen = 3072

// ErrChanged means the file is no longer the version that settled.
var ErrChanged = errors.New("file changed while being archived")

// readBufs are Identify's read buffers: the first SniffLen bytes hold the head MIME detection
// looks at, the rest is the copy buffer for hashing the remainder. Allocating them per file
// (io.Copy's own 32 KiB buffer included) was most of the daemon's garbage in a burst of small
// files, and the garbage collector's work a good part of its CPU.
var readBufs = sync.Pool{New: func() any { b := make([]byte, SniffLen+32<<10); return &b }}

// Identify reads f once from the start: SHA-256 of all bytes and MIME type of the first ones.
func Identify(f *os.File, size int64) (sum, mime string, err error) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	head, buf := (*bp)[:SniffLen], (*bp)[SniffLen:]
	h := sha256.New()
	r := io.NewSectionReader(f, 0, size)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", "", err
	}
	head = head[:n]
	h.Write(head)
	rest, err := io.CopyBuffer(h, r, buf)
	if err != nil {
		return "", "", err
	}
	if int64(n)+rest != size {
		return "", "", fmt.Errorf("%w: read %d bytes, expected %d", ErrChanged, int64(n)+rest, size)
	}
	return hex.EncodeToString(h.Sum(nil)), mimetype.Detect(head).String(), nil
}

// SmallMax is the largest file ReadSmall reads: the size of the tail a Body holds back, so a
// file this small never has a byte sent by the kernel anyway.
const SmallMax = HeldTail

// ReadSmall reads all of f, a file of size bytes (at most SmallMax), into memory, and returns
// the bytes with their SHA-256 and MIME type. The upload sends those very bytes: a small file
// is read once and hashed once, and nothing but what was hashed can reach its key, with no
// second read, hash or check while it is sent. The caller checks before and after that f is
// still the version of the record (SameVersion), as for Identify.
func ReadSmall(f *os.File, size int64) (data []byte, sum, mime string, err error) {
	if size < 0 || size > SmallMax {
		return nil, "", "", fmt.Errorf("read %d bytes into memory: at most %d", size, SmallMax)
	}
	buf := make([]byte, size+1) // one byte more: a file that grew is seen, not cut
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, "", "", err
	}
	if int64(n) != size {
		return nil, "", "", fmt.Errorf("%w: read %d bytes, expected %d", ErrChanged, n, size)
	}
	data = buf[:n]
	h := sha256.Sum256(data)
	return data, hex.EncodeToString(h[:]), mimetype.Detect(data[:min(n, SniffLen)]).String(), nil
}

// NewVerifyingReader reads the bytes of f that record r describes, refusing them unless they
// hash to want (a SHA-256 in hex) and f is still r's version.
func NewVerifyingReader(f *os.File, r *journal.Record, want string) *VerifyingReader {
	return &VerifyingReader{f: f, r: io.NewSectionReader(f, 0, r.Size), size: r.Size, want: want, rec: r, h: sha256.New()}
}

// VerifyingReader streams the file to the PUT while hashing it again. It holds back the last
// bytes until the hash of everything read matches the hash in the key and the file is still the
// settled version; otherwise it fails the read, the request is aborted short of its
// Content-Length, and the server stores nothing under the key.
type VerifyingReader struct {
	mu      sync.Mutex // Read runs on the transport's goroutine; the verdict is read after PutFile
	f       *os.File
	r       io.Reader
	h       hash.Hash
	size    int64
	read    int64
	want    string
	rec     *journal.Record
	changed error
}

// Verdict is why the bytes were refused, or nil.
func (v *VerifyingReader) Verdict() error {
	if v == nil {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.changed
}

func (v *VerifyingReader) Read(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.changed != nil {
		return 0, v.changed
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.read += int64(n)
	if v.read < v.size {
		if errors.Is(err, io.EOF) {
			v.changed = fmt.Errorf("%w: shrank to %d bytes during upload, was %d", ErrChanged, v.read, v.size)
			return 0, v.changed
		}
		return n, err
	}
	// The final bytes: release them only if the content is what the key says.
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
		v.changed = fmt.Errorf("%w: content hash changed during upload (sha256 %s, key says %s)", ErrChanged, got, v.want)
		return 0, v.changed
	}
	if cerr := SameVersion(v.f, v.rec); cerr != nil {
		v.changed = cerr
		return 0, v.changed
	}
	return n, io.EOF
}

// A file version's identity (journal.Version) includes what a writer cannot set back: the
// change time and the birth time, besides size, mtime, inode and device. Every check that
// a file on disk is still the version that settled, or the version that was archived,
// compares all of it.

// VersionOf is the version a stat result describes.
func VersionOf(fi fs.FileInfo) journal.Version {
	v := journal.Version{Kind: beneath.Kind(fi), Size: fi.Size(), ModTime: fi.ModTime(), Change: beneath.ChangeTime(fi), Birth: beneath.BirthTime(fi)}
	switch st := fi.Sys().(type) {
	case *unix.Stat_t:
		v.Inode, v.Dev = st.Ino, st.Dev
	case *syscall.Stat_t:
		v.Inode, v.Dev = st.Ino, uint64(st.Dev)
	}
	return v
}

// SameVersion checks that the open file is still the version r recorded.
func SameVersion(f *os.File, r *journal.Record) error {
	fi, err := beneath.Fstat(f)
	if err != nil {
		return err
	}
	return ChangedFrom(VersionOf(fi), r)
}

// ChangedFrom says how got differs from the version r recorded (wrapping ErrChanged), or
// returns nil if it is that version.
func ChangedFrom(got journal.Version, r *journal.Record) error {
	want := r.Version()
	if got.Same(want) {
		return nil
	}
	switch {
	case got.Inode != want.Inode || got.Dev != want.Dev:
		return fmt.Errorf("%w: replaced by another file (inode %d, was %d)", ErrChanged, got.Inode, want.Inode)
	case got.Kind != want.Kind:
		return fmt.Errorf("%w: replaced by a %s", ErrChanged, got.Kind)
	case got.Size != want.Size:
		return fmt.Errorf("%w: size is %d bytes, was %d when it settled", ErrChanged, got.Size, want.Size)
	case !got.ModTime.Equal(want.ModTime):
		return fmt.Errorf("%w: modified at %s after it settled", ErrChanged, stamp(got.ModTime))
	case want.Change.IsZero():
		return fmt.Errorf("%w: recorded without a change time (by an earlier archivist), so it is identified again", ErrChanged)
	case !got.Change.Equal(want.Change):
		return fmt.Errorf("%w: changed at %s after it settled, with its size and mtime kept (change time, was %s)",
			ErrChanged, stamp(got.Change), stamp(want.Change))
	default:
		return fmt.Errorf("%w: replaced by another file on the same inode (born %s, was %s)", ErrChanged, stamp(got.Birth), stamp(want.Birth))
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ErrNotArchived means the file on disk has the archived version's metadata but not its bytes.
var ErrNotArchived = errors.New("its bytes are not the archived ones")

// ProveArchived reads the file once more and checks that it is r's version and that its
// SHA-256 is the archived one: nothing is moved or deleted that the archive does not hold
// byte for byte.
func ProveArchived(root *beneath.Root, r *journal.Record) error {
	if r.SHA256 == "" {
		return fmt.Errorf("%w: no archived SHA-256 to compare with", ErrNotArchived)
	}
	f, err := root.Open(string(r.Path))
	if err != nil {
		if errors.Is(err, beneath.ErrSymlink) || errors.Is(err, beneath.ErrNotRegular) {
			return fmt.Errorf("%w: %w", ErrChanged, err)
		}
		return err
	}
	defer f.Close()
	if err := SameVersion(f, r); err != nil {
		return err
	}
	sum, _, err := Identify(f, r.Size)
	if err != nil {
		return err
	}
	if err := SameVersion(f, r); err != nil {
		return err
	}
	if sum != r.SHA256 {
		return fmt.Errorf("%w (sha256 %s, archived %s)", ErrNotArchived, sum, r.SHA256)
	}
	return nil
}
