// Package beneath opens and stats files strictly beneath a root directory
// without following symbolic links in any path component.
//
// It is the one place that turns a (root, relative path) pair from the watcher,
// the journal or a transcript into file system access, so that invariant 5
// ("nothing outside a watch root is ever read") has a single mechanism:
//
//   - every component below the root is resolved without following symlinks
//     (openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS,
//     or, where seccomp or an old kernel refuses openat2, one openat with
//     O_NOFOLLOW per component);
//   - the final component is only ever opened with O_NOFOLLOW or stat'ed with
//     AT_SYMLINK_NOFOLLOW, relative to its already-resolved parent;
//   - a FIFO, socket or device is recognised from an O_PATH descriptor and is
//     never opened for reading, so opening never blocks and never triggers a
//     device's open side effects.
//
// The root itself is trusted configuration: if the root path is a symlink, it
// is followed once when the root is opened.
//
// The package is Linux-only, like the daemon.
package beneath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

var (
	// ErrOutsideRoot is returned for a relative path that is absolute or
	// climbs out of the root with "..".
	ErrOutsideRoot = errors.New("path escapes root")
	// ErrSymlink is returned when any component of the path, including the
	// last, is a symbolic link.
	ErrSymlink = errors.New("symbolic link in path")
	// ErrNotRegular is returned by Open for anything that is not a regular
	// file; the message names the kind (see Kind).
	ErrNotRegular = errors.New("not a regular file")
	// ErrNotDir is returned by OpenDir for anything that is not a directory.
	ErrNotDir = errors.New("not a directory")
)

// Kind names the type of a file the way logs and the journal show it:
// "file", "directory", "symlink", "named pipe (FIFO)", "socket", "device"
// or "other". fi is normally an Lstat result.
func Kind(fi fs.FileInfo) string {
	return kindOfMode(fi.Mode())
}

func kindOfMode(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m&fs.ModeDir != 0:
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "other"
	}
}

// Open opens root/rel for reading. rel is slash-separated and relative to
// root. It fails with ErrOutsideRoot, ErrSymlink or ErrNotRegular (wrapped in
// an *fs.PathError naming rel) instead of leaving the root, following a link,
// or opening a FIFO, socket, device or directory.
func Open(root, rel string) (*os.File, error) {
	r, err := OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Open(rel)
}

// Lstat describes root/rel without following a symlink in any component; a
// symlink as the last component is described, not followed. Sys() of the
// result is a *unix.Stat_t.
func Lstat(root, rel string) (fs.FileInfo, error) {
	r, err := OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Lstat(rel)
}

// Root is an open root directory. Holding one saves re-opening the root for
// every call; it is safe for concurrent use. The descriptor keeps referring to
// the same directory even if the root path is later renamed or removed, so a
// long-lived holder should re-open it when the root changes.
type Root struct {
	path string
	fd   int
}

// OpenRoot opens the directory at path (following the path's own symlinks:
// the root is configuration, not data).
func OpenRoot(path string) (*Root, error) {
	fd, err := retry(func() (int, error) {
		return unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &Root{path: path, fd: fd}, nil
}

// Path returns the path the root was opened with.
func (r *Root) Path() string { return r.path }

// Close releases the root's descriptor.
func (r *Root) Close() error {
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}

// Stat describes the root directory itself (the opened one).
func (r *Root) Stat() (fs.FileInfo, error) {
	var st unix.Stat_t
	if err := fstat(r.fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: ".", Err: err}
	}
	return newFileInfo(path.Base(r.path), &st), nil
}

// Open opens rel for reading; see the package-level Open.
func (r *Root) Open(rel string) (*os.File, error) {
	clean, err := cleanRel(rel)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: err}
	}
	if clean == "." {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: fmt.Errorf("%w: directory", ErrNotRegular)}
	}
	f, err := r.open(clean)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: clean, Err: err}
	}
	return f, nil
}

