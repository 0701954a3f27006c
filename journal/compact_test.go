package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	tOld = time.Date(2024, 1, 10, 12, 0, 0, 0, time.UTC)
	tNew = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cut  = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

// step appends entries to record id, moving it to state (if not "") with no lanes left.
func step(t *testing.T, db *DB, id uint64, to State, entries ...Entry) {
	t.Helper()
	err := db.Update(id, func(r *Record) ([]Entry, error) {
		if to != "" {
			if err := r.Move(to); err != nil {
				return nil, err
			}
			r.Lanes = nil
		}
		return entries, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// trails is a journal with an archived file that failed once long ago (a), a file still in
// the works that failed long ago (b), and an archived file that failed recently (c).
func trails(t *testing.T) (*DB, []*Record) {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "journal.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var recs []*Record
	add := func(name string, when time.Time) uint64 {
		out, err := db.Insert([]*Record{newRec(name, int64(len(recs)+1))}, []Entry{{Time: when, Step: "discovered", Result: "ok"}})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, out[0])
		return out[0].ID
	}
	a, b := add("a.pdf", tOld), add("b.pdf", tOld)
	fail := func(when time.Time) Entry {
		return Entry{Time: when, Step: "put", Lane: LanePut, Result: "error", Status: 503, Detail: "503 Service Unavailable; retry at ..."}
	}
	step(t, db, a, "", fail(tOld))
	step(t, db, b, "", fail(tOld))
	step(t, db, a, Uploaded, Entry{Time: tOld, Step: "put", Result: "ok", FileKey: "k/a", Status: 200})
	step(t, db, a, Posted, Entry{Time: tOld, Step: "post", Result: "ok", Status: 200, RequestID: "req-a"})
	c := add("c.pdf", tNew)
	step(t, db, c, "", fail(tNew))
	step(t, db, c, Uploaded, Entry{Time: tNew, Step: "put", Result: "ok", FileKey: "k/c", Status: 200})
	step(t, db, c, Posted, Entry{Time: tNew, Step: "post", Result: "ok", Status: 200, RequestID: "req-c"})
	return db, recs
}

func steps(t *testing.T, db *DB, id uint64) string {
	t.Helper()
	trail, err := db.Audit(id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range trail {
		out = append(out, e.Step+" "+e.Result)
	}
	return strings.Join(out, ", ")
}

func TestCompactRemovesOldDetailOfFinishedRecordsOnly(t *testing.T) {
	for _, chunk := range []int{0, 2} {
		db, recs := trails(t)
		head, n, err := db.ChainHead()
		if err != nil {
			t.Fatal(err)
		}
		st, err := db.CompactAudit(context.Background(), cut, CompactOptions{Chunk: chunk})
		if err != nil || st.Removed != 1 {
			t.Fatalf("chunk %d: %+v, %v; want one entry removed", chunk, st, err)
		}
		if chunk == 2 && st.Transactions < 3 {
			t.Fatalf("chunks of 2 took %d transactions", st.Transactions)
		}
		if got, want := steps(t, db, recs[0].ID), "discovered ok, put ok, post ok"; got != want {
			t.Fatalf("archived long ago: %q, want %q", got, want)
		}
		if got, want := steps(t, db, recs[1].ID), "discovered ok, put error"; got != want {
			t.Fatalf("still in the works: %q, want %q", got, want)
		}
		if got, want := steps(t, db, recs[2].ID), "discovered ok, put error, put ok, post ok"; got != want {
			t.Fatalf("failed recently: %q, want %q", got, want)
		}
		rep, err := db.VerifyChain()
		if err != nil || rep.Head != head || rep.Removed != 1 || rep.Sealed != 5 {
			t.Fatalf("after compaction: %+v, %v; want head %s (%d) kept", rep, err, head, n)
		}
		if h, m, _ := db.ChainHead(); h != head || m != n {
			t.Fatalf("the head moved: %s (%d), was %s (%d)", h, m, head, n)
		}
		// The daemon goes on writing; a later compaction with a later cut-off removes c's failure.
		step(t, db, recs[1].ID, "", Entry{Time: tNew.Add(time.Hour), Step: "put", Result: "error", Status: 500})
		if st, err := db.CompactAudit(context.Background(), tNew.Add(time.Minute), CompactOptions{Chunk: chunk}); err != nil || st.Removed != 1 {
			t.Fatalf("second compaction: %+v, %v", st, err)
		}
		if got, want := steps(t, db, recs[2].ID), "discovered ok, put ok, post ok"; got != want {
			t.Fatalf("after the second compaction: %q, want %q", got, want)
		}
		if rep, err := db.VerifyChain(); err != nil || rep.Removed != 2 || rep.Entries != 9 {
			t.Fatalf("after the second compaction: %+v, %v", rep, err)
		}
		if err := db.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// compacted is trails compacted at cut and closed; it returns the path.
func compacted(t *testing.T) string {
	t.Helper()
	db, _ := trails(t)
	if _, err := db.CompactAudit(context.Background(), cut, CompactOptions{}); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// entryAt returns the key of the audit entry with sequence seq.
func entryAt(tx *bolt.Tx, seq uint64) []byte {
	c := tx.Bucket(bucketAudit).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if u := k[8:]; string(u) == string(u64(seq)) {
			return append([]byte(nil), k...)
		}
	}
	return nil
}

func flipLast(seq uint64) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		k := entryAt(tx, seq)
		v := append([]byte(nil), tx.Bucket(bucketAudit).Get(k)...)
		v[len(v)-1] ^= 1
		return tx.Bucket(bucketAudit).Put(k, v)
	}
}

func TestCompactedChainShowsEveryModification(t *testing.T) {
	// Sequences: 1, 2 discovered a, b; 3 a put error (removed); 4 b put error; 5 a put ok;
	// 6 a post ok (sealed up to here); 7-10 c's recent entries.
	for _, c := range []struct {
		name   string
		change func(tx *bolt.Tx) error
		want   string
	}{
		{"a byte of a sealed entry", flipLast(5), "audit entry 5 of record #1 was changed"},
		{"a byte of an entry after the checkpoint", flipLast(9), "audit entry 9 of record #3 was changed"},
		{"a byte of the checkpoint", func(tx *bolt.Tx) error {
			v := append([]byte(nil), tx.Bucket(bucketMeta).Get(keyChainBase)...)
			v[20] ^= 1
			return tx.Bucket(bucketMeta).Put(keyChainBase, v)
		}, "the compaction checkpoint was changed"},
		{"the checkpoint rewritten with a matching checksum", func(tx *bolt.Tx) error {
			b, _ := readBase(tx)
			b.SealHead[0] ^= 1
			return tx.Bucket(bucketMeta).Put(keyChainBase, b.encode())
		}, "does not match the entries it seals"},
		{"a sealed entry removed", func(tx *bolt.Tx) error { return tx.Bucket(bucketAudit).Delete(entryAt(tx, 4)) }, "audit entry 4 of record #2 was removed"},
		{"an entry inserted among the sealed", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketAudit).Put(auditKey(1, 3), encodeEntry(Entry{Time: tOld, Step: "post", Result: "ok"}))
		}, "audit entry 3 of record #1 was inserted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := tamper(t, compacted(t), c.change)
			if !errors.Is(err, ErrChainBroken) || !strings.Contains(rep.Break, c.want) {
				t.Fatalf("got %v (break %q), want a break that says %q", err, rep.Break, c.want)
			}
		})
	}
}

