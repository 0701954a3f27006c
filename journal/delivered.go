package journal

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The exactly-once ledger of chat exports: every message an export's events carried to the
// archive, by watch and message key (transcript.Event.Key: Slack's workspace, conversation
// and ts; WhatsApp's chat, time, author and text; Teams' conversation and message id). Keys
// are committed with the request that carried them (Chunk.Keys), so the same export dropped
// again, under any name, sends nothing, an overlapping later export only what is new, and a
// crash resends at most the one request whose commit it interrupted. Small entries of their
// own, not a conversation's ledger: an export of a million messages adds a million keys, and
// looking some of them up reads only those.

var bucketDelivered = []byte("delivered")

// deliveredKey is "<watch>\x00" and the first 128 bits of the message key's SHA-256: a
// million messages take some 30 MB of journal, whatever their keys' length (the request
// that carried each is in its conversation's ledger).
func deliveredKey(watch, key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return pathKey(watch, string(sum[:16]))
}

// deliveredMark is the value of a delivered entry.
var deliveredMark = []byte{1}

// isDeliveredEntry reports whether a key and value read by a salvage are a delivered entry:
// "<watch>\x00" and 16 bytes, and the mark (no other entry of the journal has that shape).
func isDeliveredEntry(k, v []byte) bool {
	i := bytes.IndexByte(k, 0)
	return i > 0 && len(k) == i+1+16 && bytes.Equal(v, deliveredMark)
}

// restoreDelivered writes a salvage's delivered entries into a rebuilt journal.
func restoreDelivered(tx *bolt.Tx, keys map[string]bool) error {
	if len(keys) == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketDelivered)
	if err != nil {
		return err
	}
	for k := range keys {
		if err := b.Put([]byte(k), deliveredMark); err != nil {
			return fmt.Errorf("delivered: %w", err)
		}
	}
	return nil
}

// Delivered reports, for each of keys, whether a request that carried it was accepted and
// committed for watch.
func (db *DB) Delivered(watch string, keys []string) ([]bool, error) {
	out := make([]bool, len(keys))
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDelivered)
		if b == nil {
			return nil
		}
		for i, k := range keys {
			out[i] = b.Get(deliveredKey(watch, k)) != nil
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal: look up delivered messages of watch %s: %w", watch, err)
	}
	return out, nil
}

// addDelivered records the keys of chunk c.
func addDelivered(tx *bolt.Tx, c Chunk) error {
	if len(c.Keys) == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketDelivered)
	if err != nil {
		return err
	}
	for _, k := range c.Keys {
		if err := b.Put(deliveredKey(c.Watch, k), deliveredMark); err != nil {
			return fmt.Errorf("delivered %s: %w", k, err)
		}
	}
	return nil
}
