package journal

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged means the journal file is damaged (truncated, pages overwritten, missing where
// one existed): the command refuses to work on it. `archivist journal check` says what is
// wrong, `archivist journal rebuild` makes a new journal from what survives.
var ErrDamaged = errors.New("journal is damaged")

// guarded is the bbolt database with every transaction fenced: a damaged page makes bbolt
// panic (index out of range, page id mismatch) or, in a truncated file, fault on the memory
// map (SIGBUS). Both are turned into ErrDamaged in the goroutine that met them, the journal is
// marked damaged, and from then on every transaction fails at once without touching the map.
type guarded struct {
	*bolt.DB
	path string

	once    sync.Once
	mu      sync.Mutex
	cause   error
	damaged chan struct{}

	trim trimmer // keeps the map's pages from piling up in RSS; see trim.go

	bmu     sync.Mutex  // guards the batch being gathered:
	pending []batchCall // its calls; the first caller runs it
	full    chan struct{}
}

func newGuarded(b *bolt.DB, path string) *guarded {
	return &guarded{DB: b, path: path, damaged: make(chan struct{})}
}

// fail marks the journal damaged with cause (the first cause is kept) and returns the error.
func (g *guarded) fail(cause error) error {
	g.once.Do(func() {
		g.mu.Lock()
		g.cause = fmt.Errorf("journal %s: %w: %w", g.path, ErrDamaged, cause)
		g.mu.Unlock()
		close(g.damaged)
	})
	return g.err()
}

func (g *guarded) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cause
}

// fence runs fn with memory faults turned into panics and recovers them, and any panic of
// bbolt, as damage.
func (g *guarded) fence(fn func() error) (err error) {
	if err := g.err(); err != nil {
		return err
	}
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if nilDeref(r) {
				panic(r) // a bug of the code reading, not damage of the file: do not say it is
			}
			err = g.fail(fmt.Errorf("reading it failed: %v", r))
		}
	}()
	return fn()
}

// nilDeref reports whether a recovered panic is a nil pointer dereference, which no journal
// file causes: bbolt reads pages through the memory map, never through a nil pointer, and a
// fault in the map of a truncated or unreadable file comes with its address (Addr).
func nilDeref(r any) bool {
	err, ok := r.(runtime.Error)
	if _, fault := r.(interface{ Addr() uintptr }); !ok || fault {
		return false
	}
	return strings.Contains(err.Error(), "nil pointer dereference")
}

// View is bolt's View, fenced.
func (g *guarded) View(fn func(*bolt.Tx) error) error {
	return g.fence(func() error {
		return g.DB.View(func(tx *bolt.Tx) error {
			err := fn(tx)
			g.trim.afterView(tx)
			return err
		})
	})
}

// Update is bolt's Update, fenced, after checking that the file still holds every page.
func (g *guarded) Update(fn func(*bolt.Tx) error) error {
	return g.fence(func() error {
		return g.DB.Update(func(tx *bolt.Tx) error {
			if err := g.checkSize(tx); err != nil {
				return err
			}
			g.trim.beforeUpdate(tx)
			return fn(tx)
		})
	})
}

// Batch is bolt's Batch (concurrent calls share one transaction; fn may run more than once),
// done here because bbolt runs a batch and its commit in a goroutine of its own, where a
// damaged page's panic would kill the process. The first caller of a batch waits for others
// (up to MaxBatchDelay, or MaxBatchSize calls) and runs it in its own, fenced goroutine.
func (g *guarded) Batch(fn func(*bolt.Tx) error) error {
	if err := g.err(); err != nil {
		return err
	}
	c := batchCall{fn: fn, err: make(chan error, 1)}
	g.bmu.Lock()
	g.pending = append(g.pending, c)
	leader := len(g.pending) == 1
	if leader {
		g.full = make(chan struct{})
	}
	full := g.full
	if len(g.pending) == g.DB.MaxBatchSize {
		close(full)
	}
	g.bmu.Unlock()
	if leader {
		t := time.NewTimer(g.DB.MaxBatchDelay)
		select {
		case <-t.C:
		case <-full:
		}
		t.Stop()
		g.bmu.Lock()
		calls := g.pending
		g.pending = nil
		g.bmu.Unlock()
		g.runBatch(calls)
	}
	err := <-c.err
	if errors.Is(err, errTrySolo) {
		err = g.Update(fn)
	}
	return err
}

type batchCall struct {
	fn  func(*bolt.Tx) error
	err chan error
}

// errTrySolo tells a batch's caller that its function failed and is to run on its own.
var errTrySolo = errors.New("batch function failed; run it on its own")

// runBatch runs calls in one transaction. A call that fails leaves the batch (its caller runs
// it alone, to get its own error) and the others run again without it.
func (g *guarded) runBatch(calls []batchCall) {
	for len(calls) > 0 {
		failed := -1
		err := g.Update(func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := c.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 && !errors.Is(err, ErrDamaged) {
			calls[failed].err <- errTrySolo
			calls = append(calls[:failed], calls[failed+1:]...)
			continue
		}
		for _, c := range calls {
			c.err <- err
		}
		return
	}
}

// checkSize fails when the file is shorter than the pages tx uses: it was truncated under us,
// and the next read of a page past its end would kill the process.
func (g *guarded) checkSize(tx *bolt.Tx) error {
	fi, err := os.Stat(g.path)
	if err != nil {
		return g.fail(fmt.Errorf("the file is gone: %w", err))
	}
	if fi.Size() < tx.Size() {
		return g.fail(fmt.Errorf("the file is %d bytes but its pages reach %d bytes: it was truncated", fi.Size(), tx.Size()))
	}
	return nil
}

// Damaged is closed when the journal is found damaged; Err then says why.
func (db *DB) Damaged() <-chan struct{} { return db.bolt.damaged }

// Err is why the journal was found damaged (wrapping ErrDamaged), or nil.
func (db *DB) Err() error { return db.bolt.err() }

// WatchSize checks every interval, until done is closed, that the file still holds every page
// of the journal: a file truncated under the daemon is found before a read of a lost page
// faults, and Damaged is closed.
func (db *DB) WatchSize(done <-chan struct{}, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-db.bolt.damaged:
			return
		case <-t.C:
			if err := db.bolt.View(db.bolt.checkSize); err != nil && !errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
				return
			}
		}
	}
}
