package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CheckReport is what `archivist journal check` found.
type CheckReport struct {
	Problems    []string // damage: the journal is refused until rebuilt
	Warnings    []string // what bbolt recovers from, or what was quarantined before
	Records     int
	Undecodable []uint64 // records whose value does not decode (full check)
	Quarantined []Quarantined
}

// CheckFile checks the journal at path without changing it: the meta pages, the file's size,
// the freelist and the root page, the schema and identity; with full, also every page (bbolt's
// Tx.Check), every record and audit entry, and that the indexes agree with the records.
func CheckFile(path string, full bool, timeout time.Duration) (*CheckReport, error) {
	rep := &CheckReport{}
	warning, _ := quickCheck(path) // its error is Open's too
	if warning != "" {
		rep.Warnings = append(rep.Warnings, warning)
	}
	db, err := Open(path, Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		if IsDamage(err) {
			rep.Problems = append(rep.Problems, err.Error())
			return rep, nil
		}
		return nil, err
	}
	defer db.Close()
	if rep.Quarantined, err = db.QuarantineList(); err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	if !full {
		return rep, nil
	}
	rep.Problems = append(rep.Problems, db.CheckPages(20)...)
	if err := db.scanValues(rep); err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	if len(rep.Problems) == 0 {
		if err := db.Check(); err != nil {
			rep.Problems = append(rep.Problems, "indexes: "+err.Error())
		}
	}
	return rep, nil
}

// IsDamage reports whether err means the journal is damaged (not, say, locked).
func IsDamage(err error) bool { return err != nil && errors.Is(err, ErrDamaged) }

// scanValues decodes every record and audit entry.
func (db *DB) scanValues(rep *CheckReport) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			rep.Records++
			if decodeRecord(v, new(Record)) != nil {
				rep.Undecodable = append(rep.Undecodable, binary.BigEndian.Uint64(k))
			}
		}
		bad := 0
		c = tx.Bucket(bucketAudit).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if decodeEntry(v, new(Entry)) != nil {
				bad++
			}
		}
		if len(rep.Undecodable) > 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%d records cannot be decoded: %v", len(rep.Undecodable), firstIDs(rep.Undecodable)))
		}
		if bad > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d audit entries cannot be decoded", bad))
		}
		return nil
	})
}

func firstIDs(ids []uint64) []uint64 {
	if len(ids) > 20 {
		return ids[:20]
	}
	return ids
}