func (r *Root) open(clean string) (*os.File, error) {
	if !noOpenat2.Load() && len(clean) <= maxPathLen {
		// The whole path in one openat2 from the root, which refuses symlinks and escapes in
		// every component: no descriptor of the folder to open and close.
		how := unix.OpenHow{Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
		f, err := openChecked(path.Join(r.path, clean), func(flags int) (int, error) {
			how.Flags = uint64(flags)
			return unix.Openat2(r.fd, clean, &how)
		})
		if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM) {
			return f, err
		}
		// No openat2 (an old kernel: for good), or refused (a seccomp filter, or a real EPERM
		// that the open below reports as well): open it the other way.
		if errors.Is(err, unix.ENOSYS) {
			noOpenat2.Store(true)
		}
	}
	parent, base, done, err := r.parent(clean)
	if err != nil {
		return nil, err
	}
	defer done()
	return openChecked(path.Join(r.path, clean), func(flags int) (int, error) { return unix.Openat(parent, base, flags, 0) })
}

// openChecked opens a regular file for reading with openAt (which resolves the name with
// the flags it is given and never follows a symlink as its last component), looking before
// opening: an O_PATH descriptor does not open the file, so a FIFO cannot block and a device's
// open routine never runs. Then what was actually opened is judged, as the name may have
// been replaced between the two opens.
func openChecked(name string, openAt func(flags int) (int, error)) (*os.File, error) {
	pfd, err := retry(func() (int, error) { return openAt(unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC) })
	if err != nil {
		return nil, mapErr(err)
	}
	var want unix.Stat_t
	err = fstat(pfd, &want)
	unix.Close(pfd)
	if err != nil {
		return nil, err
	}
	if err := requireRegular(&want); err != nil {
		return nil, err
	}
	fd, err := retry(func() (int, error) {
		return openAt(unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC)
	})
	if err != nil {
		return nil, mapErr(err)
	}
	// O_NONBLOCK kept a swapped-in FIFO from blocking.
	var got unix.Stat_t
	if err := fstat(fd, &got); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := requireRegular(&got); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// Clear O_NONBLOCK in one call: none of the other status flags F_SETFL sets was asked for.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

func requireRegular(st *unix.Stat_t) error {
	switch k := kindOfMode(modeOf(st.Mode)); k {
	case "file":
		return nil
	case "symlink":
		return ErrSymlink
	default:
		return fmt.Errorf("%w: %s", ErrNotRegular, k)
	}
}

// Lstat describes rel; see the package-level Lstat.
func (r *Root) Lstat(rel string) (fs.FileInfo, error) { return r.lstatVia(rel, r.parent) }

// lstatVia is Lstat with the folder of the last component resolved by parent.
func (r *Root) lstatVia(rel string, parent func(clean string) (int, string, func(), error)) (fs.FileInfo, error) {
	clean, err := cleanRel(rel)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: rel, Err: err}
	}
	if clean == "." {
		return r.Stat()
	}
	fd, base, done, err := parent(clean)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: clean, Err: err}
	}
	defer done()
	fi, err := lstatAt(fd, base)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: clean, Err: err}
	}
	return fi, nil
}

// Lstats describes many entries beneath one root as Lstat does, opening the root and
// resolving each folder once for all of them: in a burst of files in one folder, each look-up
// is one fstatat instead of also opening and closing the root and the folder. The root and
// the folders are held open only until Close, so a holder of a batch does not keep a deleted
// root alive for long.
type Lstats struct {
	path string
	root *Root
	err  error          // of opening the root, returned for every look-up
	dirs map[string]int // resolved folders (O_PATH descriptors), by slash-separated path
}

// NewLstats returns look-ups beneath root; nothing is opened before the first one.
func NewLstats(root string) *Lstats { return &Lstats{path: root, dirs: map[string]int{}} }

// Lstat describes rel; see the package-level Lstat.
func (l *Lstats) Lstat(rel string) (fs.FileInfo, error) {
	if l.root == nil && l.err == nil {
		l.root, l.err = OpenRoot(l.path)
	}
	if l.err != nil {
		return nil, l.err
	}
	return l.root.lstatVia(rel, l.parent)
}

