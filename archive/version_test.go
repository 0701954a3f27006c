package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
)

// sha256Of is the hex SHA-256 of b.
func sha256Of(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// waitPastChangeTime waits until the clock is past rel's change time, so that the next
// change gets another one even on a file system with coarse timestamps.
func (h *harness) waitPastChangeTime(rel string) {
	h.t.Helper()
	ctime := h.stat(rel).ChangeTime
	await(h.t, "the clock past the change time", func() bool { return time.Now().After(ctime.Add(10 * time.Millisecond)) })
}

func (h *harness) rechecked(what string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.recheck, what)
}

// archivedAndDisposed archives the file as the watcher reports it now, disposes of it, and
// returns its record.
func (h *harness) archivedAndDisposed(rel string) *journal.Record {
	h.t.Helper()
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat(rel)}); err != nil {
		h.t.Fatal(err)
	}
	r := h.awaitState(h.record(rel).ID, journal.Posted)
	h.p.disposer.Dispose(r.ID)
	r, err := h.j.Get(r.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// The real case: v1 "1000 shares at 10.00" archived; v2 "9000 shares at 99.99", the same
// size, written in place with the mtime set back; after: delete. v1's disposal must keep the
// file (v2 is not archived), hand it to the watcher, and v2 is archived before it is deleted.
// Before, the disposal compared size, mtime and inode only, and deleted v2.
func TestAfterDeleteNeverDeletesBytesNotArchived(t *testing.T) {
	for _, how := range []string{"rewritten in place", "removed and replaced (cp -p)"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t, afterMode(AfterDelete, "", time.Hour))
			h.start(nil)
			v1, v2 := []byte("1000 shares at 10.00"), []byte("9000 shares at 99.99")
			p := filepath.Join(h.root, "trades.csv")
			mtime := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
			if err := os.WriteFile(p, v1, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			if err := h.p.Intake(h.ctx, []watcher.File{h.stat("trades.csv")}); err != nil {
				t.Fatal(err)
			}
			first := h.awaitState(h.record("trades.csv").ID, journal.Posted)

			h.waitPastChangeTime("trades.csv")
			if how == "rewritten in place" {
				f, err := os.OpenFile(p, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt(v2, 0); err != nil {
					t.Fatal(err)
				}
				f.Close()
			} else {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, v2, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}

			h.p.disposer.Dispose(first.ID)
			if b, err := os.ReadFile(p); err != nil || string(b) != string(v2) {
				t.Fatalf("v2 was deleted or touched by v1's disposal: %q, %v", b, err)
			}
			if r, _ := h.j.Get(first.ID); !strings.HasPrefix(r.Disposed, "kept: ") || r.State != journal.Posted {
				t.Fatalf("v1's record: %s, disposed %q", r.State, r.Disposed)
			}
			if !h.rechecked("teams:trades.csv") {
				t.Fatal("v2 was not handed to the watcher")
			}

			second := h.archivedAndDisposed("trades.csv")
			if second.ID == first.ID || second.SHA256 != sha256Of(v2) {
				t.Fatalf("v2's record #%d has sha256 %s, want %s", second.ID, second.SHA256, sha256Of(v2))
			}
			if f, ok := h.sb.File(second.FileKey); !ok || f.SHA256 != sha256Of(v2) {
				t.Fatalf("v2 is not in the archive: %+v, %v", f, ok)
			}
			if second.Disposed != "deleted" {
				t.Fatalf("archived v2 disposed %q", second.Disposed)
			}
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Fatalf("archived v2 still on disk: %v", err)
			}
		})
	}
}

