package archive

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

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
