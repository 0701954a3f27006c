package journal

import (
	"path/filepath"
	"testing"
)

// A read the journal cannot make is an error, not "never stored" or "nothing due": before,
// Meta, KeyOwner, NextDue and FirstDue threw the error away.
func TestLookupsReturnReadErrors(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "journal.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SetMeta("config", "abc"); err != nil {
		t.Fatal(err)
	}
	if v, err := db.LookupMeta("config"); err != nil || v != "abc" {
		t.Fatalf("LookupMeta = %q, %v; want abc", v, err)
	}
	if _, ok, err := db.LookupFirstDue(LanePut); err != nil || ok {
		t.Fatalf("LookupFirstDue on an empty lane = %v, %v", ok, err)
	}
	if err := db.bolt.Close(); err != nil { // reads now fail
		t.Fatal(err)
	}
	if v, err := db.LookupMeta("config"); err == nil {
		t.Errorf("LookupMeta on a closed journal = %q, nil; want an error, not a first run", v)
	}
	if _, _, err := db.LookupKeyOwner("default/x"); err == nil {
		t.Error("LookupKeyOwner on a closed journal: no error")
	}
	if _, _, err := db.LookupFirstDue(LanePut); err == nil {
		t.Error("LookupFirstDue on a closed journal: no error")
	}
}
