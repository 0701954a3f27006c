package archive

import (
	"testing"

	"github.com/archivist-project/archivist/journal"
)

// current is journal.DB.Current for tests, failing the test on a read error.
func current(t testing.TB, db *journal.DB, watch, rel string) (journal.Fingerprint, bool) {
	t.Helper()
	fp, ok, err := db.Current(watch, rel)
	if err != nil {
		t.Fatal(err)
	}
	return fp, ok
}

// known is journal.DB.Known for tests, failing the test on a read error.
func known(t testing.TB, db *journal.DB, watch, rel string, v journal.Version) bool {
	t.Helper()
	ok, err := db.Known(watch, rel, v)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
