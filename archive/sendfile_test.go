package archive

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
)

// rewritingArchive rewrites the file in place (same size, mtime set back) once, after it was
// hashed and just before its PUT sends it, and hands the lane's body to the transport as it
// is, so that it goes out by sendfile.
type rewritingArchive struct {
	Archive
	path string
	with []byte
	once sync.Once
}

func (m *rewritingArchive) PutFile(ctx context.Context, key, ct string, size int64, open func() (io.ReadCloser, error)) error {
	return m.Archive.PutFile(ctx, key, ct, size, func() (io.ReadCloser, error) {
		m.once.Do(func() {
			fi, err := os.Stat(m.path)
			if err != nil {
				panic(err)
			}
			if err := os.WriteFile(m.path, m.with, 0o644); err != nil {
				panic(err)
			}
			if err := os.Chtimes(m.path, fi.ModTime(), fi.ModTime()); err != nil {
				panic(err)
			}
		})
		return open()
	})
}

// The body goes out through the kernel without a second hash; a rewrite during the PUT that
// keeps size and mtime is caught by the change time before the held-back tail is released:
// the key never receives the new bytes, the old version is never recorded as archived, and
// the new version is archived under its own key.
func TestRewriteDuringKernelSentPutIsNeverArchivedUnderTheOldKey(t *testing.T) {
	h := newHarness(t)
	old := bytes.Repeat([]byte("old bytes "), 100_000)
	rewritten := bytes.Repeat([]byte("NEW BYTES "), 100_000)
	h.drop("report.bin", old)
	id := h.record("report.bin").ID
	h.waitPastChangeTime("report.bin")
	h.start(&rewritingArchive{Archive: h.client, path: filepath.Join(h.root, "report.bin"), with: rewritten})
	r := h.awaitState(id, journal.Superseded)
	if !strings.Contains(r.Reason, "change time") {
		t.Fatalf("reason %q: want the change time to have caught the rewrite", r.Reason)
	}
	if files := h.sb.Files(); len(files) != 0 {
		t.Fatalf("the sandbox stored %v: a key received bytes other than its hash", files)
	}
	if r.SHA256 != "" || r.FileKey != "" {
		t.Fatalf("the abandoned version was recorded as sent: %+v", r)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("report.bin")}); err != nil {
		t.Fatal(err)
	}
	nr := h.awaitState(h.record("report.bin").ID, journal.Posted)
	if nr.SHA256 != sha256Of(rewritten) || nr.FileKey != filekey.Build("teams", sha256Of(rewritten), "report.bin") {
		t.Fatalf("new version recorded as %s under %s", nr.SHA256, nr.FileKey)
	}
	for _, f := range h.sb.Files() {
		if f.SHA256 != sha256Of(rewritten) || !strings.Contains(f.Key, f.SHA256) {
			t.Fatalf("stored %+v: its bytes are not the ones its key names", f)
		}
	}
}

// A small file is read once, into memory, and its PUT sends those bytes: a rewrite after the
// read (same size, mtime set back) cannot reach the key, which receives exactly the bytes it
// was named after; the version read is archived, and the rewritten one under its own key once
// it is recorded.
func TestSmallFileIsSentFromTheBytesItWasHashedFrom(t *testing.T) {
	h := newHarness(t)
	old, rewritten := []byte("totals: 1,2,3\n"), []byte("totals: 9,9,9\n")
	h.drop("totals.csv", old)
	id := h.record("totals.csv").ID
	h.start(&rewritingArchive{Archive: h.client, path: filepath.Join(h.root, "totals.csv"), with: rewritten})
	r := h.awaitState(id, journal.Posted)
	if r.SHA256 != sha256Of(old) {
		t.Fatalf("recorded sha256 %s, want the bytes read (%s)", r.SHA256, sha256Of(old))
	}
	files := h.sb.Files()
	if len(files) != 1 || files[0].SHA256 != sha256Of(old) || files[0].Key != r.FileKey {
		t.Fatalf("the sandbox stored %+v: want the bytes read, under their key %s", files, r.FileKey)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("totals.csv")}); err != nil {
		t.Fatal(err)
	}
	nr := h.awaitState(h.record("totals.csv").ID, journal.Posted)
	if nr.ID == id || nr.SHA256 != sha256Of(rewritten) || nr.FileKey != filekey.Build("teams", sha256Of(rewritten), "totals.csv") {
		t.Fatalf("rewritten version recorded as #%d %s under %s", nr.ID, nr.SHA256, nr.FileKey)
	}
}
