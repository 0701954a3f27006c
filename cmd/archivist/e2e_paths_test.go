package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/journal"
)

// mkdeep creates below root directories whose relative path is longer than PATH_MAX (every
// component within NAME_MAX), with mkdirat relative to each parent's descriptor, and writes
// name with content at the bottom.
func mkdeep(t *testing.T, root, name, content string) {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	depth := 0
	for i := 0; depth <= unix.PathMax+200; i++ {
		dir := strings.Repeat(string(rune('a'+i%26)), 200)
		if err := unix.Mkdirat(fd, dir, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd, depth = next, depth+len(dir)+1
	}
	defer unix.Close(fd)
	ffd, err := unix.Openat(fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(ffd), name)
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

func TestE2EPathsDeeperThanPathMax(t *testing.T) {
	e := newEnv(t)
	mkdeep(t, e.inbox, "bottom.txt", "more than 4096 bytes down")
	e.write("shallow.txt", []byte("near the top"))
	d := e.start()
	await(t, 20*time.Second, "the deep file archived", func() bool {
		return e.archived("bottom.txt", []byte("more than 4096 bytes down")) && e.archived("shallow.txt", []byte("near the top"))
	})
	d.stop()
	if n := d.logCount("cannot stat"); n != 0 {
		t.Errorf("%d 'cannot stat' warnings", n)
	}
	if counts := e.checkJournal(); counts[journal.Posted] != 2 {
		t.Fatalf("counts %v, want 2 posted", counts)
	}
	if out := e.cli("reconcile"); !strings.Contains(out, "2 on disk, 2 archived") || !strings.Contains(out, "0 unexplained") {
		t.Fatalf("reconcile: %s", out)
	}
}

func TestE2ESymlinkSwapsHeldOnce(t *testing.T) {
	e := newEnv(t)
	d := e.start()
	await(t, 10*time.Second, "start-up scan", func() bool { return d.logCount("scan done") >= 1 })
	link := filepath.Join(e.inbox, "current")
	for i := range 40 { // ln -sfn: a new link renamed over the old one
		tmp := filepath.Join(e.inbox, ".current.tmp")
		if err := os.Symlink(fmt.Sprintf("/srv/releases/%d", i), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	e.write("marker.txt", []byte("after the swaps"))
	await(t, 20*time.Second, "marker archived", func() bool { return e.archived("marker.txt", []byte("after the swaps")) })
	d.stop()
	if counts := e.checkJournal(); counts[journal.Held] != 1 {
		t.Fatalf("counts %v, want 1 held record for the swapped link", counts)
	}
}

// TestE2EUnsearchableFolderHeld runs the daemon as an unprivileged user, for whom a folder it
// may list but not search holds entries it cannot examine.
func TestE2EUnsearchableFolderHeld(t *testing.T) {
	e := newEnv(t)
	e.write("listable/inside.txt", []byte("cannot be stat'ed"))
	e.write("public.txt", []byte("anyone reads this"))
	cred := e.unprivileged()
	if cred == nil {
		t.Skip("needs root to run the daemon as another user")
	}
	if err := os.Chmod(filepath.Join(e.inbox, "listable"), 0o704); err != nil { // others: read, no search
		t.Fatal(err)
	}
	d := e.startAs(cred)
	await(t, 20*time.Second, "readable file archived", func() bool { return e.archived("public.txt", []byte("anyone reads this")) })
	await(t, 10*time.Second, "unexaminable entry held", func() bool { return d.logCount("file held") >= 1 })
	d.stop()
	if n := d.logCount("cannot stat"); n != 0 {
		t.Errorf("%d 'cannot stat' warnings", n)
	}
	if !strings.Contains(d.output(), "cannot be examined") {
		t.Fatalf("the log does not say why:\n%s", d.output())
	}
	if counts := e.checkJournal(); counts[journal.Held] != 1 || counts[journal.Posted] != 1 {
		t.Fatalf("counts %v", counts)
	}
}