// parent is Root.parent with the folders kept for the next look-ups.
func (l *Lstats) parent(clean string) (int, string, func(), error) {
	dir, base := splitParent(clean)
	if dir == "" {
		return l.root.fd, base, func() {}, nil
	}
	if fd, ok := l.dirs[dir]; ok {
		return fd, base, func() {}, nil
	}
	fd, err := l.root.resolveDir(dir)
	if err != nil {
		return -1, "", nil, err
	}
	l.dirs[dir] = fd
	return fd, base, func() {}, nil
}

// Close releases the root and the folders.
func (l *Lstats) Close() error {
	for d, fd := range l.dirs {
		unix.Close(fd)
		delete(l.dirs, d)
	}
	if l.root == nil {
		return nil
	}
	err := l.root.Close()
	l.root = nil
	return err
}

// OpenDir opens the directory rel ("." or "" for the root) for listing.
func (r *Root) OpenDir(rel string) (*Dir, error) {
	clean, err := cleanRel(rel)
	if err != nil {
		return nil, &fs.PathError{Op: "opendir", Path: rel, Err: err}
	}
	d, err := r.openDir(clean)
	if err != nil {
		return nil, &fs.PathError{Op: "opendir", Path: clean, Err: err}
	}
	return d, nil
}

func (r *Root) openDir(clean string) (*Dir, error) {
	parent, base := r.fd, "."
	if clean != "." {
		var done func()
		var err error
		parent, base, done, err = r.parent(clean)
		if err != nil {
			return nil, err
		}
		defer done()
	}
	fd, err := retry(func() (int, error) {
		return unix.Openat(parent, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			// Say what it is instead: a symlink to a directory must read
			// as a symlink, not as "not a directory".
			var st unix.Stat_t
			if fstatat(parent, base, &st) == nil {
				if k := kindOfMode(modeOf(st.Mode)); k == "symlink" {
					return nil, ErrSymlink
				} else if k != "directory" {
					return nil, fmt.Errorf("%w: %s", ErrNotDir, k)
				}
			}
		}
		return nil, mapErr(err)
	}
	name := r.path
	if clean != "." {
		name = path.Join(r.path, clean)
	}
	return &Dir{fd: fd, f: os.NewFile(uintptr(fd), name), rel: clean}, nil
}

// parent resolves the directory that holds the last component of clean
// (which is neither "." nor escaping) and returns a descriptor for it, the
// last component, and a func that releases the descriptor.
func (r *Root) parent(clean string) (fd int, base string, done func(), err error) {
	dir, base := splitParent(clean)
	if dir == "" {
		return r.fd, base, func() {}, nil
	}
	fd, err = r.resolveDir(dir)
	if err != nil {
		return -1, "", nil, err
	}
	return fd, base, func() { unix.Close(fd) }, nil
}

// splitParent splits clean into the folder of its last component ("" for the root itself,
// no trailing slash) and that component.
func splitParent(clean string) (dir, base string) {
	dir, base = path.Split(clean)
	return strings.TrimSuffix(dir, "/"), base
}

// noOpenat2 is set once openat2 turned out to be unavailable (old kernel, or
// a seccomp filter answering ENOSYS or EPERM). Tests set it to exercise the
// fallback.
var noOpenat2 atomic.Bool

// maxPathLen is the longest path one system call accepts (PATH_MAX less its
// NUL). Deeper paths are resolved a piece at a time, each piece relative to
// the descriptor of the one before, so any depth below the root works.
var maxPathLen = unix.PathMax - 1

// resolveDir returns an O_PATH descriptor for the directory dir beneath the
// root, refusing symlinks in every component.
func (r *Root) resolveDir(dir string) (int, error) {
	if !noOpenat2.Load() {
		fd, err := r.resolveOpenat2(dir)
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM):
			noOpenat2.Store(true)
		default:
			return -1, mapErr(err)
		}
	}
	// One component at a time; O_NOFOLLOW makes each step refuse a symlink.
	fd := r.fd
	for comp := range strings.SplitSeq(dir, "/") {
		next, err := retry(func() (int, error) {
			return unix.Openat(fd, comp, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		})
		if err != nil && (errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP)) {
			var st unix.Stat_t
			if fstatat(fd, comp, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				err = unix.ELOOP
			}
		}
		if fd != r.fd {
			unix.Close(fd)
		}
		if err != nil {
			return -1, mapErr(err)
		}
		fd = next
	}
	return fd, nil
}

