package archive

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
)

func TestSymlinkSwapsHeldOnce(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	link := filepath.Join(h.root, "current")
	for i := range 40 { // what ln -sfn does: a new link renamed over the old one
		tmp := filepath.Join(h.root, ".current.tmp")
		if err := os.Symlink(fmt.Sprintf("/srv/releases/%d", i), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
		if err := h.p.Intake(h.ctx, []watcher.File{h.stat("current")}); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := h.j.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if counts[journal.Held] != 1 {
		t.Fatalf("%d held records after 40 swaps of one symlink, want 1", counts[journal.Held])
	}
	if r := h.record("current"); r.Sightings != 40 || r.Kind != "symlink" {
		t.Fatalf("held record: %s seen %d times, want a symlink seen 40 times", r.Kind, r.Sightings)
	}

	// Replaced by a real file, the path is archived and nothing stays held for it.
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	h.drop("current", []byte("now a file"))
	h.awaitState(h.record("current").ID, journal.Posted)
	if counts, _ = h.j.Counts(); counts[journal.Held] != 0 || counts[journal.Superseded] != 1 {
		t.Fatalf("after the file: %v", counts)
	}
}

func TestUnreadableEntryHeldWithReason(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	f := watcher.File{Watch: "teams", RelPath: "locked/report.pdf", Kind: watcher.KindUnreadable, ModTime: time.Unix(0, 0),
		Problem: "lstat locked/report.pdf: permission denied"}
	for range 3 { // offered again: still one record
		if err := h.p.Intake(h.ctx, []watcher.File{f}); err != nil {
			t.Fatal(err)
		}
	}
	r := h.record("locked/report.pdf")
	if r.State != journal.Held || !strings.Contains(r.Reason, "cannot be examined (lstat locked/report.pdf: permission denied)") {
		t.Fatalf("record %s, %q", r.State, r.Reason)
	}
	if counts, _ := h.j.Counts(); counts[journal.Held] != 1 {
		t.Fatalf("counts %v", counts)
	}
	// Readable again: the file is archived and the held record superseded.
	h.drop("locked/report.pdf", []byte("%PDF-1.4"))
	h.awaitState(h.record("locked/report.pdf").ID, journal.Posted)
	if got, _ := h.j.Get(r.ID); got.State != journal.Superseded {
		t.Fatalf("held record is %s after the file was recorded", got.State)
	}
}
