package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// fileKey is a key of filekey.Build's shape for name with content seed.
func fileKey(watch, seed, name string) string {
	sum := sha256.Sum256([]byte(seed))
	return "default/" + watch + "/" + hex.EncodeToString(sum[:]) + "/" + name
}

// confirm records r's PUT of key as confirmed, as the upload lane does.
func confirm(t *testing.T, db *DB, id uint64, key string) {
	t.Helper()
	err := db.Update(id, func(r *Record) ([]Entry, error) {
		r.State, r.FileKey = Uploaded, key
		r.Done(LanePut)
		return []Entry{{Step: "put", Result: "ok", FileKey: key}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rawKeys is the key index as stored.
func rawKeys(t *testing.T, db *DB) (keys [][]byte) {
	t.Helper()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// The key index orders keys by watch and name before the content hash, so that files whose
// names come in order are indexed next to each other whatever their content.
func TestKeyIndexOrdersKeysByNameNotByHash(t *testing.T) {
	var keys [][]byte
	for i := range 200 {
		keys = append(keys, ownerKey(fileKey("bench", fmt.Sprint("content ", i), fmt.Sprintf("f%05d.txt", i))))
	}
	if !slices.IsSortedFunc(keys, bytes.Compare) {
		t.Fatal("index keys of names in order are not in order")
	}
	// One to one: keys differing in any part, or not of Build's shape, stay apart.
	distinct := []string{
		fileKey("a", "1", "x.txt"), fileKey("a", "2", "x.txt"), fileKey("a", "1", "y.txt"), fileKey("b", "1", "x.txt"),
		"default/a", "default/a/b", "default/a/b/c", "default/a/" + string(make([]byte, 64)) + "/x", fileKey("a\x00b", "1", "x"),
	}
	seen := map[string]string{}
	for _, k := range distinct {
		ik := string(ownerKey(k))
		if prev, dup := seen[ik]; dup {
			t.Errorf("%q and %q share the index key %q", prev, k, ik)
		}
		seen[ik] = k
	}
	if got := ownerKey("default/a/b"); string(got) != "default/a/b" {
		t.Errorf("a key not of Build's shape is indexed as %q, want its own bytes", got)
	}
}

func TestKeyIndexFindsKeysOfBothLayouts(t *testing.T) {
	db := openTest(t)
	recs := insert(t, db, newRec("new.pdf", 1), newRec("old.pdf", 2), newRec("again.pdf", 3))
	newKey, oldKey := fileKey("teams", "new", "new.pdf"), fileKey("teams", "old", "old.pdf")
	confirm(t, db, recs[0].ID, newKey)
	stored := rawKeys(t, db)
	if len(stored) != 1 || stored[0][0] != keyOwnerLayout {
		t.Fatalf("key index holds %q, want one key in the present layout", stored)
	}
	// A journal written before the layout holds fileKeys as they are.
	err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketKeys).Put([]byte(oldKey), u64(recs[1].ID)) })
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]uint64{newKey: recs[0].ID, oldKey: recs[1].ID} {
		if owner, ok, err := db.LookupKeyOwner(key); err != nil || !ok || owner != want {
			t.Errorf("LookupKeyOwner(%s) = %d, %v, %v; want #%d", key, owner, ok, err, want)
		}
	}
	if _, ok, err := db.LookupKeyOwner(fileKey("teams", "other", "new.pdf")); err != nil || ok {
		t.Errorf("a key never confirmed has an owner (%v, %v)", ok, err)
	}
	// A later confirmation of a key the older journal indexed keeps its first owner.
	confirm(t, db, recs[2].ID, oldKey)
	if owner, _, _ := db.LookupKeyOwner(oldKey); owner != recs[1].ID {
		t.Errorf("owner of the older key = #%d, want #%d", owner, recs[1].ID)
	}
	if n := len(rawKeys(t, db)); n != 2 {
		t.Errorf("key index holds %d keys, want 2 (no second entry for a key indexed before)", n)
	}
}
