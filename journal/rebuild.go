package journal

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// rebuildChunk is how many records one transaction of Rebuild writes.
const rebuildChunk = 2000

// Rebuild creates a new journal at path (which must not exist) from what s salvaged: every
// record as it was last written, with its indexes (state counts, due lanes, paths, keys)
// made anew, its audit trail, the conversations' posted events, the messages of chat exports
// delivered (so a rebuilt journal does not send them again) and the daemon's settings.
// A record keeps its state: what was archived stays archived, what was in flight is due.
// Files with no surviving record are recorded again when the daemon next sees them.
func Rebuild(path string, s *Salvage) (*DB, error) {
	db, err := Open(path, Options{NewJournal: true})
	if err != nil {
		return nil, err
	}
	ids := s.RecordIDs()
	for len(ids) > 0 {
		n := min(len(ids), rebuildChunk)
		if err := db.write(func(tx *bolt.Tx) error { return restoreRecords(tx, s, ids[:n]) }); err != nil {
			db.Close()
			return nil, fmt.Errorf("journal %s: rebuild: %w", path, err)
		}
		ids = ids[n:]
	}
	if err := db.write(func(tx *bolt.Tx) error { return restoreRest(tx, s) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: rebuild: %w", path, err)
	}
	return db, nil
}

func restoreRecords(tx *bolt.Tx, s *Salvage, ids []uint64) error {
	records := tx.Bucket(bucketRecords)
	records.FillPercent = appendFill
	for _, id := range ids {
		r := *s.Records[id]
		updated := r.UpdatedAt
		if err := put(tx, nil, &r); err != nil {
			return err
		}
		if r.State == Superseded || r.State == Vanished {
			// A second put from the same record gives up its path as an update would.
			old := r
			if err := put(tx, &old, &r); err != nil {
				return err
			}
		}
		r.UpdatedAt = updated
		if err := records.Put(u64(id), encodeRecord(&r)); err != nil {
			return err
		}
		if id > records.Sequence() {
			if err := records.SetSequence(id); err != nil {
				return err
			}
		}
	}
	return nil
}

func restoreRest(tx *bolt.Tx, s *Salvage) error {
	records := tx.Bucket(bucketRecords)
	if s.RecordSeq > records.Sequence() {
		if err := records.SetSequence(s.RecordSeq); err != nil {
			return err
		}
	}
	audit := tx.Bucket(bucketAudit)
	audit.FillPercent = appendFill
	for k, v := range s.Audit {
		if err := audit.Put([]byte(k), v); err != nil {
			return err
		}
		if seq := binary.BigEndian.Uint64([]byte(k)[8:]); seq > audit.Sequence() {
			if err := audit.SetSequence(seq); err != nil {
				return err
			}
		}
	}
	if s.AuditSeq > audit.Sequence() {
		if err := audit.SetSequence(s.AuditSeq); err != nil {
			return err
		}
	}
	for k, v := range s.Conversations {
		if err := tx.Bucket(bucketConversations).Put([]byte(k), v); err != nil {
			return err
		}
	}
	if err := restoreDelivered(tx, s.Delivered); err != nil {
		return err
	}
	for k, v := range s.Settings {
		if k == string(keyChainHead) { // the old chain is not salvaged: keep its head on record
			k = string(keyChainHeadBeforeRebuild)
		}
		if err := tx.Bucket(bucketMeta).Put([]byte(k), v); err != nil {
			return err
		}
	}
	return rechain(tx, s.Audit)
}

// keyChainHeadBeforeRebuild keeps the head of the chain a rebuilt journal had before.
var keyChainHeadBeforeRebuild = []byte("chain/head-before-rebuild")

// rechain links the salvaged audit entries into a new chain, in the order they were written:
// a rebuilt journal's chain covers what survived, and its head differs from the heads
// signed before the damage, as it should.
func rechain(tx *bolt.Tx, audit map[string][]byte) error {
	keys := make([]string, 0, len(audit))
	for k := range audit {
		if len(k) == 16 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int { return strings.Compare(a[8:], b[8:]) })
	for _, k := range keys {
		if err := chainAppend(tx, binary.BigEndian.Uint64([]byte(k)), binary.BigEndian.Uint64([]byte(k)[8:]), audit[k]); err != nil {
			return err
		}
	}
	return nil
}
