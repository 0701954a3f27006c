package beneath

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fixture builds a root with one of every kind of entry, plus a directory
// outside the root that symlinks point into.
func fixture(t *testing.T) (root string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "dir"), filepath.Join(root, "dir", "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "file.txt"), "hello")
	write(filepath.Join(root, "dir", "inner.txt"), "inner")
	write(filepath.Join(root, "dir", "sub", "deep.txt"), "deep")
	write(filepath.Join(outside, "secret"), "secret")
	symlink := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	symlink(filepath.Join(outside, "secret"), "link")
	symlink(outside, "linkdir")
	symlink("file.txt", "inlink")
	symlink("dir", "indirlink")
	if err := unix.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Socket paths are limited to ~108 bytes; bind relative to the root.
	wd, _ := os.Getwd()
	if err := os.Chdir(root); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", "sock")
	os.Chdir(wd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return root
}

// withBothResolvers runs f once with openat2 and once with the per-component
// fallback used where openat2 is unavailable.
func withBothResolvers(t *testing.T, f func(t *testing.T)) {
	t.Run("openat2", f)
	t.Run("fallback", func(t *testing.T) {
		prev := noOpenat2.Load()
		noOpenat2.Store(true)
		t.Cleanup(func() { noOpenat2.Store(prev) })
		f(t)
	})
}

func TestOpen(t *testing.T) {
	root := fixture(t)
	tests := []struct {
		rel     string
		want    string // content on success
		wantErr error
		kind    string // named in the error message
	}{
		{rel: "file.txt", want: "hello"},
		{rel: "dir/inner.txt", want: "inner"},
		{rel: "dir/sub/deep.txt", want: "deep"},
		{rel: "./dir//inner.txt", want: "inner"},
		{rel: "dir/../file.txt", want: "hello"},
		{rel: "link", wantErr: ErrSymlink},
		{rel: "inlink", wantErr: ErrSymlink},
		{rel: "linkdir/secret", wantErr: ErrSymlink},
		{rel: "indirlink/inner.txt", wantErr: ErrSymlink},
		{rel: "../x", wantErr: ErrOutsideRoot},
		{rel: "../outside/secret", wantErr: ErrOutsideRoot},
		{rel: "dir/../../outside/secret", wantErr: ErrOutsideRoot},
		{rel: "/etc/passwd", wantErr: ErrOutsideRoot},
		{rel: "fifo", wantErr: ErrNotRegular, kind: "named pipe (FIFO)"},
		{rel: "sock", wantErr: ErrNotRegular, kind: "socket"},
		{rel: "dir", wantErr: ErrNotRegular, kind: "directory"},
		{rel: ".", wantErr: ErrNotRegular, kind: "directory"},
		{rel: "missing", wantErr: fs.ErrNotExist},
		{rel: "file.txt/x", wantErr: unix.ENOTDIR},
	}
	withBothResolvers(t, func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.rel, func(t *testing.T) {
				f, err := openWithin(t, root, tt.rel)
				if tt.wantErr != nil {
					if f != nil {
						f.Close()
					}
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("Open(%q) = %v, want %v", tt.rel, err, tt.wantErr)
					}
					if tt.kind != "" && !strings.Contains(err.Error(), tt.kind) {
						t.Fatalf("Open(%q) error %q does not name %q", tt.rel, err, tt.kind)
					}
					return
				}
				if err != nil {
					t.Fatalf("Open(%q): %v", tt.rel, err)
				}
				defer f.Close()
				b, err := io.ReadAll(f)
				if err != nil || string(b) != tt.want {
					t.Fatalf("read %q = %q, %v; want %q", tt.rel, b, err, tt.want)
				}
				assertBlocking(t, f)
			})
		}
	})
}

// openWithin calls Open and fails the test if it does not return quickly: a
// FIFO must be refused, never waited on.
func openWithin(t *testing.T, root, rel string) (*os.File, error) {
	t.Helper()
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := Open(root, rel)
		ch <- result{f, err}
	}()
	select {
	case r := <-ch:
		return r.f, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("Open(%q) blocked", rel)
		return nil, nil
	}
}

func assertBlocking(t *testing.T, f *os.File) {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ferr error
	rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) })
	if ferr != nil {
		t.Fatal(ferr)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Fatal("O_NONBLOCK still set on a regular file")
	}
}

func TestOpenDevice(t *testing.T) {
	root := t.TempDir()
	err := unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
	if err != nil {
		t.Skipf("cannot create a device node here: %v", err)
	}
	_, err = openWithin(t, root, "null")
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "device") {
		t.Fatalf("Open(device) = %v, want ErrNotRegular naming the device", err)
	}
}

