package journal

// bbolt never shrinks its file: pages freed by deletes go to its freelist and are reused for
// new writes. CompactFile gives the space back with the daemon stopped: it copies the live
// pages into a new file (bbolt's Compact, pages filled), syncs it, checks that the copy is the
// same journal (identity, audit chain head), and renames it over the journal while it holds
// the journal's lock. A crash at any point leaves either the old file or the new one in place,
// both whole; a copy left behind by a crash is removed by the next run. The copy keeps the
// journal's identity (the id in its meta bucket), so the marker file next to it stays valid.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileCompactOptions tune CompactFile.
type FileCompactOptions struct {
	// Before, if not zero, removes the audit detail written before it first (CompactAudit).
	Before time.Time
	// Chunk is CompactAudit's transaction size.
	Chunk int
	// After, if set, is called after each step: "audit" after each audit transaction,
	// "copied" once the new file is written and synced, before it takes the journal's place.
	After func(step string)
}

// FileCompactStats is what CompactFile did.
type FileCompactStats struct {
	Audit      CompactStats
	SizeBefore int64
	SizeAfter  int64
}

// compactTxSize bounds the transactions bbolt's Compact writes the new file in.
const compactTxSize = 64 << 20

// CompactSuffix names the new file while CompactFile writes it.
const CompactSuffix = ".compact"

// CompactFile removes old audit detail (if o.Before is set) and rewrites the journal at path
// into a file of its live pages only. The daemon must be stopped: the journal is opened for
// writing, so a running daemon makes it fail with ErrLocked.
func CompactFile(ctx context.Context, path string, o FileCompactOptions) (*FileCompactStats, error) {
	after := func(string) {}
	if o.After != nil {
		after = o.After
	}
	tmp := path + CompactSuffix
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("journal %s: remove the copy a crashed compaction left: %w", path, err)
	}
	db, err := Open(path, Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	st := &FileCompactStats{}
	if !o.Before.IsZero() {
		st.Audit, err = db.CompactAudit(ctx, o.Before, CompactOptions{Chunk: o.Chunk, AfterChunk: func(CompactStats) { after("audit") }})
		if err != nil {
			return st, err
		}
	}
	if fi, err := os.Stat(path); err == nil {
		st.SizeBefore = fi.Size()
	}
	if err := db.copyTo(tmp); err != nil {
		os.Remove(tmp)
		return st, fmt.Errorf("journal %s: compact into a new file: %w", path, err)
	}
	after("copied")
	if err := os.Rename(tmp, path); err != nil {
		return st, fmt.Errorf("journal %s: put the compacted file in place: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return st, fmt.Errorf("journal %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil {
		st.SizeAfter = fi.Size()
	}
	return st, nil
}

// copyTo writes the journal's live pages into a new file at tmp, synced, and checks that it
// is the same journal.
func (db *DB) copyTo(tmp string) error {
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	err = db.bolt.fence(func() error { return bolt.Compact(dst, db.bolt.DB, compactTxSize) })
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	return db.sameAs(tmp)
}

// sameAs checks that the journal at other has this one's identity and audit chain head.
func (db *DB) sameAs(other string) error {
	cp, err := Open(other, Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer cp.Close()
	head, n, err := db.ChainHead()
	if err != nil {
		return err
	}
	cpHead, cpN, err := cp.ChainHead()
	if err != nil {
		return err
	}
	cpID, err := cp.ID()
	if err != nil {
		return err
	}
	id, err := db.ID()
	if err != nil {
		return err
	}
	if cpID != id || cpHead != head || cpN != n {
		return fmt.Errorf("the copy is not the same journal (id %s, chain head %s of %d; want %s, %s of %d)", cpID, cpHead, cpN, id, head, n)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// FreeBytes is how much of the file bbolt holds free for reuse (pages freed by deletes).
func (db *DB) FreeBytes() int64 {
	s := db.bolt.Stats()
	return int64(s.FreePageN+s.PendingPageN) * int64(db.bolt.Info().PageSize)
}

// openCurrent is openBolt that makes sure the file it locked is still the one at path.
// CompactFile renames a new file over the journal while it holds the old one's lock: a
// process that opened the old file and waited for its lock would get it once the compaction
// closes it, and work on a file no longer in place, its writes lost. It opens again instead.
func openCurrent(path string, opts *bolt.Options) (*bolt.DB, error) {
	for range 3 {
		before, statErr := os.Stat(path)
		b, err := openBolt(path, opts)
		if err != nil || statErr != nil {
			return b, err
		}
		after, err := os.Stat(path)
		if err == nil && os.SameFile(before, after) {
			return b, nil
		}
		if err := b.Close(); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: the file was replaced while it was opened, three times in a row", ErrLocked)
}
