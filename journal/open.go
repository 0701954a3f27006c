package journal

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"golang.org/x/sys/unix"
)

// checkBeforeOpen checks an existing file's meta pages, size, freelist and root page with
// plain reads before bbolt maps it (bbolt's open itself faults on a truncated file).
func checkBeforeOpen(path string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		return nil // bbolt reports a missing file; an empty one is a new journal
	}
	_, err = quickCheck(path)
	if errors.Is(err, ErrDamaged) {
		err = checkAgainLocked(path, err)
	}
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, withAdvice(err))
	}
	return nil
}

// checkAgainLocked repeats a failed check holding a shared lock, which no writer holds: a
// daemon committing while the pages were read can make them look torn. If a daemon holds the
// file, bbolt's open says so (ErrLocked); its own checks watch for damage.
func checkAgainLocked(path string, first error) error {
	f, err := os.Open(path)
	if err != nil {
		return first
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) != nil {
		return nil
	}
	// The lock goes with the file's close.
	_, err = quickCheck(path)
	return err
}

// withAdvice adds what the operator can do to a damage error.
func withAdvice(err error) error {
	if !errors.Is(err, ErrDamaged) {
		return err
	}
	return fmt.Errorf("%w; 'archivist journal check --full' says more, 'archivist journal rebuild' makes a new journal from what survives", err)
}

// openBolt is bolt.Open with a fault while it reads the file (meta pages, freelist) turned
// into damage instead of a crash.
func openBolt(path string, opts *bolt.Options) (b *bolt.DB, err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			b, err = nil, withAdvice(fmt.Errorf("%w: reading it failed: %v", ErrDamaged, r))
		}
	}()
	b, err = bolt.Open(path, 0o600, opts)
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, bolterrors.ErrVersionMismatch) {
		err = withAdvice(fmt.Errorf("%w: %w", ErrDamaged, err))
	}
	return b, err
}

// start checks the schema (creating the buckets and claiming an identity when writable),
// runs the full check if asked, and writes the marker file naming the journal.
func (db *DB) start(o Options) error {
	var id string
	var err error
	if o.ReadOnly {
		err = db.bolt.View(db.checkSchema)
	} else {
		err = db.bolt.Update(func(tx *bolt.Tx) error {
			if err := db.init(tx); err != nil {
				return err
			}
			id, err = claimIdentity(tx, db.path, o)
			return err
		})
	}
	if err != nil {
		return withAdvice(err)
	}
	if o.FullCheck {
		if problems := db.CheckPages(0); len(problems) > 0 {
			return withAdvice(fmt.Errorf("%w: %s", ErrDamaged, problems[0]))
		}
	}
	if id == "" {
		return nil
	}
	marker, err := readMarker(db.path)
	if err != nil || marker == id {
		return err
	}
	return writeMarker(db.path, id)
}

// CheckPages runs bbolt's check of every page (Tx.Check) and returns up to limit problems
// (all when limit is 0). A fault or panic while checking is one more problem.
func (db *DB) CheckPages(limit int) []string {
	var out []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			if limit == 0 || len(out) < limit {
				out = append(out, err.Error())
			}
		}
		return nil
	})
	if err != nil {
		out = append(out, err.Error())
	}
	return out
}
