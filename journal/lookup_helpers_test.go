package journal

import "testing"

// current is DB.Current for tests, failing the test on a read error.
func current(t testing.TB, db *DB, watch, rel string) (Fingerprint, bool) {
	t.Helper()
	fp, ok, err := db.Current(watch, rel)
	if err != nil {
		t.Fatal(err)
	}
	return fp, ok
}

// known is DB.Known for tests, failing the test on a read error.
func known(t testing.TB, db *DB, watch, rel string, v Version) bool {
	t.Helper()
	ok, err := db.Known(watch, rel, v)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
