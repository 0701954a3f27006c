// Package disposal is the after lane: a watch with after: move or delete disposes of a file
// once its archive copy and every forward are done and the retention has passed. The file is
// moved or deleted only if it is still the version that was archived and its bytes, read once
// more, hash to the archived SHA-256, through a folder resolved without symlinks, so nothing
// newer and nothing outside the watch is ever touched. The record stays, with what was done.
// It needs the disk and the journal only, never Global Relay.
package disposal

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// After modes of a watch.
const (
	Keep   = "keep"
	Move   = "move"
	Delete = "delete"
)

// Watch is what disposal needs to know of a watch.
type Watch struct {
	Name    string
	Root    string
	After   string // Keep, Move or Delete
	DoneDir string // where Move moves to
}

// Deps are what the lane needs from the pipeline around it.
type Deps struct {
	Journal *stage.Journal
	// Watch returns a configured watch; false if it is not configured (the work is parked).
	Watch   func(name string) (Watch, bool)
	Park    func(id uint64, lane, watch string)
	Recheck func(watch, rel string) // asks the watcher to observe a path again
}

// Lane is the after lane.
type Lane struct {
	j    *stage.Journal
	deps Deps
}

// New returns the after lane.
func New(deps Deps) *Lane { return &Lane{j: deps.Journal, deps: deps} }

// Round disposes of the files whose after lane is due at now.
func (d *Lane) Round(now time.Time) {
	items, _, err := d.j.DB.DueIn(journal.LaneAfter, now, stage.DueScan, nil)
	if err != nil {
		d.j.LogError(d.j.Log, err, "read due disposals from the journal")
		return
	}
	for _, it := range items {
		d.Dispose(it.ID)
	}
}

// Dispose disposes of the file of record id if its after lane is due: moved or deleted as
// its watch says, once proven to be the archived version, byte for byte.
func (d *Lane) Dispose(id uint64) {
	r, ok := d.j.LoadDue(id, journal.LaneAfter)
	if !ok {
		return
	}
	l := d.j.Log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path)})
	w, ok := d.deps.Watch(r.Watch)
	if !ok {
		d.deps.Park(id, journal.LaneAfter, r.Watch)
		return
	}
	root, err := beneath.OpenRoot(w.Root)
	if err != nil {
		d.j.RetryLater(id, journal.LaneAfter, err, d.j.Now().Add(time.Hour))
		return
	}
	defer root.Close()
	// The entry removed or moved is the one proven: its identity (change time included, which
	// any write moves) must be the one whose bytes were just hashed.
	same := func(fi fs.FileInfo) error { return ondisk.ChangedFrom(ondisk.VersionOf(fi), r) }
	var done string
	err = ondisk.ProveArchived(root, r)
	switch {
	case err != nil:
	case w.After == Move:
		dst := filepath.Join(w.DoneDir, filepath.FromSlash(string(r.Path)))
		err = root.MoveOut(string(r.Path), dst, same)
		if errors.Is(err, fs.ErrExist) {
			dst = fmt.Sprintf("%s.%d", dst, r.ID)
			err = root.MoveOut(string(r.Path), dst, same)
		}
		done = "moved to " + dst
	case w.After == Delete:
		err = root.Remove(string(r.Path), same)
		done = "deleted"
	default:
		done = "kept"
	}
	done, ok = d.outcome(r, l, w, err, done)
	if !ok {
		return
	}
	now := d.j.Now()
	err = d.j.Update(id, func(r *journal.Record) ([]journal.Entry, error) {
		r.Done(journal.LaneAfter)
		r.Disposed = done
		return []journal.Entry{{Time: now, Step: w.After, Lane: journal.LaneAfter, Result: "ok", Detail: done}}, nil
	})
	if err != nil {
		// The disposal stays due: done again once the journal works (a file already gone is
		// recorded as such then).
		l.WithError(err).WithField("after", done).Error("archived file disposed of, but the journal could not record it")
		return
	}
	l.WithField("after", done).Info("archived file disposed of")
}

// outcome turns the outcome of a disposal into what the record says was done; false means
// it is retried later. A file that is not the archived version is kept and observed again,
// so that its bytes are archived as a version of their own: never deleted.
func (d *Lane) outcome(r *journal.Record, l *logrus.Entry, w Watch, err error, done string) (string, bool) {
	switch {
	case err == nil:
		return done, true
	case errors.Is(err, fs.ErrNotExist):
		return "already gone from the watch folder", true
	case errors.Is(err, ondisk.ErrChanged):
		d.deps.Recheck(r.Watch, string(r.Path))
		return "kept: the file changed since it was archived (its new version is handled on its own)", true
	case errors.Is(err, ondisk.ErrNotArchived):
		// Same metadata, other bytes: only a new record gets them archived.
		if derr := d.j.Result(d.j.DB.Disown(r.ID)); derr != nil {
			l.WithError(derr).Warn("could not record that the file is a new version; will try again in an hour")
			d.j.RetryLater(r.ID, journal.LaneAfter, derr, d.j.Now().Add(time.Hour))
			return "", false
		}
		d.deps.Recheck(r.Watch, string(r.Path))
		l.WithError(err).Warn("archived file's bytes changed on disk without a trace in its metadata; kept, and archived again as a new version")
		return fmt.Sprintf("kept: %v; it is archived again as a new version", err), true
	default:
		l.WithError(err).Warn("could not " + w.After + " the archived file; will try again in an hour")
		d.j.RetryLater(r.ID, journal.LaneAfter, err, d.j.Now().Add(time.Hour))
		return "", false
	}
}