// A modified trail is not sealed: the compaction stops and removes nothing.
func TestCompactRefusesAModifiedTrail(t *testing.T) {
	db, _ := trails(t)
	path := db.Path()
	db.Close()
	if _, err := tamper(t, path, flipLast(2)); !errors.Is(err, ErrChainBroken) {
		t.Fatal(err)
	}
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.CompactAudit(context.Background(), cut, CompactOptions{})
	if !errors.Is(err, ErrChainBroken) || !strings.Contains(err.Error(), "audit entry 2 of record #2 was changed") || st.Removed != 0 {
		t.Fatalf("%+v, %v", st, err)
	}
	if c, err := db.LastCompaction(); err != nil || c != nil {
		t.Fatalf("a checkpoint was written: %+v, %v", c, err)
	}
}

func TestCompactFileShrinksTheFileAndKeepsTheJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := db.Insert([]*Record{newRec("a.pdf", 1), newRec("b.pdf", 2), newRec("c.pdf", 3)}, []Entry{{Time: tOld}, {Time: tOld}, {Time: tOld}})
	if err != nil {
		t.Fatal(err)
	}
	var fails []Entry
	for range 2000 {
		fails = append(fails, Entry{Time: tOld, Step: "put", Result: "error", Status: 503, Detail: strings.Repeat("x", 200)})
	}
	step(t, db, recs[1].ID, "", fails...)
	step(t, db, recs[1].ID, Uploaded, Entry{Time: tOld, Step: "put", Result: "ok"})
	step(t, db, recs[1].ID, Posted, Entry{Time: tOld, Step: "post", Result: "ok"})
	step(t, db, recs[2].ID, "", Entry{Time: tNew, Step: "put", Result: "error"})
	id, err := db.ID()
	if err != nil {
		t.Fatal(err)
	}
	head, n, _ := db.ChainHead()
	db.Close()
	var steps []string
	st, err := CompactFile(context.Background(), path, FileCompactOptions{Before: cut, Chunk: 500, After: func(s string) { steps = append(steps, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if st.Audit.Removed != 2000 || st.SizeAfter >= st.SizeBefore/2 || steps[len(steps)-1] != "copied" || len(steps) < 5 {
		t.Fatalf("%+v (audit %+v), steps %v", st, st.Audit, steps)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.ID()
	if err != nil {
		t.Fatal(err)
	}
	if h, m, _ := db.ChainHead(); got != id || h != head || m != n {
		t.Fatalf("another journal: id %s head %s (%d), want %s %s (%d)", got, h, m, id, head, n)
	}
	if rep, err := db.VerifyChain(); err != nil || rep.Removed != 2000 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	// New records get new ids and entries new sequences: bbolt's Compact kept the sequences.
	out := insert(t, db, newRec("d.pdf", 9))
	if out[0].ID != 4 {
		t.Fatalf("new record got id %d", out[0].ID)
	}
	if _, err := db.VerifyChain(); err != nil {
		t.Fatal(err)
	}
}

// The compaction commits a chunk at a time: writes go in between, and the chain stays whole.
func TestCompactLetsWritesInBetween(t *testing.T) {
	db, _ := trails(t)
	var between int
	st, err := db.CompactAudit(context.Background(), cut, CompactOptions{Chunk: 1, AfterChunk: func(CompactStats) {
		between++
		if _, err := db.Insert([]*Record{newRec(fmt.Sprintf("new-%d.pdf", between), 100)}, []Entry{{Time: tNew, Step: "discovered", Result: "ok"}}); err != nil {
			t.Error(err)
		}
	}})
	if err != nil || st.Removed != 1 || between < 6 {
		t.Fatalf("%+v, %v, %d writes in between", st, err, between)
	}
	if rep, err := db.VerifyChain(); err != nil || rep.Entries != 9+uint64(between) {
		t.Fatalf("%+v, %v", rep, err)
	}
}

// A compacted journal that is rebuilt gets a new chain over what survived, without the old
// checkpoint.
func TestRebuildOfACompactedJournal(t *testing.T) {
	s, err := SalvageFile(compacted(t))
	if err != nil {
		t.Fatal(err)
	}
	db, err := Rebuild(filepath.Join(t.TempDir(), "rebuilt.db"), s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := db.VerifyChain()
	if err != nil || rep.Entries != 9 || rep.Sealed != 0 || rep.Removed != 0 {
		t.Fatalf("rebuilt: %+v, %v", rep, err)
	}
}

// An entry that does not decode (written by a later version, say) is kept and sealed, and
// the compaction goes past it.
func TestCompactKeepsAnEntryThatDoesNotDecode(t *testing.T) {
	db, recs := trails(t)
	bad := []byte{0x7f, 1, 2, 3}
	err := db.bolt.Update(func(tx *bolt.Tx) error { return appendAuditRaw(tx, recs[0].ID, bad) })
	if err != nil {
		t.Fatal(err)
	}
	step(t, db, recs[0].ID, "", Entry{Time: tOld, Step: "put", Result: "error"})
	st, err := db.CompactAudit(context.Background(), tNew.Add(time.Hour), CompactOptions{})
	if err != nil || st.Removed != 3 || st.Walked != 12 {
		t.Fatalf("%+v, %v", st, err)
	}
	if _, err := db.VerifyChain(); err != nil {
		t.Fatal(err)
	}
}

// appendAuditRaw appends stored bytes as an audit entry of record id, linked.
func appendAuditRaw(tx *bolt.Tx, id uint64, v []byte) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	if err := b.Put(auditKey(id, seq), v); err != nil {
		return err
	}
	return chainAppend(tx, id, seq, v)
}

// A process that opened the journal while a compaction held it, and waited for its lock,
// works on the compacted file put in place, not on the old one (whose writes would be lost).
func TestOpenWaitingForTheLockGetsTheFileInPlace(t *testing.T) {
	db, _ := trails(t)
	path := db.Path()
	tmp := path + CompactSuffix
	if err := db.copyTo(tmp); err != nil {
		t.Fatal(err)
	}
	cp, err := Open(tmp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	insert(t, cp, newRec("only-in-the-new-file.pdf", 77))
	if err := cp.Close(); err != nil {
		t.Fatal(err)
	}
	type opened struct {
		db  *DB
		err error
	}
	got := make(chan opened, 1)
	go func() {
		o, err := Open(path, Options{Timeout: 30 * time.Second})
		got <- opened{o, err}
	}()
	awaitFor(t, "the second open to hold the old file open", func() bool { return openCount(t, path) >= 2 })
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	o := <-got
	if o.err != nil {
		t.Fatal(o.err)
	}
	defer o.db.Close()
	if _, ok := current(t, o.db, "teams", "only-in-the-new-file.pdf"); !ok {
		t.Fatal("the open got the old file, no longer in place")
	}
}

// openCount is how many of this process's file descriptors name path.
func openCount(t *testing.T, path string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && l == path {
			n++
		}
	}
	return n
}

func awaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