// resolveOpenat2 resolves dir with openat2, in pieces of at most maxPathLen
// bytes. Every piece is resolved beneath the directory the previous one
// reached; a clean relative path has no "..", so staying beneath each piece's
// start is staying beneath the root.
func (r *Root) resolveOpenat2(dir string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd := r.fd
	for _, piece := range pieces(dir, maxPathLen) {
		next, err := retry(func() (int, error) { return unix.Openat2(fd, piece, &how) })
		if fd != r.fd {
			unix.Close(fd)
		}
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// pieces splits a slash-separated path at slashes into parts of at most max
// bytes. A single component longer than max stays whole, for the kernel to
// refuse with ENAMETOOLONG.
func pieces(p string, max int) []string {
	var out []string
	for len(p) > max {
		i := strings.LastIndexByte(p[:max+1], '/')
		if i <= 0 {
			i = strings.IndexByte(p, '/')
			if i < 0 {
				break
			}
		}
		out = append(out, p[:i])
		p = p[i+1:]
	}
	return append(out, p)
}

// Dir is an open directory beneath a Root.
type Dir struct {
	fd  int // owned by f
	f   *os.File
	rel string
}

// Stat describes the directory itself.
func (d *Dir) Stat() (fs.FileInfo, error) {
	var st unix.Stat_t
	if err := fstat(d.fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: d.rel, Err: err}
	}
	return newFileInfo(path.Base(d.rel), &st), nil
}

// Names lists the directory's entries (unsorted, without "." and "..").
func (d *Dir) Names() ([]string, error) {
	names, err := d.f.Readdirnames(-1)
	if err != nil {
		return names, &fs.PathError{Op: "readdir", Path: d.rel, Err: unwrapPathErr(err)}
	}
	return names, nil
}

// Lstat describes the entry name (a single component) of the directory
// without following it if it is a symlink.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: ErrOutsideRoot}
	}
	fi, err := lstatAt(d.fd, name)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: path.Join(d.rel, name), Err: err}
	}
	return fi, nil
}

// Close closes the directory.
func (d *Dir) Close() error { return d.f.Close() }

// cleanRel validates a slash-separated relative path and returns it cleaned
// ("." for the root itself).
func cleanRel(rel string) (string, error) {
	if strings.HasPrefix(rel, "/") {
		return "", ErrOutsideRoot
	}
	if strings.IndexByte(rel, 0) >= 0 {
		return "", fmt.Errorf("%w: NUL byte in path", fs.ErrInvalid)
	}
	c := path.Clean(rel) // "" becomes "."
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", ErrOutsideRoot
	}
	return c, nil
}

func mapErr(err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return ErrSymlink
	case errors.Is(err, unix.EXDEV):
		return ErrOutsideRoot
	}
	return err
}

func retry(f func() (int, error)) (int, error) {
	for i := 0; ; i++ {
		fd, err := f()
		// EAGAIN: openat2 raced with a rename; EINTR: a signal.
		if (errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN)) && i < 16 {
			continue
		}
		return fd, err
	}
}

