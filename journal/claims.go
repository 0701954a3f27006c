package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Claims. A transcript that waits for its attachments, or is held after it was read, claims
// the files it references: the journal keeps the list (and which of them are still missing),
// so nothing of the transcript has to stay in memory while it waits, and an attachment it
// references is not archived as a loose file meanwhile. When the last missing file is
// uploaded (or held), the transcript is due at once; one held only because files were
// missing is released. A transcript's claims end when it is posted, superseded or vanishes.
//
// Bucket "claims" holds two buckets: "path" with a key per claim, pathKey(watch, file) + 0 +
// transcript id (a path holds no NUL), and "transcript" with each transcript's claimSet.
var (
	bucketClaims    = []byte("claims")
	bucketClaimPath = []byte("path")
	bucketClaimSet  = []byte("transcript")
)

// claimSet is what one transcript claims.
type claimSet struct {
	Watch   string    `json:"watch"`
	Paths   []RelPath `json:"paths"`
	Missing []RelPath `json:"missing,omitempty"`
	// Release: the transcript was held while Missing were missing; it is released when they
	// have all arrived.
	Release bool `json:"release,omitempty"`
}

func claimPrefix(watch string, rel RelPath) []byte { return append(pathKey(watch, string(rel)), 0) }

// Claim records, in one transaction with fn's change to transcript id, that the transcript
// references the files at paths of watch and waits for those of missing. fn is given the ones
// still missing in this transaction: a file whose upload was committed since the caller looked
// (uploaded, posted or held) is not. fn returning ErrSkip leaves everything unchanged.
func (db *DB) Claim(id uint64, watch string, paths, missing []string, fn func(r *Record, missing []string) ([]Entry, error)) error {
	err := db.write(func(tx *bolt.Tx) error {
		var still []string
		for _, m := range missing {
			if !present(tx, watch, m) {
				still = append(still, m)
			}
		}
		var held bool
		err := update(tx, id, func(r *Record) ([]Entry, error) {
			e, err := fn(r, still)
			held = r.State == Held
			return e, err
		})
		if err != nil {
			return err
		}
		set := claimSet{Watch: watch, Release: held && len(still) > 0}
		for _, p := range paths {
			set.Paths = append(set.Paths, RelPath(p))
		}
		for _, m := range still {
			set.Missing = append(set.Missing, RelPath(m))
		}
		return putClaims(tx, id, set)
	})
	if err != nil && !errors.Is(err, ErrSkip) {
		return fmt.Errorf("journal: claims of transcript #%d: %w", id, err)
	}
	return nil
}

// present reports whether the current version of watch:rel is uploaded, posted or held: a
// transcript no longer waits for it.
func present(tx *bolt.Tx, watch, rel string) bool {
	fp, ok := decodeFingerprint(tx.Bucket(bucketPaths).Get(pathKey(watch, rel)))
	if !ok {
		return false
	}
	r, err := getRecord(tx, fp.ID)
	return err == nil && (r.State == Uploaded || r.State == Posted || r.State == Held)
}

// Unclaim ends the claims of transcript id (its file is gone: it will never post them).
func (db *DB) Unclaim(id uint64) error {
	if err := db.write(func(tx *bolt.Tx) error { return dropClaims(tx, id) }); err != nil {
		return fmt.Errorf("journal: drop the claims of transcript #%d: %w", id, err)
	}
	return nil
}

// Claimed returns what transcript id claims: the files it references and those still missing.
func (db *DB) Claimed(id uint64) (paths, missing []string, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		set, ok, err := loadClaims(tx, id)
		if !ok || err != nil {
			return err
		}
		for _, p := range set.Paths {
			paths = append(paths, string(p))
		}
		for _, m := range set.Missing {
			missing = append(missing, string(m))
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("journal: claims of transcript #%d: %w", id, err)
	}
	return paths, missing, nil
}

// UpdateClaimed is Update with the transcripts that claim the record's path passed to fn, read
// in the same transaction: those still waiting (uploaded) or held that are the current version
// of their own path (a transcript replaced by a newer version claims nothing).
func (db *DB) UpdateClaimed(id uint64, fn func(r *Record, claimedBy []uint64) ([]Entry, error)) error {
	err := db.write(func(tx *bolt.Tx) error {
		return update(tx, id, func(r *Record) ([]Entry, error) {
			var live []uint64
			for _, t := range claimants(tx, r.Watch, r.Path) {
				tr, err := getRecord(tx, t)
				if err != nil || (tr.State != Uploaded && tr.State != Held) {
					continue
				}
				if fp, ok := decodeFingerprint(tx.Bucket(bucketPaths).Get(pathKey(tr.Watch, string(tr.Path)))); ok && fp.ID == t {
					live = append(live, t)
				}
			}
			return fn(r, live)
		})
	})
	if err != nil && !errors.Is(err, ErrSkip) {
		return fmt.Errorf("journal: update #%d: %w", id, err)
	}
	return nil
}

