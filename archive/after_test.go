package archive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/journal"
)

func afterMode(mode, doneDir string, retention time.Duration) harnessOpt {
	return func(po *Options, _ *sandbox.Options) {
		po.Watches[0].After, po.Watches[0].DoneDir, po.Watches[0].Retention = mode, doneDir, retention
	}
}

func TestAfterMoveKeepsTheRelativePath(t *testing.T) {
	done := filepath.Join(t.TempDir(), "done")
	h := newHarness(t, afterMode(AfterMove, done, 0))
	h.start(nil)
	h.drop("exports/2026/a.txt", []byte("move me"))
	id := h.record("exports/2026/a.txt").ID
	await(t, "file moved", func() bool {
		r, _ := h.j.Get(id)
		return strings.HasPrefix(r.Disposed, "moved to ")
	})
	if b, err := os.ReadFile(filepath.Join(done, "exports/2026/a.txt")); err != nil || string(b) != "move me" {
		t.Fatalf("moved file: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(h.root, "exports/2026/a.txt")); !os.IsNotExist(err) {
		t.Fatalf("file still in the watch: %v", err)
	}
	if r, _ := h.j.Get(id); r.State != journal.Posted {
		t.Fatalf("record state %s after the move", r.State)
	}
}

func TestAfterDeleteWaitsForRetentionAndNeverDeletesANewerVersion(t *testing.T) {
	h := newHarness(t, afterMode(AfterDelete, "", 300*time.Millisecond))
	h.start(nil)
	h.drop("gone.txt", []byte("delete me"))
	h.drop("changed.txt", []byte("version one"))
	gone, changed := h.record("gone.txt").ID, h.record("changed.txt").ID
	h.awaitState(changed, journal.Posted)
	// Rewritten after it was archived, before the retention passed: the new version must stay.
	os.WriteFile(filepath.Join(h.root, "changed.txt"), []byte("version two, not archived yet"), 0o644)
	if _, err := os.Stat(filepath.Join(h.root, "gone.txt")); err != nil {
		t.Fatal("deleted before the retention passed")
	}
	await(t, "disposals done", func() bool {
		a, _ := h.j.Get(gone)
		b, _ := h.j.Get(changed)
		return a.Disposed != "" && b.Disposed != ""
	})
	if _, err := os.Stat(filepath.Join(h.root, "gone.txt")); !os.IsNotExist(err) {
		t.Fatalf("gone.txt not deleted: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(h.root, "changed.txt")); string(b) != "version two, not archived yet" {
		t.Fatalf("the newer version was touched: %q", b)
	}
	if r, _ := h.j.Get(changed); !strings.Contains(r.Disposed, "changed since it was archived") {
		t.Fatalf("disposed %q", r.Disposed)
	}
}