// Bytes that differ from the archived ones while every piece of metadata matches (a write
// that leaves no trace, a damaged disk) are caught by the re-read before a deletion: the file
// is kept and recorded again as a new version.
func TestAfterDeleteRereadsTheBytes(t *testing.T) {
	h := newHarness(t, afterMode(AfterDelete, "", time.Hour))
	h.start(nil)
	h.drop("trades.csv", []byte("1000 shares at 10.00"))
	id := h.awaitState(h.record("trades.csv").ID, journal.Posted).ID
	// What the archive holds is other bytes than the file's, with the same metadata.
	if err := h.j.Update(id, func(r *journal.Record) ([]journal.Entry, error) {
		r.SHA256 = sha256Of([]byte("9000 shares at 99.99"))
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	h.p.disposer.Dispose(id)
	if _, err := os.Stat(filepath.Join(h.root, "trades.csv")); err != nil {
		t.Fatalf("file whose bytes are not the archived ones was disposed of: %v", err)
	}
	r, _ := h.j.Get(id)
	if !strings.Contains(r.Disposed, "not the archived ones") {
		t.Fatalf("disposed %q", r.Disposed)
	}
	if _, ok := current(t, h.j, "teams", "trades.csv"); ok {
		t.Fatal("the record still claims the file's version: the watcher would skip it")
	}
	if !h.rechecked("teams:trades.csv") {
		t.Fatal("file not handed to the watcher")
	}
	if again := h.archivedAndDisposed("trades.csv"); again.ID == id || again.Disposed != "deleted" {
		t.Fatalf("new version #%d (was #%d) disposed %q", again.ID, id, again.Disposed)
	}
}

// A file rewritten between settling and its upload, with size and mtime kept, is not the
// version that settled: the upload supersedes it (the watcher records the new version)
// instead of sending the new bytes as the old version.
func TestUploadChecksTheChangeTime(t *testing.T) {
	h := newHarness(t)
	p := filepath.Join(h.root, "trades.csv")
	mtime := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	if err := os.WriteFile(p, []byte("1000 shares at 10.00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	settled := h.stat("trades.csv")
	h.waitPastChangeTime("trades.csv")
	if err := os.WriteFile(p, []byte("9000 shares at 99.99"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{settled}); err != nil {
		t.Fatal(err)
	}
	h.start(nil)
	r := h.awaitState(h.record("trades.csv").ID, journal.Superseded)
	if !strings.Contains(r.Reason, "change time") {
		t.Fatalf("reason %q", r.Reason)
	}
	if n := len(h.sb.Files()); n != 0 {
		t.Fatalf("%d files archived as the settled version", n)
	}
	await(t, "the new version handed to the watcher", func() bool { return h.rechecked("teams:trades.csv") })
}

// Reconciliation compares the whole identity: a file rewritten with size, mtime and inode
// kept is unexplained (before, it counted as archived).
func TestReconcileComparesTheChangeTime(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	p := filepath.Join(h.root, "trades.csv")
	mtime := time.Now().Add(-time.Hour)
	if err := os.WriteFile(p, []byte("1000 shares at 10.00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("trades.csv")}); err != nil {
		t.Fatal(err)
	}
	h.awaitState(h.record("trades.csv").ID, journal.Posted)
	h.waitPastChangeTime("trades.csv")
	if err := os.WriteFile(p, []byte("9000 shares at 99.99"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	s, err := h.p.Reconcile(h.ctx, time.Hour, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Archived != 0 || s.Unexplained != 1 || !h.rechecked("teams:trades.csv") {
		t.Fatalf("summary %+v, rechecked %v", s, h.recheck)
	}
}

// A verifying reconciliation reads archived files again: bytes that differ from the archived
// ones with the same metadata are unexplained and requeued as a new version; a sample reads
// as many files as asked for.
func TestReconcileVerify(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	var ids []uint64
	for _, name := range []string{"a.csv", "b.csv", "c.csv"} {
		h.drop(name, []byte("content of "+name))
		ids = append(ids, h.awaitState(h.record(name).ID, journal.Posted).ID)
	}
	s, err := h.p.Reconcile(h.ctx, time.Hour, true, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Verified != 2 || s.Mismatched != 0 || s.Archived != 3 || s.Unexplained != 0 {
		t.Fatalf("sample of 2: %+v", s)
	}
	// The archive holds other bytes for b.csv than the file has, metadata alike.
	if err := h.j.Update(ids[1], func(r *journal.Record) ([]journal.Entry, error) {
		r.SHA256 = sha256Of([]byte("what was archived"))
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if s, err = h.p.Reconcile(h.ctx, time.Hour, true, 0); err != nil || s.Archived != 3 || s.Unexplained != 0 {
		t.Fatalf("without verify: %+v, %v", s, err)
	}
	if s, err = h.p.Reconcile(h.ctx, time.Hour, true, VerifyAll); err != nil {
		t.Fatal(err)
	}
	if s.Verified != 2 || s.Mismatched != 1 || s.Archived != 2 || s.Unexplained != 1 || len(s.Examples) != 1 || s.Examples[0] != "teams:b.csv" {
		t.Fatalf("verify all: %+v", s)
	}
	if _, ok := current(t, h.j, "teams", "b.csv"); ok {
		t.Fatal("the mismatched record still claims the file's version")
	}
	if !h.rechecked("teams:b.csv") || h.rechecked("teams:a.csv") {
		t.Fatalf("rechecked %v", h.recheck)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("b.csv")}); err != nil {
		t.Fatal(err)
	}
	if again := h.record("b.csv"); again.ID == ids[1] {
		t.Fatal("the requeued file was not recorded as a new version")
	}
}
