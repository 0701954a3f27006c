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
