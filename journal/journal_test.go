package journal

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openTest opens a fresh journal and checks its consistency when the test ends.
func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "journal.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("journal inconsistent: %v", err)
		}
		db.Close()
	})
	return db
}

func newRec(path string, size int64) *Record {
	now := time.Now()
	return &Record{Watch: "teams", Path: RelPath(path), Kind: "file", Size: size,
		ModTime: time.Unix(1700000000, 123456789), CTime: testCTime, Birth: testBirth, Inode: 42, Dev: 7, State: Discovered,
		DiscoveredAt: now, Lanes: map[string]time.Time{LanePut: now}}
}

var (
	testCTime = time.Unix(1700000100, 5)
	testBirth = time.Unix(1600000000, 6)
)

// version is the version newRec(path, size) records.
func version(size int64) Version {
	return Version{Kind: "file", Size: size, ModTime: time.Unix(1700000000, 123456789), Change: testCTime, Birth: testBirth, Inode: 42, Dev: 7}
}

func insert(t *testing.T, db *DB, recs ...*Record) []*Record {
	t.Helper()
	first := make([]Entry, len(recs))
	for i := range first {
		first[i] = Entry{Step: "discovered", Result: "ok"}
	}
	out, err := db.Insert(recs, first)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSecondOpenFailsFastWithClearMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = Open(path, Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: got %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "another archivist") {
		t.Errorf("message %q should name the file and the likely cause", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second open took %s", d)
	}
}

func TestInsertIsIdempotentPerVersion(t *testing.T) {
	db := openTest(t)
	got := insert(t, db, newRec("a/report.pdf", 10))
	if len(got) != 1 || got[0].ID == 0 {
		t.Fatalf("first insert stored %v", got)
	}
	if again := insert(t, db, newRec("a/report.pdf", 10)); len(again) != 0 {
		t.Fatalf("same version inserted twice: %v", again)
	}
	if !known(t, db, "teams", "a/report.pdf", version(10)) {
		t.Fatal("Known = false for the recorded version")
	}
	if known(t, db, "teams", "a/report.pdf", version(11)) {
		t.Fatal("Known = true for a different size")
	}
	changed := newRec("a/report.pdf", 11)
	if v2 := insert(t, db, changed); len(v2) != 1 || v2[0].ID == got[0].ID {
		t.Fatalf("changed version not stored as a new record: %v", v2)
	}
	if fp, _ := current(t, db, "teams", "a/report.pdf"); fp.Size != 11 {
		t.Fatalf("current version has size %d, want 11", fp.Size)
	}
	if _, err := db.Get(got[0].ID); err != nil {
		t.Fatalf("old version must be kept: %v", err)
	}
}

// DueAfter reads the due index from the item after the one named, with DueIn's rules: it
// does not return that item again, skips what skip rejects, and stops at what is not due.
func TestDueAfterResumesAfterAnItem(t *testing.T) {
	db := openTest(t)
	recs := insert(t, db, newRec("one", 1), newRec("two", 2), newRec("three", 3), newRec("four", 4))
	now := time.Now()
	later := now.Add(time.Hour)
	if err := db.Update(recs[3].ID, func(r *Record) ([]Entry, error) {
		r.Schedule(LanePut, later)
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	all, _, err := db.DueIn(LanePut, now, 10, nil)
	if err != nil || len(all) != 3 {
		t.Fatalf("due put = %v, %v; want 3", all, err)
	}
	items, next, err := db.DueAfter(LanePut, all[0], now, 10, nil)
	if err != nil || len(items) != 2 || items[0] != all[1] || items[1] != all[2] || !next.Equal(later) {
		t.Fatalf("after %v: %v (next %v, %v); want %v, next %v", all[0], items, next, err, all[1:], later)
	}
	skip := func(id uint64) bool { return id == all[1].ID }
	if items, _, _ := db.DueAfter(LanePut, all[0], now, 1, skip); len(items) != 1 || items[0] != all[2] {
		t.Fatalf("after %v skipping #%d: %v, want %v", all[0], all[1].ID, items, all[2])
	}
	if items, _, _ := db.DueAfter(LanePut, all[2], now, 10, nil); len(items) != 0 {
		t.Fatalf("after the last due item: %v, want none", items)
	}
	// The item resumed after is gone from the index (its upload was committed): the scan
	// goes on from where it was.
	if err := db.Update(all[0].ID, func(r *Record) ([]Entry, error) {
		r.Done(LanePut)
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if items, _, _ := db.DueAfter(LanePut, all[0], now, 10, nil); len(items) != 2 || items[0] != all[1] || items[1] != all[2] {
		t.Fatalf("after %v, no longer in the index: %v, want %v", all[0], items, all[1:])
	}
}

func TestDueIndexFollowsLanes(t *testing.T) {
	db := openTest(t)
	recs := insert(t, db, newRec("one", 1), newRec("two", 2), newRec("three", 3))
	now := time.Now()
	items, _, err := db.DueIn(LanePut, now, 10, nil)
	if err != nil || len(items) != 3 {
		t.Fatalf("due put = %v, %v; want 3", items, err)
	}
	later := now.Add(time.Hour)
	err = db.Update(recs[0].ID, func(r *Record) ([]Entry, error) {
		r.Schedule(LanePut, later)
		r.Attempts++
		return []Entry{{Step: "put", Result: "error", Detail: "503"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(recs[1].ID, func(r *Record) ([]Entry, error) {
		r.State = Uploaded
		r.FileKey = "default/teams/x/two"
		r.Done(LanePut)
		r.Schedule(LanePost, now)
		return []Entry{{Step: "put", Result: "ok"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	items, next, _ := db.DueIn(LanePut, now, 10, nil)
	if len(items) != 1 || items[0].ID != recs[2].ID {
		t.Fatalf("due put = %v, want only #%d", items, recs[2].ID)
	}
	if !next.Equal(later) {
		t.Fatalf("next = %v, want %v", next, later)
	}
	skipAll := func(uint64) bool { return true }
	if items, _, _ := db.DueIn(LanePut, now, 10, skipAll); len(items) != 0 {
		t.Fatalf("skip ignored: %v", items)
	}
	items, _, _ = db.DueIn(LanePost, now, 10, nil)
	if len(items) != 1 || items[0].ID != recs[1].ID {
		t.Fatalf("due post = %v", items)
	}
	if owner, ok, err := db.LookupKeyOwner("default/teams/x/two"); err != nil || !ok || owner != recs[1].ID {
		t.Fatalf("LookupKeyOwner = %d, %v, %v", owner, ok, err)
	}
	counts, _ := db.Counts()
	if counts[Discovered] != 2 || counts[Uploaded] != 1 {
		t.Fatalf("counts = %v", counts)
	}
	trail, _ := db.Audit(recs[0].ID)
	if len(trail) != 2 || trail[0].Step != "discovered" || trail[1].Detail != "503" {
		t.Fatalf("audit = %+v", trail)
	}
}

func TestSupersededGivesUpFingerprint(t *testing.T) {
	db := openTest(t)
	r := insert(t, db, newRec("x.txt", 5))[0]
	err := db.Update(r.ID, func(r *Record) ([]Entry, error) {
		r.State = Superseded
		r.Reason = "changed while uploading"
		r.Done(LanePut)
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := current(t, db, "teams", "x.txt"); ok {
		t.Fatal("superseded version still current: the watcher would never record the path again")
	}
	if again := insert(t, db, newRec("x.txt", 5)); len(again) != 1 {
		t.Fatal("same fingerprint not recordable after supersede")
	}
}

func TestUpdateErrorLeavesRecordUnchanged(t *testing.T) {
	db := openTest(t)
	r := insert(t, db, newRec("x.txt", 5))[0]
	boom := errors.New("boom")
	err := db.Update(r.ID, func(r *Record) ([]Entry, error) {
		r.State = Posted
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	got, _ := db.Get(r.ID)
	if got.State != Discovered {
		t.Fatalf("state = %s after failed update", got.State)
	}
	if err := db.Update(r.ID, func(*Record) ([]Entry, error) { return nil, ErrSkip }); err != nil {
		t.Fatalf("ErrSkip returned %v", err)
	}
	if err := db.Update(999, func(*Record) ([]Entry, error) { return nil, nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}
}

func TestPathBytesSurvive(t *testing.T) {
	db := openTest(t)
	raw := "dir/bad\xff\xfe name\nwith newline.txt"
	r := insert(t, db, newRec(raw, 1))[0]
	got, err := db.Get(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Path) != raw {
		t.Fatalf("path = %q, want %q", got.Path, raw)
	}
	if !known(t, db, "teams", raw, version(1)) {
		t.Fatal("raw path not known")
	}
}

func TestReopenKeepsEverythingAndRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := insert(t, db, newRec("keep.txt", 3))[0]
	db.Close()

	db, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.Get(r.ID); err != nil || got.Path != "keep.txt" {
		t.Fatalf("after reopen: %v, %v", got, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u64(SchemaVersion+1)) })
	b.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, ErrSchema) {
		t.Fatalf("newer schema: %v", err)
	}
}

func TestReleaseHeldResumesWhereItWasHeld(t *testing.T) {
	db := openTest(t)
	recs := insert(t, db, newRec("put-held", 1), newRec("post-held", 2), newRec("fifo", 0))
	now := time.Now()
	hold := func(id uint64, fn func(r *Record)) {
		t.Helper()
		if err := db.Update(id, func(r *Record) ([]Entry, error) { fn(r); return nil, nil }); err != nil {
			t.Fatal(err)
		}
	}
	hold(recs[0].ID, func(r *Record) { r.Hold("403 Forbidden", now) })
	hold(recs[1].ID, func(r *Record) {
		r.State, r.FileKey = Uploaded, "default/teams/k/post-held"
		r.Done(LanePut)
		r.Hold("400 bad event", now)
	})
	hold(recs[2].ID, func(r *Record) { r.Kind = "named pipe (FIFO)"; r.Hold("not a regular file", now) })

	n, err := db.ReleaseHeld("configuration changed", now, nil)
	if err != nil || n != 2 {
		t.Fatalf("released %d, %v; want 2 (the FIFO stays held)", n, err)
	}
	a, _ := db.Get(recs[0].ID)
	b, _ := db.Get(recs[1].ID)
	c, _ := db.Get(recs[2].ID)
	if _, due := a.Due(LanePut); a.State != Discovered || !due {
		t.Errorf("put-held: %s %v", a.State, a.Lanes)
	}
	if _, due := b.Due(LanePost); b.State != Uploaded || !due {
		t.Errorf("post-held: %s %v", b.State, b.Lanes)
	}
	if c.State != Held {
		t.Errorf("fifo released: %s", c.State)
	}
	trail, _ := db.Audit(a.ID)
	if last := trail[len(trail)-1]; last.Step != "released" || last.Detail != "configuration changed" {
		t.Errorf("audit %+v", last)
	}
	if err := db.SetMeta("config", "abc"); err != nil {
		t.Fatal(err)
	}
	if v, err := db.LookupMeta("config"); err != nil || v != "abc" {
		t.Fatalf("meta round trip: %v %q", err, v)
	}
}

// A read that fails is an error, never "not recorded": before, Current, Known, the meta, key
// owner and due look-ups and the journal's identity of a closed journal said "nothing there",
// and the daemon took that for a first run, an unknown file or an idle lane.
func TestFailedReadsAreErrorsNotAbsence(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "journal.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := insert(t, db, newRec("a/report.pdf", 10))
	if err := db.SetMeta("config", "abc"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Current("teams", "a/report.pdf"); err == nil {
		t.Error("Current of a closed journal: no error")
	}
	if _, err := db.Known("teams", "a/report.pdf", recs[0].Version()); err == nil {
		t.Error("Known of a closed journal: no error")
	}
	if _, err := db.LookupMeta("config"); err == nil {
		t.Error("LookupMeta of a closed journal: no error")
	}
	if _, _, err := db.LookupKeyOwner("default/teams/a/report.pdf"); err == nil {
		t.Error("LookupKeyOwner of a closed journal: no error")
	}
	if _, _, err := db.LookupFirstDue(LanePut); err == nil {
		t.Error("LookupFirstDue of a closed journal: no error")
	}
	if _, err := db.ID(); err == nil {
		t.Error("ID of a closed journal: no error")
	}
}
