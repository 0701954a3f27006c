package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// filled makes a journal at a fresh path with n records (every third one posted) and closes
// it; the records bucket then spans many pages under branch pages.
func filled(t *testing.T, n int) (string, []*Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "journal.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var recs []*Record
	for i := range n {
		recs = append(recs, newRec(fmt.Sprintf("dir%d/file-%05d.pdf", i%7, i), int64(1000+i)))
	}
	stored := insert(t, db, recs...)
	var third []uint64
	for _, r := range stored {
		if r.ID%3 == 0 {
			third = append(third, r.ID)
		}
	}
	if err := db.UpdateMany(third, func(r *Record) ([]Entry, error) {
		r.State, r.FileKey = Posted, fmt.Sprintf("key/%d", r.ID)
		r.Done(LanePut)
		return []Entry{{Step: "post", Result: "ok"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, stored
}

// pagesOf returns the ids of the pages of the file whose header has flags.
func pagesOf(t *testing.T, path string, flags uint16) []uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := parseMeta(b[:4096])
	var out []uint64
	for id := uint64(2); id < m.pgid; id++ {
		p := b[id*uint64(m.pageSize):]
		if binary.LittleEndian.Uint64(p) == id && binary.LittleEndian.Uint16(p[8:]) == flags {
			out = append(out, id)
		}
	}
	return out
}

// usedSize is how many bytes of the file the journal's pages use (the file is longer: bbolt
// grows it ahead).
func usedSize(t *testing.T, path string) int64 {
	t.Helper()
	b := make([]byte, 4096)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	m, err := parseMeta(b)
	if err != nil {
		t.Fatal(err)
	}
	return int64(m.pgid) * int64(m.pageSize)
}

func pageSizeOf(t *testing.T, path string) int64 {
	t.Helper()
	b := make([]byte, 4096)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	m, err := parseMeta(b)
	if err != nil {
		t.Fatal(err)
	}
	return int64(m.pageSize)
}

func TestTruncatedJournalIsRefusedAtOpen(t *testing.T) {
	path, _ := filled(t, 3000)
	if err := os.Truncate(path, usedSize(t, path)/2); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{true, false} {
		_, err := Open(path, Options{ReadOnly: ro})
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("open (read-only %v) of a truncated journal: got %v, want ErrDamaged", ro, err)
		}
		if !strings.Contains(err.Error(), "truncated") || !strings.Contains(err.Error(), path) {
			t.Errorf("message %q should name the file and say it was truncated", err)
		}
	}
}

func TestFlippedBranchPageIsDamageNotPanic(t *testing.T) {
	path, stored := filled(t, 3000)
	branches := pagesOf(t, path, flagBranch)
	if len(branches) == 0 {
		t.Fatal("no branch page in a journal of 3000 records")
	}
	ps := pageSizeOf(t, path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range branches {
		b := make([]byte, 16)
		at := int64(id)*ps + pageHeader
		if _, err := f.ReadAt(b, at); err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i] ^= 0xff
		}
		if _, err := f.WriteAt(b, at); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open: %v (the meta pages and root are intact)", err)
	}
	defer db.Close()
	err = db.Each(func(*Record) bool { return true })
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Each over flipped branch pages: got %v, want ErrDamaged", err)
	}
	select {
	case <-db.Damaged():
	default:
		t.Fatal("Damaged not closed after a fault")
	}
	// Once damaged, everything fails at once, without touching the file again.
	if _, err := db.Get(stored[0].ID); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Get after damage: %v", err)
	}
	if _, err := db.Counts(); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Counts after damage: %v", err)
	}
}

func TestTruncatedUnderAnOpenJournalIsDamageNotSIGBUS(t *testing.T) {
	path, stored := filled(t, 3000)
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	done := make(chan struct{})
	defer close(done)
	go db.WatchSize(done, 10*time.Millisecond)
	if err := os.Truncate(path, 3*pageSizeOf(t, path)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-db.Damaged():
	case <-time.After(10 * time.Second):
		t.Fatal("truncation not noticed")
	}
	if !strings.Contains(db.Err().Error(), "truncated") {
		t.Errorf("cause %q should say the file was truncated", db.Err())
	}
	for _, r := range stored[:50] {
		if _, err := db.Get(r.ID); !errors.Is(err, ErrDamaged) {
			t.Fatalf("Get #%d: %v", r.ID, err)
		}
	}
	if err := db.Update(stored[0].ID, func(r *Record) ([]Entry, error) { return nil, nil }); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Update after truncation: %v", err)
	}
}

func TestReadsOfLostPagesFaultIntoDamage(t *testing.T) {
	path, stored := filled(t, 3000)
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := os.Truncate(path, 3*pageSizeOf(t, path)); err != nil {
		t.Fatal(err)
	}
	// No size watch: the read itself meets the truncated map (SIGBUS without the fence).
	err = db.Each(func(*Record) bool { return true })
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Each over a truncated map: %v", err)
	}
	if _, err := db.Get(stored[len(stored)-1].ID); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Get: %v", err)
	}
}

