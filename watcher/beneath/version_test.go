package beneath

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The change time moves when content is rewritten and mtime set back; the birth time, where
// the file system reports it, stays; Fstat and Lstat agree.
func TestChangeAndBirthTime(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a")
	if err := os.WriteFile(p, []byte("1000 shares at 10.00"), 0o600); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	before, err := Lstat(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	if ChangeTime(before).IsZero() {
		t.Fatal("no change time")
	}
	f, err := Open(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	viaFd, err := Fstat(f)
	if err != nil {
		t.Fatal(err)
	}
	if !ChangeTime(viaFd).Equal(ChangeTime(before)) || !BirthTime(viaFd).Equal(BirthTime(before)) || viaFd.Size() != before.Size() {
		t.Fatalf("Fstat %v/%v, Lstat %v/%v", ChangeTime(viaFd), BirthTime(viaFd), ChangeTime(before), BirthTime(before))
	}
	t.Logf("birth time reported: %v", !BirthTime(before).IsZero())

	// Wait until the clock has moved past the first change time, so the next one differs
	// even on a file system with coarse timestamps.
	for deadline := time.Now().Add(5 * time.Second); !time.Now().After(ChangeTime(before).Add(10 * time.Millisecond)); {
		if time.Now().After(deadline) {
			t.Fatal("clock does not move")
		}
		time.Sleep(time.Millisecond)
	}
	if err := os.WriteFile(p, []byte("9000 shares at 99.99"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	after, err := Lstat(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Fatalf("test setup: mtime/size differ: %v %d vs %v %d", after.ModTime(), after.Size(), before.ModTime(), before.Size())
	}
	if ChangeTime(after).Equal(ChangeTime(before)) {
		t.Fatalf("change time %v did not move on a rewrite", ChangeTime(after))
	}
	if !BirthTime(after).Equal(BirthTime(before)) {
		t.Fatalf("birth time moved on a rewrite in place: %v, was %v", BirthTime(after), BirthTime(before))
	}
}

// Without statx (an old kernel, a seccomp filter) stat falls back to fstatat: the same
// description, without the birth time.
func TestStatWithoutStatx(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An mtime that nanoseconds since 1970 cannot hold survives both ways.
	far := time.Date(2300, 1, 1, 0, 0, 0, 5, time.UTC)
	setTimes(t, filepath.Join(dir, "a"), far)
	with, err := Lstat(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	noStatx.Store(true)
	defer noStatx.Store(false)
	without, err := Lstat(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !BirthTime(without).IsZero() {
		t.Errorf("birth time %v without statx", BirthTime(without))
	}
	if *with.Sys().(*unix.Stat_t) != *without.Sys().(*unix.Stat_t) {
		t.Errorf("statx gave %+v, fstatat %+v", with.Sys(), without.Sys())
	}
	if !with.ModTime().Equal(far) {
		t.Errorf("mtime %v, want %v", with.ModTime(), far)
	}
}

// setTimes sets p's atime and mtime to tm, which os.Chtimes cannot for a time outside what
// nanoseconds since 1970 hold.
func setTimes(t *testing.T, p string, tm time.Time) {
	t.Helper()
	ts := unix.Timespec{Sec: tm.Unix(), Nsec: int64(tm.Nanosecond())}
	if err := unix.UtimesNano(p, []unix.Timespec{ts, ts}); err != nil {
		t.Fatal(err)
	}
}
