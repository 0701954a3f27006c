package archive

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/ondisk"
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
	found, err := h.p.Identify(h.ctx, f)
	if err != nil || found.SHA256 != sha256Of(content) || found.MIME != "application/pdf" || !bytes.Equal(found.Data, content) {
		t.Fatalf("Identify: %s %s %d bytes, %v", found.SHA256, found.MIME, len(found.Data), err)
	}
	other := f
	other.Size++
	if _, err := h.p.Identify(h.ctx, other); err == nil {
		t.Fatal("identified a version that is not on disk")
	}
	fresh := f
	fresh.ChangeTime = time.Now()
	if _, err := h.p.Identify(h.ctx, fresh); !errors.Is(err, errTooFresh) {
		t.Fatalf("a file changed just now: %v, want errTooFresh", err)
	}
	// A file over ondisk.SmallMax is hashed as it is read; its bytes are not kept.
	large := bytes.Repeat([]byte("x"), ondisk.SmallMax+1)
	if err := os.WriteFile(filepath.Join(h.root, "large.bin"), large, 0o644); err != nil {
		t.Fatal(err)
	}
	h.waitPastChangeTime("large.bin")
	lf := h.stat("large.bin")
	await(t, "the file to be old enough", func() bool { return time.Since(lf.ChangeTime) > watcher.IdentifyMinAge })
	if found, err := h.p.Identify(h.ctx, lf); err != nil || found.SHA256 != sha256Of(large) || found.Data != nil {
		t.Fatalf("Identify of a large file: %s, %d bytes, %v", found.SHA256, len(found.Data), err)
	}
}

// A small file whose bytes were read while it settled is sent from them: the upload does not
// open it again, so a file deleted after it settled is archived all the same, byte for byte.
func TestSmallFileReadWhileSettlingIsSentFromItsBytes(t *testing.T) {
	h := newHarness(t)
	content := []byte("minutes of the board meeting\n")
	path := filepath.Join(h.root, "minutes.txt")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f := h.stat("minutes.txt")
	f.SHA256, f.MIME, f.Data = sha256Of(content), "text/plain; charset=utf-8", content
	if !h.p.hold.Take(int64(len(content))) { // as the watcher does when it keeps the bytes
		t.Fatal("no room for the bytes")
	}
	if err := h.p.Intake(h.ctx, []watcher.File{f}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	h.start(nil)
	r := h.awaitState(h.record("minutes.txt").ID, journal.Posted)
	if got, ok := h.sb.File(r.FileKey); !ok || got.SHA256 != sha256Of(content) || got.Size != int64(len(content)) {
		t.Fatalf("stored %+v, want the bytes read while it settled", got)
	}
	if n, b := len(h.p.ids.m), h.p.hold.Used(); n != 0 || b != 0 {
		t.Fatalf("%d identifications, %d bytes still kept after the upload", n, b)
	}
}

// The bytes handed over with a batch stay counted in the budget only while an identification
// kept for an upload holds them: those of a file not stored, or not to be uploaded, are given
// back at once, and those of an identification older than maxKept when it is swept.
func TestHeldBytesAreGivenBack(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	now := time.Now()
	rec := func(id uint64, lane string) *journal.Record {
		r := &journal.Record{ID: id, Watch: "w", Path: journal.RelPath(fmt.Sprint(id)), Kind: "file", State: journal.Discovered,
			Size: 6, ModTime: now, CTime: now}
		r.Schedule(lane, now)
		return r
	}
	file := func(r *journal.Record) watcher.File {
		return watcher.File{Watch: r.Watch, RelPath: string(r.Path), Kind: "file", Size: r.Size, ModTime: r.ModTime, ChangeTime: r.CTime,
			SHA256: "sum", MIME: "text/plain", Data: []byte("sixsix")}
	}
	upload, export, unstored := rec(1, journal.LanePut), rec(2, journal.LaneConv), rec(3, journal.LanePut)
	for range 3 {
		if !h.p.hold.Take(6) {
			t.Fatal("no room")
		}
	}
	h.p.keepIdentified([]*journal.Record{upload, export}, []watcher.File{file(upload), file(export), file(unstored)})
	if _, ok := h.p.ids.m[1]; !ok || len(h.p.ids.m) != 1 || h.p.hold.Used() != 6 {
		t.Fatalf("kept %d identifications, %d bytes held; want only #1's, 6 bytes", len(h.p.ids.m), h.p.hold.Used())
	}
	h.p.ids.mu.Lock()
	h.p.ids.sweep(now.Add(maxKept + time.Second))
	h.p.ids.mu.Unlock()
	if len(h.p.ids.m) != 0 || h.p.hold.Used() != 0 {
		t.Fatalf("after maxKept: %d identifications, %d bytes held", len(h.p.ids.m), h.p.hold.Used())
	}
}
