package journal

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// chained is a journal with three records and seven audit entries, closed; it returns its path.
func chained(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := insert(t, db, newRec("a.pdf", 1), newRec("b.pdf", 2), newRec("c.pdf", 3))
	for _, r := range recs[:2] {
		for _, step := range []string{"put", "post"} {
			if err := db.Update(r.ID, func(r *Record) ([]Entry, error) { return []Entry{{Step: step, Result: "ok", Status: 200}}, nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err := db.VerifyChain()
	if err != nil || rep.Entries != 7 || rep.Unchained != 0 {
		t.Fatalf("a sound chain: %+v, %v", rep, err)
	}
	head, n, err := db.ChainHead()
	if err != nil || n != 7 || head != rep.Head {
		t.Fatalf("head %s (%d), %v; recomputed %s", head, n, err, rep.Head)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// tamper changes the journal at path directly, as someone with the file (and no archivist)
// could, then reports what VerifyChain says.
func tamper(t *testing.T, path string, change func(tx *bolt.Tx) error) (*ChainReport, error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(change); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return db.VerifyChain()
}

// nthAudit returns the key of the n-th audit entry (0-based) in key order.
func nthAudit(tx *bolt.Tx, n int) []byte {
	c := tx.Bucket(bucketAudit).Cursor()
	k, _ := c.First()
	for ; n > 0; n-- {
		k, _ = c.Next()
	}
	return append([]byte(nil), k...)
}

func TestChainShowsEveryModification(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(tx *bolt.Tx) error
		want   string
	}{
		{"one byte of an entry", func(tx *bolt.Tx) error {
			k := nthAudit(tx, 2)
			v := append([]byte(nil), tx.Bucket(bucketAudit).Get(k)...)
			v[len(v)-1] ^= 1
			return tx.Bucket(bucketAudit).Put(k, v)
		}, "was changed"},
		{"an entry removed", func(tx *bolt.Tx) error { return tx.Bucket(bucketAudit).Delete(nthAudit(tx, 1)) }, "was removed"},
		{"an entry inserted", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketAudit).Put(auditKey(3, 99), encodeEntry(Entry{Time: time.Now(), Step: "post", Result: "ok"}))
		}, "was inserted"},
		{"an entry moved to another record", func(tx *bolt.Tx) error {
			k := nthAudit(tx, 0)
			v := tx.Bucket(bucketAudit).Get(k)
			moved := auditKey(3, binary.BigEndian.Uint64(k[8:]))
			if err := tx.Bucket(bucketAudit).Put(moved, append([]byte(nil), v...)); err != nil {
				return err
			}
			return tx.Bucket(bucketAudit).Delete(k)
		}, "was removed"},
		{"the newest entry and its link removed", func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketChain).Cursor()
			k, v := c.Last()
			id := binary.BigEndian.Uint64(v)
			if err := tx.Bucket(bucketAudit).Delete(auditKey(id, binary.BigEndian.Uint64(k))); err != nil {
				return err
			}
			return tx.Bucket(bucketChain).Delete(k)
		}, "is not the one its entries make"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := tamper(t, chained(t), c.change)
			if !errors.Is(err, ErrChainBroken) || !strings.Contains(rep.Break, c.want) {
				t.Fatalf("got %v (break %q), want a break that says %q", err, rep.Break, c.want)
			}
		})
	}
}

// A journal from before the chain has unchained entries, not breaks; entries written since
// are chained.
func TestEntriesBeforeTheChainAreUnchained(t *testing.T) {
	path := chained(t)
	if _, err := tamper(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketChain); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keyChainHead)
	}); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	insert(t, db, newRec("d.pdf", 4))
	rep, err := db.VerifyChain()
	if err != nil || rep.Unchained != 7 || rep.Entries != 1 {
		t.Fatalf("%+v, %v", rep, err)
	}
}

func TestRebuildChainsWhatSurvived(t *testing.T) {
	path := chained(t)
	s, err := SalvageFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Rebuild(filepath.Join(t.TempDir(), "rebuilt.db"), s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := db.VerifyChain()
	if err != nil || rep.Entries != 7 {
		t.Fatalf("rebuilt: %+v, %v", rep, err)
	}
}
