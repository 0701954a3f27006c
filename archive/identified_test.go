package archive

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
)

// A file the watcher identified while it settled is sent with that identification: the
// upload lane does not read it again (the MIME type here is one sniffing would not give).
func TestIdentifiedWhileSettlingIsUploadedWithoutASecondRead(t *testing.T) {
	h := newHarness(t)
	content := bytes.Repeat([]byte("plain text "), 1000)
	path := filepath.Join(h.root, "notes.txt")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f := h.stat("notes.txt")
	f.SHA256, f.MIME = sha256Of(content), "application/x-identified-while-settling"
	if err := h.p.Intake(h.ctx, []watcher.File{f}); err != nil {
		t.Fatal(err)
	}
	h.start(nil)
	r := h.awaitState(h.record("notes.txt").ID, journal.Posted)
	if r.MIME != f.MIME || r.SHA256 != f.SHA256 {
		t.Fatalf("uploaded as %s %s: the lane identified the file again", r.SHA256, r.MIME)
	}
	if got, ok := h.sb.File(r.FileKey); !ok || got.SHA256 != sha256Of(content) || got.ContentType != f.MIME {
		t.Fatalf("stored %+v", got)
	}
	if n := len(h.p.ids.m); n != 0 {
		t.Fatalf("%d identifications still kept after the upload", n)
	}
}

// Pipeline.Identify hashes and sniffs the version the watcher describes, and refuses a file
// that is another version or changed too recently to be identified safely.
func TestPipelineIdentifyChecksTheVersion(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	content := []byte("%PDF-1.7\nreport")
	if err := os.WriteFile(filepath.Join(h.root, "r.pdf"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitPastChangeTime("r.pdf")
	f := h.stat("r.pdf")
	await(t, "the file to be old enough", func() bool { return time.Since(f.ChangeTime) > watcher.IdentifyMinAge })
	sum, mime, err := h.p.Identify(h.ctx, f)
	if err != nil || sum != sha256Of(content) || mime != "application/pdf" {
		t.Fatalf("Identify: %s %s %v", sum, mime, err)
	}
	other := f
	other.Size++
	if _, _, err := h.p.Identify(h.ctx, other); err == nil {
		t.Fatal("identified a version that is not on disk")
	}
	fresh := f
	fresh.ChangeTime = time.Now()
	if _, _, err := h.p.Identify(h.ctx, fresh); !errors.Is(err, errTooFresh) {
		t.Fatalf("a file changed just now: %v, want errTooFresh", err)
	}
}