// claimants lists the transcripts with a claim on watch:rel.
func claimants(tx *bolt.Tx, watch string, rel RelPath) []uint64 {
	b := tx.Bucket(bucketClaims)
	if b == nil {
		return nil
	}
	prefix := claimPrefix(watch, rel)
	var ids []uint64
	c := b.Bucket(bucketClaimPath).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) == len(prefix)+8 {
			ids = append(ids, binary.BigEndian.Uint64(k[len(prefix):]))
		}
	}
	return ids
}

func loadClaims(tx *bolt.Tx, id uint64) (claimSet, bool, error) {
	var set claimSet
	b := tx.Bucket(bucketClaims)
	if b == nil {
		return set, false, nil
	}
	v := b.Bucket(bucketClaimSet).Get(u64(id))
	if v == nil {
		return set, false, nil
	}
	if err := json.Unmarshal(v, &set); err != nil {
		return set, false, fmt.Errorf("claims of transcript #%d: %w: %w", id, errCorrupt, err)
	}
	return set, true, nil
}

// putClaims replaces the claims of transcript id with set.
func putClaims(tx *bolt.Tx, id uint64, set claimSet) error {
	if err := dropClaims(tx, id); err != nil {
		return err
	}
	if len(set.Paths) == 0 && len(set.Missing) == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketClaims)
	if err != nil {
		return err
	}
	byPath, err := b.CreateBucketIfNotExists(bucketClaimPath)
	if err != nil {
		return err
	}
	sets, err := b.CreateBucketIfNotExists(bucketClaimSet)
	if err != nil {
		return err
	}
	for _, p := range slices.Concat(set.Paths, set.Missing) {
		if err := byPath.Put(append(claimPrefix(set.Watch, p), u64(id)...), nil); err != nil {
			return err
		}
	}
	v, err := json.Marshal(set)
	if err != nil {
		return err
	}
	return sets.Put(u64(id), v)
}

// dropClaims removes the claims of transcript id, if any.
func dropClaims(tx *bolt.Tx, id uint64) error {
	set, ok, err := loadClaims(tx, id)
	if !ok {
		return err // nil unless the set is corrupt; then it stays for inspection
	}
	b := tx.Bucket(bucketClaims)
	for _, p := range slices.Concat(set.Paths, set.Missing) {
		if err := b.Bucket(bucketClaimPath).Delete(append(claimPrefix(set.Watch, p), u64(id)...)); err != nil {
			return err
		}
	}
	return b.Bucket(bucketClaimSet).Delete(u64(id))
}

// claimsOnPut keeps the claims in line with a record's change from old (nil for a new record):
// a transcript that is done gives up its claims; a claimed file that arrived (uploaded, posted,
// or held: the transcript can now tell what is wrong with it) is no longer missing, and the
// transcripts that waited only for it are due now.
func claimsOnPut(tx *bolt.Tx, old, r *Record) error {
	if old != nil && old.State == r.State {
		return nil
	}
	switch r.State {
	case Posted, Superseded, Vanished:
		if r.Role == RoleTranscript {
			if err := dropClaims(tx, r.ID); err != nil {
				return err
			}
		}
	}
	if r.State != Uploaded && r.State != Posted && r.State != Held {
		return nil
	}
	for _, t := range claimants(tx, r.Watch, r.Path) {
		if err := arrived(tx, t, r.Path); err != nil {
			return err
		}
	}
	return nil
}

// arrived notes that transcript t's claim on rel is no longer missing and wakes t when nothing
// it waits for is missing any more.
func arrived(tx *bolt.Tx, t uint64, rel RelPath) error {
	set, ok, err := loadClaims(tx, t)
	if !ok || err != nil {
		return err
	}
	n := len(set.Missing)
	set.Missing = slices.DeleteFunc(set.Missing, func(m RelPath) bool { return m == rel })
	if len(set.Missing) == n {
		return nil
	}
	v, err := json.Marshal(set)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketClaims).Bucket(bucketClaimSet).Put(u64(t), v); err != nil {
		return err
	}
	if len(set.Missing) > 0 {
		return nil
	}
	err = update(tx, t, func(tr *Record) ([]Entry, error) {
		now := time.Now()
		switch {
		case tr.State == Uploaded:
			if _, due := tr.Due(LaneConv); !due {
				return nil, ErrSkip
			}
			tr.Schedule(LaneConv, now)
			return []Entry{{Time: now, Step: "conv", Lane: LaneConv, Result: "ok", Detail: "every attachment it waited for has arrived"}}, nil
		case tr.State == Held && tr.HeldLane == LaneConv && set.Release:
			if err := tr.Release(now); err != nil {
				return nil, err
			}
			return []Entry{{Time: now, Step: "retry", Lane: LaneConv, Result: "ok",
				Detail: "released: every attachment it was held for missing has arrived"}}, nil
		}
		return nil, ErrSkip
	})
	if errors.Is(err, ErrSkip) || errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