// lstatCases are what Lstat and Lstats must say of the entries of fixture.
var lstatCases = []struct {
	rel     string
	kind    string
	wantErr error
}{
	{rel: "file.txt", kind: "file"},
	{rel: "dir", kind: "directory"},
	{rel: ".", kind: "directory"},
	{rel: "", kind: "directory"},
	{rel: "link", kind: "symlink"},
	{rel: "linkdir", kind: "symlink"},
	{rel: "fifo", kind: "named pipe (FIFO)"},
	{rel: "sock", kind: "socket"},
	{rel: "dir/sub/deep.txt", kind: "file"},
	{rel: "dir/inner.txt", kind: "file"},
	{rel: "linkdir/secret", wantErr: ErrSymlink},
	{rel: "indirlink/inner.txt", wantErr: ErrSymlink},
	{rel: "../outside/secret", wantErr: ErrOutsideRoot},
	{rel: "/etc/passwd", wantErr: ErrOutsideRoot},
	{rel: "missing", wantErr: fs.ErrNotExist},
	{rel: "dir/missing", wantErr: fs.ErrNotExist},
}

// checkLstat checks lstat against lstatCases in root.
func checkLstat(t *testing.T, root string, lstat func(rel string) (fs.FileInfo, error)) {
	t.Helper()
	for _, tt := range lstatCases {
		fi, err := lstat(tt.rel)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Lstat(%q) = %v, want %v", tt.rel, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Lstat(%q): %v", tt.rel, err)
			continue
		}
		if got := Kind(fi); got != tt.kind {
			t.Errorf("Kind(Lstat(%q)) = %q, want %q", tt.rel, got, tt.kind)
		}
		// Must agree with os.Lstat, which callers may mix in.
		ofi, err := os.Lstat(filepath.Join(root, tt.rel))
		if err != nil {
			t.Fatal(err)
		}
		if ofi.Mode() != fi.Mode() || ofi.Size() != fi.Size() || !ofi.ModTime().Equal(fi.ModTime()) {
			t.Errorf("Lstat(%q) = %v %d %v; os.Lstat = %v %d %v", tt.rel,
				fi.Mode(), fi.Size(), fi.ModTime(), ofi.Mode(), ofi.Size(), ofi.ModTime())
		}
		if _, ok := fi.Sys().(*unix.Stat_t); !ok {
			t.Errorf("Sys() = %T, want *unix.Stat_t", fi.Sys())
		}
	}
}

func TestLstat(t *testing.T) {
	root := fixture(t)
	withBothResolvers(t, func(t *testing.T) {
		checkLstat(t, root, func(rel string) (fs.FileInfo, error) { return Lstat(root, rel) })
	})
}

