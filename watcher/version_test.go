package watcher

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/watcher/beneath"
)

// onDisk is the File the watcher reports for rel as it is now.
func onDisk(t *testing.T, rt Root, rel string) File {
	t.Helper()
	fi, err := beneath.Lstat(rt.Path, rel)
	if err != nil {
		t.Fatal(err)
	}
	f := statOf(fi).file(&root{Root: rt}, rel)
	f.Nlink = 0
	return f
}

// afterChangeTime waits until the clock is past the change time of p, so that the next
// change gets another change time even on a file system with coarse timestamps.
func afterChangeTime(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	ctime := beneath.ChangeTime(fi)
	deadline := time.Now().Add(waitTimeout)
	for !time.Now().After(ctime.Add(10 * time.Millisecond)) {
		if time.Now().After(deadline) {
			t.Fatal("the clock does not move past the change time")
		}
		time.Sleep(time.Millisecond)
	}
}

// rewriteKeeping writes content to p in place (same inode) and sets its mtime back.
func rewriteKeeping(t *testing.T, p, content string, mtime time.Time) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(content), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// A file rewritten in place with the same size and its mtime set back (touch -d) is a new
// version and is reported again; so is one removed and replaced by a copy of the same size
// and mtime (cp -p, tar x), on a reused inode or not. Before, the watcher compared size,
// mtime and inode only: neither was reported.
func TestRewriteKeepingSizeAndMtimeReportedAgain(t *testing.T) {
	const settle = 50 * time.Millisecond
	rt := testRoot(t, settle)
	p := filepath.Join(rt.Path, "trades.csv")
	write(t, p, "1000 shares at 10.00")
	mtime := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, rt)
	h.start()
	v1 := h.expect("trades.csv")["trades.csv"]

	afterChangeTime(t, p)
	rewriteKeeping(t, p, "9000 shares at 99.99", mtime)
	v2 := h.expect("trades.csv")["trades.csv"]
	for !v2.ModTime.Equal(mtime) { // the write may settle before the mtime is set back
		v2 = h.expect("trades.csv")["trades.csv"]
	}
	if v2.Size != v1.Size || !v2.ModTime.Equal(v1.ModTime) || v2.Inode != v1.Inode {
		t.Fatalf("test setup: v2 %+v is not v1 %+v with other bytes", v2.File, v1.File)
	}
	if v2.ChangeTime.Equal(v1.ChangeTime) {
		t.Fatalf("v2 reported with v1's change time %v", v1.ChangeTime)
	}

	afterChangeTime(t, p)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	write(t, p, "5000 shares at 55.55")
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	v3 := h.expect("trades.csv")["trades.csv"]
	for !v3.ModTime.Equal(mtime) { // the create may settle before the mtime is set back
		v3 = h.expect("trades.csv")["trades.csv"]
	}
	if v3.Size != v1.Size || v3.ChangeTime.Equal(v2.ChangeTime) {
		t.Fatalf("v3 %+v, v2 %+v", v3.File, v2.File)
	}
	h.rescanAndCheckQuiet("")
}

// What the journal recorded before a restart does not hide a rewrite made while the daemon
// was stopped, even with size, mtime and inode kept: the start-up scan's Known check
// compares the change time too.
func TestKnownComparesChangeTime(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	p := filepath.Join(rt.Path, "trades.csv")
	write(t, p, "1000 shares at 10.00")
	mtime := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, rt)
	v1 := onDisk(t, rt, "trades.csv")
	h.journal[versionKey(v1)] = true // archived by a previous run

	afterChangeTime(t, p)
	rewriteKeeping(t, p, "9000 shares at 99.99", mtime)
	h.start()
	v2 := h.expect("trades.csv")["trades.csv"]
	if v2.Size != v1.Size || !v2.ModTime.Equal(v1.ModTime) || v2.Inode != v1.Inode || v2.ChangeTime.Equal(v1.ChangeTime) {
		t.Fatalf("v2 %+v, v1 %+v", v2.File, v1)
	}
	h.rescanAndCheckQuiet("")
}

// An mtime after 2262 (touch -d 2300-01-01) is reported as it is: nanoseconds since 1970
// cannot hold it, and a wrapped mtime made the upload see another version than the one that
// settled, again and again.
func TestFarMtimeReportedAsItIs(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	p := filepath.Join(rt.Path, "old.txt")
	write(t, p, "old")
	mtime := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	ts := unix.Timespec{Sec: mtime.Unix()} // os.Chtimes cannot set it
	if err := unix.UtimesNano(p, []unix.Timespec{ts, ts}); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, rt)
	h.start()
	if got := h.expect("old.txt")["old.txt"]; !got.ModTime.Equal(mtime) {
		t.Fatalf("reported mtime %v, want %v", got.ModTime, mtime)
	}
	h.rescanAndCheckQuiet("")
}