func TestEmptyOrMissingJournalWithMarkerIsRefused(t *testing.T) {
	path, _ := filled(t, 10)
	marker, err := os.ReadFile(MarkerPath(path))
	if err != nil || len(strings.TrimSpace(string(marker))) != 32 {
		t.Fatalf("marker: %q, %v", marker, err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "empty") || !strings.Contains(err.Error(), "--new-journal") {
		t.Fatalf("open of an emptied journal: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Fatal("a refused open wrote to the file")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("open of a missing journal: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused open created the file")
	}

	// --new-journal: a new journal, and the marker names it from then on.
	db, err := Open(path, Options{NewJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	id, err := db.ID()
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	now, _ := os.ReadFile(MarkerPath(path))
	if id == "" || strings.TrimSpace(string(now)) != id || id == strings.TrimSpace(string(marker)) {
		t.Fatalf("new journal %q, marker %q (was %q)", id, now, marker)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen of the new journal: %v", err)
	}
	db.Close()
}

func TestAnotherJournalInPlaceIsRefused(t *testing.T) {
	path, _ := filled(t, 10)
	other, _ := filled(t, 5)
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, Options{})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "not the journal this state folder kept") {
		t.Fatalf("open of another journal in place: %v", err)
	}
	db, err := Open(path, Options{NewJournal: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// corrupt overwrites record id's stored value with bytes that do not decode.
func corrupt(t *testing.T, path string, id uint64) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).Put(u64(id), []byte{binaryV1, 0xff, 0xff, 0xff})
	}); err != nil {
		t.Fatal(err)
	}
}

func TestQuarantineTakesAnUndecodableRecordOutOnce(t *testing.T) {
	path, stored := filled(t, 20)
	victim := stored[4] // discovered, due for put
	corrupt(t, path, victim.ID)
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Get(victim.ID)
	if !errors.Is(err, ErrUndecodable) {
		t.Fatalf("Get of a corrupt record: %v", err)
	}
	n := 0
	if err := db.Each(func(*Record) bool { n++; return true }); err != nil || n != len(stored)-1 {
		t.Fatalf("Each: %d records, %v; want the %d others", n, err, len(stored)-1)
	}
	fresh, err := db.Quarantine(victim.ID, err, time.Now())
	if err != nil || !fresh {
		t.Fatalf("Quarantine: %v, %v", fresh, err)
	}
	if again, err := db.Quarantine(victim.ID, errors.New("again"), time.Now()); err != nil || again {
		t.Fatalf("second Quarantine: %v, %v (want not fresh)", again, err)
	}
	items, _, err := db.DueIn(LanePut, time.Now().Add(time.Hour), 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == victim.ID {
			t.Fatal("the quarantined record is still due")
		}
	}
	if _, ok := current(t, db, "teams", string(victim.Path)); ok {
		t.Error("the quarantined record still holds its path: the file would never be recorded again")
	}
	if n, err := db.QuarantineCount(); err != nil || n != 1 {
		t.Fatalf("QuarantineCount = %d, %v", n, err)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("indexes after quarantine: %v", err)
	}
}

func TestSalvageOfASoundJournalIsAllOfItFromItsTree(t *testing.T) {
	path, stored := filled(t, 3000)
	s, err := SalvageFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Records) != len(stored) || len(s.Orphans()) != 0 || len(s.Lost()) != 0 || len(s.Skipped) != 0 {
		t.Fatalf("salvaged %d of %d records, %d orphans, %d lost, skipped %v", len(s.Records), len(stored), len(s.Orphans()), len(s.Lost()), s.Skipped)
	}
	for _, want := range stored {
		wantState := Discovered
		if want.ID%3 == 0 {
			wantState = Posted
		}
		if got := s.Records[want.ID]; got.State != wantState {
			t.Fatalf("#%d salvaged as %s, want its current state %s", want.ID, got.State, wantState)
		}
	}
}

