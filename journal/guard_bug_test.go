package journal

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A nil pointer dereference in code that reads the journal is a bug, not damage: it must
// not mark a sound journal damaged (which stops the daemon and tells the operator to
// rebuild it).
func TestABugInAReaderIsNotReportedAsDamage(t *testing.T) {
	db := openTest(t)
	var r *Record
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the bug's panic was swallowed")
			}
		}()
		db.bolt.View(func(tx *bolt.Tx) error {
			_ = r.ID // nil pointer dereference
			return nil
		})
	}()
	if err := db.Err(); err != nil {
		t.Fatalf("the journal is marked damaged by a bug of its reader: %v", err)
	}
}
