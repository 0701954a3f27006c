package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrUndecodable means a stored record's value cannot be decoded (a damaged page).
var ErrUndecodable = errors.New("record cannot be decoded")

// bucketQuarantine holds what was taken out of the journal's work because it cannot be read:
// by record id, why and the stored bytes as they were.
var bucketQuarantine = []byte("quarantine")

// Quarantined is one record taken out of the work.
type Quarantined struct {
	ID     uint64    `json:"id"`
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
	Value  []byte    `json:"value,omitempty"` // the undecodable stored value, if there was one
}

// decodeStored decodes a stored record, marking a failure as ErrUndecodable.
func decodeStored(id uint64, v []byte, r *Record) error {
	if err := decodeRecord(v, r); err != nil {
		return fmt.Errorf("record #%d: %w: %w", id, ErrUndecodable, err)
	}
	return nil
}

// Quarantine takes record id out of the work once: its undecodable value (if any) moves to
// the quarantine bucket with the reason, and its entries leave every due index and the path
// index (so the file is recorded again when next seen, and reconciliation finds it). It
// reports whether it did so now (false: quarantined before, or the record reads fine again).
func (db *DB) Quarantine(id uint64, cause error, now time.Time) (bool, error) {
	fresh := false
	err := db.write(func(tx *bolt.Tx) error {
		fresh = false
		q, err := tx.CreateBucketIfNotExists(bucketQuarantine)
		if err != nil {
			return err
		}
		k := u64(id)
		if q.Get(k) != nil {
			return removeDue(tx, id)
		}
		v := tx.Bucket(bucketRecords).Get(k)
		if v != nil && decodeRecord(v, new(Record)) == nil {
			return nil
		}
		entry, err := json.Marshal(Quarantined{ID: id, Time: now, Reason: cause.Error(), Value: v})
		if err != nil {
			return err
		}
		if err := q.Put(k, entry); err != nil {
			return err
		}
		if v != nil {
			if err := tx.Bucket(bucketRecords).Delete(k); err != nil {
				return err
			}
		}
		if err := removeDue(tx, id); err != nil {
			return err
		}
		fresh = true
		return removePaths(tx, id)
	})
	if err != nil {
		return false, fmt.Errorf("journal: quarantine #%d: %w", id, err)
	}
	return fresh, nil
}

// removeDue deletes every due entry of record id, in every lane.
func removeDue(tx *bolt.Tx, id uint64) error {
	due := tx.Bucket(bucketDue)
	var lanes [][]byte
	if err := due.ForEachBucket(func(name []byte) error {
		lanes = append(lanes, bytes.Clone(name))
		return nil
	}); err != nil {
		return err
	}
	for _, lane := range lanes {
		b := due.Bucket(lane)
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) == 16 && binary.BigEndian.Uint64(k[8:]) == id {
				keys = append(keys, bytes.Clone(k))
			}
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// removePaths deletes the path index entries that name record id as the current version.
func removePaths(tx *bolt.Tx, id uint64) error {
	paths := tx.Bucket(bucketPaths)
	var keys [][]byte
	c := paths.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if fp, ok := decodeFingerprint(v); ok && fp.ID == id {
			keys = append(keys, bytes.Clone(k))
		}
	}
	for _, k := range keys {
		if err := paths.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// QuarantineList returns what was quarantined, by id.
func (db *DB) QuarantineList() ([]Quarantined, error) {
	var out []Quarantined
	err := db.bolt.View(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQuarantine)
		if q == nil {
			return nil
		}
		return q.ForEach(func(k, v []byte) error {
			var e Quarantined
			if err := json.Unmarshal(v, &e); err != nil {
				e = Quarantined{ID: binary.BigEndian.Uint64(k), Reason: "quarantine entry cannot be decoded either"}
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// QuarantineCount is how many records were quarantined.
func (db *DB) QuarantineCount() (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if q := tx.Bucket(bucketQuarantine); q != nil {
			n = q.Stats().KeyN
		}
		return nil
	})
	return n, err
}

func quarantined(tx *bolt.Tx) int {
	if q := tx.Bucket(bucketQuarantine); q != nil {
		return q.Stats().KeyN
	}
	return 0
}

// DropStrayDue deletes the due entries of lane that name record id at a time its record does
// not have (a damaged due key): work that would be dispatched again and again for nothing. It
// returns how many it deleted.
func (db *DB) DropStrayDue(lane string, id uint64) (int, error) {
	n := 0
	err := db.write(func(tx *bolt.Tx) error {
		n = 0
		r, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketDue).Bucket([]byte(lane))
		if b == nil {
			return nil
		}
		want, has := r.Lanes[lane]
		var stray [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != 16 {
				stray = append(stray, bytes.Clone(k))
				continue
			}
			if t, kid := decodeDueKey(k); kid == id && !(has && t.Equal(want)) {
				stray = append(stray, bytes.Clone(k))
			}
		}
		for _, k := range stray {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(stray)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("journal: drop stray due entries of #%d in %s: %w", id, lane, err)
	}
	return n, nil
}
