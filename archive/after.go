package archive

import (
	"context"
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

// After archiving. A watch with after: move or delete disposes of a file once its archive copy
// and every forward are done and the retention has passed (the "after" lane). The file is moved
// or deleted only if it is still the version that was archived and its bytes, read once more,
// hash to the archived SHA-256, through a folder resolved without symlinks, so nothing newer
// and nothing outside the watch is ever touched. The record stays, with what was done.

// After modes of a watch.
const (
	AfterKeep   = "keep"
	AfterMove   = "move"
	AfterDelete = "delete"
)

// maybeDispose schedules the after lane of r when it is fully done; it runs inside journal
// updates that may complete a record.
func (p *Pipeline) maybeDispose(w Watch, r *journal.Record) {
	if w.After == "" || w.After == AfterKeep || r.State != journal.Posted || r.ForwardsPending() || r.Disposed != "" {
		return
	}
	if _, ok := r.Due(journal.LaneAfter); ok {
		return
	}
	r.Schedule(journal.LaneAfter, r.PostedAt.Add(w.Retention))
}

// disposeLanes are the lanes the disposal loop serves. Neither needs Global Relay: promoting
// a loose file only schedules its event (which waits for the archive) and its forwards
// (which do not), and disposing of an archived file needs the disk and the journal.
var disposeLanes = []string{journal.LaneLoose, journal.LaneAfter}

// disposeLoop promotes loose files and disposes of archived ones until ctx ends. It asks only
// the journal's gate, never Global Relay's: an archive outage does not stop it.
func (p *Pipeline) disposeLoop(ctx context.Context) {
	for ctx.Err() == nil {
		next := p.disposeRound()
		if ctx.Err() != nil {
			return
		}
		stage.Sleep(ctx, p.wakeDispose, next)
	}
}

// disposeRound does one round of the disposal loop and returns when to look again.
func (p *Pipeline) disposeRound() time.Time {
	now := p.now()
	n, jprobe, retryAt := p.jgate.Allowance(now, 1)
	if n == 0 {
		return retryAt
	}
	defer p.release(admission{n: 1, jprobe: jprobe})
	p.looseRound(now)
	p.afterRound(now)
	stage.Wake(p.wakePost) // loose files have events due now
	for _, d := range p.dests {
		d.Wake() // and forwards
	}
	return p.nextDue(now, disposeLanes)
}

// afterRound disposes of the files whose after lane is due.
func (p *Pipeline) afterRound(now time.Time) {
	items, _, err := p.j.DueIn(journal.LaneAfter, now, postScan, nil)
	if err != nil {
		p.jr.LogError(p.log, err, "read due disposals from the journal")
		return
	}
	for _, it := range items {
		p.dispose(it.ID)
	}
}

func (p *Pipeline) dispose(id uint64) {
	r, ok := p.jr.LoadDue(id, journal.LaneAfter)
	if !ok {
		return
	}
	l := p.log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path)})
	w, ok := p.watch(r.Watch)
	if !ok {
		p.parkUnconfigured(id, journal.LaneAfter, r.Watch)
		return
	}
	root, err := beneath.OpenRoot(w.Root)
	if err != nil {
		p.jr.RetryLater(id, journal.LaneAfter, err, p.now().Add(time.Hour))
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
	case w.After == AfterMove:
		dst := filepath.Join(w.DoneDir, filepath.FromSlash(string(r.Path)))
		err = root.MoveOut(string(r.Path), dst, same)
		if errors.Is(err, fs.ErrExist) {
			dst = fmt.Sprintf("%s.%d", dst, r.ID)
			err = root.MoveOut(string(r.Path), dst, same)
		}
		done = "moved to " + dst
	case w.After == AfterDelete:
		err = root.Remove(string(r.Path), same)
		done = "deleted"
	default:
		done = "kept"
	}
	done, ok = p.disposal(r, l, w, err, done)
	if !ok {
		return
	}
	now := p.now()
	err = p.jr.Update(id, func(r *journal.Record) ([]journal.Entry, error) {
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

// disposal turns the outcome of a disposal into what the record says was done; false means
// it is retried later. A file that is not the archived version is kept and observed again,
// so that its bytes are archived as a version of their own: never deleted.
func (p *Pipeline) disposal(r *journal.Record, l *logrus.Entry, w Watch, err error, done string) (string, bool) {
	switch {
	case err == nil:
		return done, true
	case errors.Is(err, fs.ErrNotExist):
		return "already gone from the watch folder", true
	case errors.Is(err, ondisk.ErrChanged):
		p.o.Recheck(r.Watch, string(r.Path))
		return "kept: the file changed since it was archived (its new version is handled on its own)", true
	case errors.Is(err, ondisk.ErrNotArchived):
		// Same metadata, other bytes: only a new record gets them archived.
		if derr := p.jr.Result(p.j.Disown(r.ID)); derr != nil {
			l.WithError(derr).Warn("could not record that the file is a new version; will try again in an hour")
			p.jr.RetryLater(r.ID, journal.LaneAfter, derr, p.now().Add(time.Hour))
			return "", false
		}
		p.o.Recheck(r.Watch, string(r.Path))
		l.WithError(err).Warn("archived file's bytes changed on disk without a trace in its metadata; kept, and archived again as a new version")
		return fmt.Sprintf("kept: %v; it is archived again as a new version", err), true
	default:
		l.WithError(err).Warn("could not " + w.After + " the archived file; will try again in an hour")
		p.jr.RetryLater(r.ID, journal.LaneAfter, err, p.now().Add(time.Hour))
		return "", false
	}
}
