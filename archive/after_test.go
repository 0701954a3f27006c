package archive

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/globalrelay"
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

// downArchive fails every call transiently once down is set: Global Relay is unreachable.
type downArchive struct {
	Archive
	down atomic.Bool
}

func (a *downArchive) PutFile(ctx context.Context, key, ct string, size int64, open func() (io.ReadCloser, error)) error {
	if a.down.Load() {
		return errors.New("connection refused")
	}
	return a.Archive.PutFile(ctx, key, ct, size, open)
}

func (a *downArchive) PostConversation(ctx context.Context, c *globalrelay.Conversation) (*globalrelay.PostResult, error) {
	if a.down.Load() {
		return nil, errors.New("connection refused")
	}
	return a.Archive.PostConversation(ctx, c)
}

// pauseArchive takes Global Relay down and waits until the pipeline has paused it for an
// hour (the backoff of these tests): nothing that needs Global Relay runs after that.
func pauseArchive(h *harness, a *downArchive) {
	h.t.Helper()
	a.down.Store(true)
	h.drop("trigger.txt", []byte("fails to upload"))
	await(h.t, "archive paused", func() bool { return !h.p.Health().Up })
}

var hourBackoff = func(po *Options, _ *sandbox.Options) { po.Backoff = failure.Backoff{Min: time.Hour, Max: time.Hour} }

// Disposing of an archived file needs the disk and the journal, not Global Relay: a pause of
// the archive must not stop it. (Before the after lane had its own loop it ran behind
// Global Relay's gate and waited for the archive to come back.)
func TestDisposalRunsWhileTheArchiveIsPaused(t *testing.T) {
	h := newHarness(t, afterMode(AfterDelete, "", 500*time.Millisecond), hourBackoff)
	a := &downArchive{Archive: h.client}
	h.start(a)
	h.drop("old.txt", []byte("archived before the outage"))
	id := h.record("old.txt").ID
	h.awaitState(id, journal.Posted)
	pauseArchive(h, a)
	await(t, "file deleted during the pause", func() bool {
		r, _ := h.j.Get(id)
		return r.Disposed == "deleted"
	})
	if _, err := os.Stat(filepath.Join(h.root, "old.txt")); !os.IsNotExist(err) {
		t.Fatalf("old.txt not deleted: %v", err)
	}
}

// An attachment no transcript referenced in time goes loose while the archive is paused: its
// forwards do not wait for Global Relay (only its File_transfer event does).
func TestLooseFilePromotionRunsWhileTheArchiveIsPaused(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, 500*time.Millisecond), hourBackoff)
	a := &downArchive{Archive: h.client}
	h.start(a)
	h.drop("lonely.pdf", pdf)
	id := h.record("lonely.pdf").ID
	h.awaitState(id, journal.Uploaded)
	pauseArchive(h, a)
	await(t, "attachment promoted to a loose file during the pause", func() bool {
		r, _ := h.j.Get(id)
		_, waiting := r.Due(journal.LaneLoose)
		_, posting := r.Due(journal.LanePost)
		return !waiting && posting
	})
}

// A disposal done on disk but not recorded (the journal failed) says so in the log, and is
// recorded once the journal works again. (Before, it was dropped without a line of its own.)
func TestDisposalThatCannotBeRecordedIsLoggedAndRecordedLater(t *testing.T) {
	logs := &logBuffer{}
	log := logrus.New()
	log.SetFormatter(&logrus.JSONFormatter{})
	log.SetOutput(logs)
	h := newHarness(t, afterMode(AfterDelete, "", 0), func(po *Options, _ *sandbox.Options) { po.Logger = log })
	h.j.Close()
	// The journal refuses every write once the file is gone from disk, until healed.
	var healed atomic.Bool
	gone := filepath.Join(h.root, "a.txt")
	j, err := journal.Open(h.j.Path(), journal.Options{WriteFault: func() error {
		if _, err := os.Lstat(gone); os.IsNotExist(err) && !healed.Load() {
			return syscall.EROFS
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	h.j = j
	h.p = New(h.j, h.client, h.po)
	h.start(nil)
	h.drop("a.txt", []byte("delete me"))
	id := h.record("a.txt").ID
	await(t, "a log line for the unrecorded disposal", func() bool {
		n, _ := logs.count("disposed of, but the journal could not record it")
		return n > 0
	})
	healed.Store(true)
	await(t, "the disposal recorded", func() bool {
		r, _ := h.j.Get(id)
		return r.Disposed != ""
	})
}