func TestRebuildRecoversSurvivingRecords(t *testing.T) {
	path, stored := filled(t, 3000)
	// Damage: the branch pages flipped (their leaves are intact but unreachable).
	ps := pageSizeOf(t, path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range pagesOf(t, path, flagBranch) {
		if _, err := f.WriteAt(make([]byte, 32), int64(id)*ps+pageHeader); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	s, err := SalvageFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Orphans()) == 0 {
		t.Error("records below the damaged branch pages are not listed for review")
	}
	out := filepath.Join(filepath.Dir(path), "rebuilt.db")
	db, err := Rebuild(out, s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("rebuilt journal: %v", err)
	}
	posted := 0
	for _, want := range stored {
		got, err := db.Get(want.ID)
		if err != nil {
			t.Fatalf("record #%d not recovered: %v", want.ID, err)
		}
		wantState := Discovered
		if want.ID%3 == 0 {
			wantState = Posted
			posted++
		}
		if got.State != wantState || got.Path != want.Path || got.Size != want.Size {
			t.Fatalf("record #%d: %s %s %d, want %s %s %d", want.ID, got.State, got.Path, got.Size, wantState, want.Path, want.Size)
		}
		if fp, ok := current(t, db, want.Watch, string(want.Path)); !ok || fp.ID != want.ID {
			t.Fatalf("path index of #%d: %v %v", want.ID, fp, ok)
		}
		if a, err := db.Audit(want.ID); err != nil || len(a) == 0 {
			t.Fatalf("audit of #%d: %v, %v", want.ID, a, err)
		}
	}
	counts, _ := db.Counts()
	if counts[Posted] != int64(posted) || counts[Discovered] != int64(len(stored)-posted) {
		t.Fatalf("counts %v", counts)
	}
	// New records continue after the old ids.
	next := insert(t, db, newRec("new.pdf", 1))
	if next[0].ID <= stored[len(stored)-1].ID {
		t.Fatalf("new record #%d reuses an old id", next[0].ID)
	}
}

func TestRebuildOfATruncatedJournalListsTheLost(t *testing.T) {
	path, stored := filled(t, 3000)
	// The last pages lost (the freelist and the newest copies are written there).
	if err := os.Truncate(path, usedSize(t, path)-4*pageSizeOf(t, path)); err != nil {
		t.Fatal(err)
	}
	s, err := SalvageFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Records) == 0 {
		t.Fatalf("salvaged nothing of %d records from a truncated file", len(stored))
	}
	t.Logf("salvaged %d records, lost %d, skipped %d pages", len(s.Records), len(s.Lost()), len(s.Skipped))
	if len(s.Records)+len(s.Lost()) != len(stored) {
		t.Fatalf("%d salvaged + %d lost != %d", len(s.Records), len(s.Lost()), len(stored))
	}
	db, err := Rebuild(filepath.Join(t.TempDir(), "rebuilt.db"), s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestLostIsEveryIDHandedOutWithoutASurvivingRecord(t *testing.T) {
	s := &Salvage{Records: map[uint64]*Record{1: {ID: 1}, 2: {ID: 2}, 5: {ID: 5}}, RecordSeq: 6}
	if got := fmt.Sprint(s.Lost()); got != "[3 4 6]" {
		t.Fatalf("Lost = %s, want [3 4 6]", got)
	}
	s.RecordSeq, s.seen = 0, 8 // the records bucket's header lost; an audit entry names #8
	if got := fmt.Sprint(s.Lost()); got != "[3 4 6 7 8]" {
		t.Fatalf("Lost = %s, want [3 4 6 7 8]", got)
	}
}

func TestRandomFlipsNeverCrashReads(t *testing.T) {
	base, stored := filled(t, 2000)
	orig, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	used := usedSize(t, base)
	ps := pageSizeOf(t, base)
	for seed := range 12 {
		b := bytes.Clone(orig)
		rng := rand.New(rand.NewPCG(uint64(seed), 64))
		for range 64 {
			b[2*ps+rng.Int64N(used-2*ps)] ^= byte(1 + rng.IntN(255)) // past the meta pages
		}
		path := filepath.Join(t.TempDir(), "journal.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("seed %d: open: %v", seed, err)
			}
			continue
		}
		ok := func(err error) {
			t.Helper()
			if err != nil && !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrUndecodable) && !errors.Is(err, ErrNotFound) {
				t.Fatalf("seed %d: %v", seed, err)
			}
		}
		ok(db.Each(func(*Record) bool { return true }))
		for _, r := range stored {
			_, err := db.Get(r.ID)
			ok(err)
			db.Audit(r.ID)                      // a damaged entry is an error (corrupt value, bad JSON), never a crash
			db.Current(r.Watch, string(r.Path)) // an error is fine here; a crash is not
		}
		_, _, err = db.DueIn(LanePut, time.Now().Add(time.Hour), 5000, nil)
		ok(err)
		_, err = db.Counts()
		ok(err)
		_, err = db.LaneCounts()
		ok(err)
		t.Logf("seed %d: %v", seed, db.Err())
		db.Close()
	}
}

func TestRandomFlipsNeverCrashWrites(t *testing.T) {
	base, stored := filled(t, 2000)
	orig, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	used := usedSize(t, base)
	ps := pageSizeOf(t, base)
	for seed := range 12 {
		b := bytes.Clone(orig)
		rng := rand.New(rand.NewPCG(uint64(seed), 64))
		for range 64 {
			b[2*ps+rng.Int64N(used-2*ps)] ^= byte(1 + rng.IntN(255))
		}
		path := filepath.Join(t.TempDir(), "journal.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{NoSync: true})
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("seed %d: open: %v", seed, err)
			}
			continue
		}
		// Concurrent updates share batches: a damaged page met in a batch's transaction or its
		// commit is damage, not a crash of the process.
		errs := make(chan error, len(stored))
		var wg sync.WaitGroup
		for _, r := range stored[:400] {
			wg.Go(func() {
				errs <- db.Update(r.ID, func(r *Record) ([]Entry, error) {
					r.Attempts++
					return []Entry{{Step: "retry", Result: "error"}}, nil
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil && !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrUndecodable) && !errors.Is(err, ErrNotFound) {
				t.Fatalf("seed %d: update: %v", seed, err)
			}
		}
		t.Logf("seed %d: %v", seed, db.Err())
		db.Close()
	}
}
