package journal

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func heldLink(inode uint64, seen time.Time) *Record {
	return &Record{Watch: "teams", Path: "inbox/current", Kind: "symlink", Size: 12,
		ModTime: seen, CTime: seen, Inode: inode, State: Held, Reason: "symbolic link", HeldAt: seen, DiscoveredAt: seen}
}

func TestHeldNonRegularOncePerPath(t *testing.T) {
	db := openTest(t)
	t0 := time.Unix(1700000000, 0).UTC()
	var last *Record
	for i := range 40 { // ln -sfn, 40 times: a new link, a new inode, a new mtime each time
		last = heldLink(uint64(100+i), t0.Add(time.Duration(i)*time.Second))
		stored := insert(t, db, last)
		if i > 0 && len(stored) != 0 {
			t.Fatalf("sighting %d stored a new record #%d", i+1, stored[0].ID)
		}
	}
	counts, err := db.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if counts[Held] != 1 {
		t.Fatalf("%d held records after 40 swaps of one symlink, want 1", counts[Held])
	}
	if !known(t, db, "teams", "inbox/current", last.Version()) {
		t.Fatal("the latest link is not known: the watcher would report it again on every scan")
	}
	fp, _ := current(t, db, "teams", "inbox/current")
	r, err := db.Get(fp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sightings != 40 || !r.LastSeen.Equal(last.DiscoveredAt) || r.Inode != last.Inode {
		t.Fatalf("record: %d sightings, last seen %v, inode %d; want 40, %v, %d", r.Sightings, r.LastSeen, r.Inode, last.DiscoveredAt, last.Inode)
	}
	audit, err := db.Audit(r.ID)
	if err != nil || len(audit) != 1 {
		t.Fatalf("audit of the held link has %d entries (%v), want the first one only", len(audit), err)
	}

	// A FIFO in its place is still one held record, now saying what is there.
	fifo := heldLink(500, t0.Add(time.Hour))
	fifo.Kind, fifo.Reason = "named pipe (FIFO)", "named pipe (FIFO): not a regular file, never opened"
	if stored := insert(t, db, fifo); len(stored) != 0 {
		t.Fatalf("FIFO stored a new record")
	}
	if r, _ = db.Get(fp.ID); r.Kind != "named pipe (FIFO)" || r.Reason != fifo.Reason {
		t.Fatalf("record is a %s held for %q", r.Kind, r.Reason)
	}

	// A regular file replaces it: the held entry is superseded by the file's own record.
	file := newRec("inbox/current", 10)
	stored := insert(t, db, file)
	if len(stored) != 1 {
		t.Fatal("the regular file was not recorded")
	}
	if r, _ = db.Get(fp.ID); r.State != Superseded || !strings.HasPrefix(r.Reason, fmt.Sprintf("a newer version of the file was recorded as #%d", stored[0].ID)) {
		t.Fatalf("old held record: %s, %q", r.State, r.Reason)
	}
	if counts, _ = db.Counts(); counts[Held] != 0 || counts[Discovered] != 1 {
		t.Fatalf("counts %v", counts)
	}
	// A link after the file is held again, once.
	insert(t, db, heldLink(900, t0.Add(2*time.Hour)), heldLink(901, t0.Add(3*time.Hour)))
	if counts, _ = db.Counts(); counts[Held] != 1 {
		t.Fatalf("%d held after the file, want 1", counts[Held])
	}
}