func fstat(fd int, st *unix.Stat_t) error {
	for {
		err := unix.Fstat(fd, st)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func fstatat(dirfd int, name string, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileInfo is an fs.FileInfo from a raw stat; Sys returns *unix.Stat_t.
type fileInfo struct {
	name  string
	st    unix.Stat_t
	birth time.Time // zero when statx did not give it (see BirthTime)
}

func newFileInfo(name string, st *unix.Stat_t) *fileInfo {
	return &fileInfo{name: name, st: *st}
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.st.Size }
func (fi *fileInfo) Mode() fs.FileMode  { return modeOf(fi.st.Mode) }
func (fi *fileInfo) ModTime() time.Time { return time.Unix(fi.st.Mtim.Unix()) }
func (fi *fileInfo) IsDir() bool        { return fi.Mode().IsDir() }
func (fi *fileInfo) Sys() any           { return &fi.st }

// modeOf converts st_mode the way package os does.
func modeOf(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFREG:
	default:
		mode |= fs.ModeIrregular
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// Remove deletes the entry rel beneath the root, resolving its folder without following any
// symlink, after check accepted an lstat of the entry taken through that same folder (so the
// entry checked is the one removed, short of a rename in between). Directories are refused.
func (r *Root) Remove(rel string, check func(fs.FileInfo) error) error {
	return r.withEntry("remove", rel, check, func(parent int, base string) error {
		return unix.Unlinkat(parent, base, 0)
	})
}

// MoveOut renames the entry rel beneath the root to dst, an absolute path outside it (its
// folders are created), after check accepted it as Remove does. It never replaces an
// existing dst (fs.ErrExist), and dst must be on the same file system (EXDEV otherwise).
func (r *Root) MoveOut(rel, dst string, check func(fs.FileInfo) error) error {
	if len(dst) > maxPathLen {
		return r.moveOutDeep(rel, dst, check)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	return r.withEntry("move", rel, check, func(parent int, base string) error {
		return unix.Renameat2(parent, base, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	})
}

// moveOutDeep is MoveOut to a dst longer than PATH_MAX: its folders are made and opened one
// at a time, each relative to the one before, and the rename is relative to the last.
func (r *Root) moveOutDeep(rel, dst string, check func(fs.FileInfo) error) error {
	dir, base := filepath.Split(filepath.Clean(dst))
	fd, err := mkdirAllAt(dir)
	if err != nil {
		return &fs.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	return r.withEntry("move", rel, check, func(parent int, name string) error {
		return unix.Renameat2(parent, name, fd, base, unix.RENAME_NOREPLACE)
	})
}

// mkdirAllAt makes the absolute directory path dir and its parents as needed, component by
// component, and returns a descriptor of it. Like os.MkdirAll it follows symlinks: the
// destination is configuration.
func mkdirAllAt(dir string) (int, error) {
	fd, err := retry(func() (int, error) { return unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0) })
	if err != nil {
		return -1, err
	}
	for comp := range strings.SplitSeq(strings.Trim(dir, "/"), "/") {
		if comp == "" {
			continue
		}
		if err := unix.Mkdirat(fd, comp, 0o750); err != nil && !errors.Is(err, unix.EEXIST) {
			unix.Close(fd)
			return -1, err
		}
		next, err := retry(func() (int, error) {
			return unix.Openat(fd, comp, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		})
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

func (r *Root) withEntry(op, rel string, check func(fs.FileInfo) error, act func(parent int, base string) error) error {
	clean, err := cleanRel(rel)
	if err != nil || clean == "." {
		if err == nil {
			err = ErrOutsideRoot
		}
		return &fs.PathError{Op: op, Path: rel, Err: err}
	}
	parent, base, done, err := r.parent(clean)
	if err != nil {
		return &fs.PathError{Op: op, Path: clean, Err: err}
	}
	defer done()
	fi, err := lstatAt(parent, base)
	if err != nil {
		return &fs.PathError{Op: op, Path: clean, Err: err}
	}
	if fi.IsDir() {
		return &fs.PathError{Op: op, Path: clean, Err: fmt.Errorf("%w: directory", ErrNotRegular)}
	}
	if check != nil {
		if err := check(fi); err != nil {
			return &fs.PathError{Op: op, Path: clean, Err: err}
		}
	}
	if err := act(parent, base); err != nil {
		return &fs.PathError{Op: op, Path: clean, Err: mapErr(err)}
	}
	return nil
}
