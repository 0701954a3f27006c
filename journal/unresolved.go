package journal

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The unresolved-participants ledger: everyone a transcript named whose address neither the
// export nor the identity directory knew, so that they were archived under the reserved
// fallback address. An admin fills the directory from it; once the directory knows someone,
// PruneResolved drops them (the daemon calls it whenever it loads a directory).

var bucketUnresolved = []byte("unresolved")

// Unresolved is one participant of a source (slack, whatsapp, teams) archived without an
// address of their own.
type Unresolved struct {
	Source string `json:"source"`
	ID     string `json:"id"`
	// Name is the display name the export gave, the newest one seen.
	Name string `json:"name,omitempty"`
	// Watches are the watches whose transcripts named them, sorted.
	Watches   []string  `json:"watches,omitempty"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	// Events is how many archived events carried the fallback address. When noting, it is
	// the number to add (0 counts as 1).
	Events int64 `json:"events"`
	// Watch is the watch being noted (NoteUnresolved only; not stored: see Watches).
	Watch string `json:"-"`
}

// unresolvedKey is "<source>\x00<id>", source lowercased as the directory compares it.
func unresolvedKey(source, id string) []byte { return pathKey(strings.ToLower(source), id) }

// NoteUnresolved adds people to the ledger in one transaction: a new (source, id) is recorded
// as first seen at now; a known one gets its last-seen time, name, watch and event count
// updated. Noting the same people again keeps one entry each (same watches, first-seen time)
// but adds their events again: to count each event exactly once, note them with the request
// that carried them (Chunk.Unresolved), which commits both in one transaction.
func (db *DB) NoteUnresolved(people []Unresolved, now time.Time) error {
	if len(people) == 0 {
		return nil
	}
	if err := db.write(func(tx *bolt.Tx) error { return noteUnresolved(tx, people, now) }); err != nil {
		return fmt.Errorf("journal: note unresolved participants: %w", err)
	}
	return nil
}

func noteUnresolved(tx *bolt.Tx, people []Unresolved, now time.Time) error {
	if len(people) == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketUnresolved)
	if err != nil {
		return err
	}
	for _, p := range people {
		if err := noteOne(b, p, now); err != nil {
			return fmt.Errorf("unresolved %s %s: %w", p.Source, p.ID, err)
		}
	}
	return nil
}

func noteOne(b *bolt.Bucket, p Unresolved, now time.Time) error {
	k := unresolvedKey(p.Source, p.ID)
	cur := Unresolved{Source: strings.ToLower(p.Source), ID: p.ID, FirstSeen: now}
	if v := b.Get(k); v != nil {
		if err := json.Unmarshal(v, &cur); err != nil {
			return err
		}
	}
	if p.Name != "" {
		cur.Name = p.Name
	}
	if p.Watch != "" && !slices.Contains(cur.Watches, p.Watch) {
		cur.Watches = append(cur.Watches, p.Watch)
		slices.Sort(cur.Watches)
	}
	if now.After(cur.LastSeen) {
		cur.LastSeen = now
	}
	if now.Before(cur.FirstSeen) {
		cur.FirstSeen = now
	}
	cur.Events += max(p.Events, 1)
	v, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	return b.Put(k, v)
}

// Unresolved lists the ledger, sorted by source and id.
func (db *DB) Unresolved() ([]Unresolved, error) {
	var out []Unresolved
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUnresolved)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var u Unresolved
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("entry %q: %w", strings.ReplaceAll(string(k), "\x00", " "), err)
			}
			out = append(out, u)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: unresolved participants: %w", err)
	}
	return out, nil
}

// UnresolvedCount is the number of participants in the ledger.
func (db *DB) UnresolvedCount() (int, error) {
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketUnresolved); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("journal: unresolved participants: %w", err)
	}
	return n, nil
}

// PruneResolved removes, in one transaction, every participant for whom known(source, id)
// is true (the identity directory now gives their address), and returns how many it removed.
func (db *DB) PruneResolved(known func(source, id string) bool) (int, error) {
	n := 0
	err := db.write(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUnresolved)
		if b == nil {
			return nil
		}
		var drop [][]byte
		err := b.ForEach(func(k, _ []byte) error {
			source, id, ok := strings.Cut(string(k), "\x00")
			if ok && known(source, id) {
				drop = append(drop, slices.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(drop)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("journal: prune resolved participants: %w", err)
	}
	return n, nil
}
