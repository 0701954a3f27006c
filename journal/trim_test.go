package journal

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// rssFile is this process's resident file-backed memory (RssFile), in bytes.
func rssFile(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no RssFile")
	return 0
}

// Walking every record does not leave the journal's pages resident: the walk trims the map
// as it goes, so what stays is at most the pages read since the last trim.
func TestEachDoesNotKeepTheJournalResident(t *testing.T) {
	db := openTest(t)
	const n = 24_000
	for start := 0; start < n; start += 2000 {
		var recs []*Record
		for i := start; i < start+2000; i++ {
			r := newRec(fmt.Sprintf("export/%06d/%s.pdf", i, strings.Repeat("x", 400)), int64(i))
			r.SHA256, r.FileKey, r.LastError = strings.Repeat("ab", 32), "default/teams/"+strings.Repeat("ab", 32)+"/x.pdf", strings.Repeat("e", 300)
			recs = append(recs, r)
		}
		insert(t, db, recs...)
	}
	fi, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.bolt.View(func(tx *bolt.Tx) error { db.bolt.trim.trim(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	before, trims := rssFile(t), db.bolt.trim.trims.Load()
	seen := 0
	if err := db.Each(func(r *Record) bool { seen++; return true }); err != nil {
		t.Fatal(err)
	}
	grew := rssFile(t) - before
	if seen != n || db.bolt.trim.trims.Load() <= trims {
		t.Fatalf("walked %d records, %d trims", seen, db.bolt.trim.trims.Load()-trims)
	}
	if grew > fi.Size()/2 {
		t.Errorf("a walk of a %d MB journal left %d MB of it resident", fi.Size()>>20, grew>>20)
	}
	t.Logf("journal %d MB; resident growth after a full walk %d MB", fi.Size()>>20, grew>>20)
}

// Writes trim too: a burst committed in write transactions, with few reads between them,
// does not keep every page it touched resident.
func TestWritesTrimTheMap(t *testing.T) {
	db := openTest(t)
	trims := db.bolt.trim.trims.Load()
	for i := range 2 * trimWrites {
		insert(t, db, newRec(fmt.Sprintf("burst/%06d.pdf", i), int64(i)))
	}
	if got := db.bolt.trim.trims.Load() - trims; got < 2 {
		t.Fatalf("%d trims in %d write transactions, want one every %d", got, 2*trimWrites, trimWrites)
	}
}