// One Lstats answers every look-up as Lstat does, twice over (the second time from the
// folders it keeps), and holds no descriptor once closed.
func TestLstats(t *testing.T) {
	root := fixture(t)
	withBothResolvers(t, func(t *testing.T) {
		before := openFDs(t)
		l := NewLstats(root)
		for range 2 {
			checkLstat(t, root, l.Lstat)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if after := openFDs(t); after != before {
			t.Fatalf("%d descriptors open after Close, %d before", after, before)
		}
	})
	if _, err := NewLstats(filepath.Join(root, "missing")).Lstat("file.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Lstat beneath a missing root: %v, want fs.ErrNotExist", err)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(des)
}

func TestOpenDir(t *testing.T) {
	root := fixture(t)
	withBothResolvers(t, func(t *testing.T) {
		r, err := OpenRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()

		d, err := r.OpenDir("dir")
		if err != nil {
			t.Fatal(err)
		}
		names, err := d.Names()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		if want := []string{"inner.txt", "sub"}; !slices.Equal(names, want) {
			t.Fatalf("Names() = %q, want %q", names, want)
		}
		fi, err := d.Lstat("sub")
		if err != nil || !fi.IsDir() {
			t.Fatalf("Lstat(sub) = %v, %v", fi, err)
		}
		if _, err := d.Lstat("../file.txt"); !errors.Is(err, ErrOutsideRoot) {
			t.Fatalf("Dir.Lstat(../file.txt) = %v, want ErrOutsideRoot", err)
		}
		d.Close()

		for rel, want := range map[string]error{
			"linkdir":   ErrSymlink,
			"indirlink": ErrSymlink,
			"file.txt":  ErrNotDir,
			"fifo":      ErrNotDir,
			"../":       ErrOutsideRoot,
			"missing":   fs.ErrNotExist,
		} {
			if d, err := r.OpenDir(rel); !errors.Is(err, want) {
				if d != nil {
					d.Close()
				}
				t.Errorf("OpenDir(%q) = %v, want %v", rel, err, want)
			}
		}
		d, err = r.OpenDir("")
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
	})
}

func TestKind(t *testing.T) {
	root := fixture(t)
	for name, want := range map[string]string{
		"file.txt": "file",
		"dir":      "directory",
		"link":     "symlink",
		"fifo":     "named pipe (FIFO)",
		"sock":     "socket",
	} {
		fi, err := os.Lstat(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := Kind(fi); got != want {
			t.Errorf("Kind(%s) = %q, want %q", name, got, want)
		}
	}
	fi, err := os.Lstat("/dev/null")
	if err == nil && Kind(fi) != "device" {
		t.Errorf("Kind(/dev/null) = %q, want device", Kind(fi))
	}
}

// deepTree builds, below root, directories whose relative path is longer than PATH_MAX (every
// component within NAME_MAX) with mkdirat relative to each parent's descriptor, and a file
// "leaf.txt" holding content at the bottom. It returns the file's relative path.
func deepTree(t *testing.T, root, content string) string {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for i := 0; len(strings.Join(rel, "/")) <= unix.PathMax+200; i++ {
		name := strings.Repeat(string(rune('a'+i%26)), 200)
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd, rel = next, append(rel, name)
	}
	defer unix.Close(fd)
	ffd, err := unix.Openat(fd, "leaf.txt", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(ffd), "leaf.txt")
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(append(rel, "leaf.txt"), "/")
}

func TestDeeperThanPathMax(t *testing.T) {
	root := t.TempDir()
	rel := deepTree(t, root, "deep content")
	if len(rel) <= unix.PathMax {
		t.Fatalf("test tree is only %d bytes deep", len(rel))
	}
	dir := rel[:strings.LastIndexByte(rel, '/')]
	withBothResolvers(t, func(t *testing.T) {
		f, err := Open(root, rel)
		if err != nil {
			t.Fatalf("Open of a %d-byte path: %v", len(rel), err)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil || string(b) != "deep content" {
			t.Fatalf("read %q, %v", b, err)
		}
		fi, err := Lstat(root, rel)
		if err != nil || fi.Size() != int64(len("deep content")) || Kind(fi) != "file" {
			t.Fatalf("Lstat: %v, %v", fi, err)
		}
		r, err := OpenRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		d, err := r.OpenDir(dir)
		if err != nil {
			t.Fatalf("OpenDir: %v", err)
		}
		names, err := d.Names()
		d.Close()
		if err != nil || !slices.Equal(names, []string{"leaf.txt"}) {
			t.Fatalf("Names = %q, %v", names, err)
		}
	})
	// The guarantees hold at depth: a symlink deep down is refused, not followed.
	linkDir := dir[:strings.LastIndexByte(dir, '/')]
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d, err := r.OpenDir(linkDir)
	if err != nil {
		t.Fatal(err)
	}
	err = unix.Symlinkat("/etc", d.fd, "link")
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	withBothResolvers(t, func(t *testing.T) {
		if _, err := Open(root, linkDir+"/link/passwd"); !errors.Is(err, ErrSymlink) {
			t.Fatalf("Open through a deep symlink: %v, want ErrSymlink", err)
		}
	})
}

func TestPieces(t *testing.T) {
	for _, c := range []struct {
		p    string
		max  int
		want []string
	}{
		{"a/b/c", 10, []string{"a/b/c"}},
		{"aa/bb/cc", 5, []string{"aa/bb", "cc"}},
		{"aa/bb/cc", 2, []string{"aa", "bb", "cc"}},
		{"aaaa/b", 2, []string{"aaaa", "b"}},
		{"aaaa", 2, []string{"aaaa"}},
	} {
		if got := pieces(c.p, c.max); !slices.Equal(got, c.want) {
			t.Errorf("pieces(%q, %d) = %q, want %q", c.p, c.max, got, c.want)
		}
	}
}

func TestMoveOutDeeperThanPathMax(t *testing.T) {
	root := t.TempDir()
	rel := deepTree(t, root, "to be moved")
	done := t.TempDir()
	r, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dst := filepath.Join(done, filepath.FromSlash(rel))
	if err := r.MoveOut(rel, dst, nil); err != nil {
		t.Fatalf("MoveOut to a %d-byte destination: %v", len(dst), err)
	}
	if _, err := r.Lstat(rel); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("source after the move: %v", err)
	}
	f, err := Open(done, rel)
	if err != nil {
		t.Fatalf("the moved file: %v", err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(b) != "to be moved" {
		t.Fatalf("moved file holds %q, %v", b, err)
	}
	// Never replaces: a second move onto the same name fails with ErrExist.
	rel2 := rel[:strings.LastIndexByte(rel, '/')] + "/second.txt"
	d, err := r.OpenDir(rel2[:strings.LastIndexByte(rel2, '/')])
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Openat(d.fd, "second.txt", unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if err := r.MoveOut(rel2, dst, nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("move onto an existing name: %v, want ErrExist", err)
	}
}
