package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// After archiving. A watch with after: move or delete disposes of a file once its archive copy
// and every forward are done and the retention has passed (the "after" lane). The file is moved
// or deleted only if it is still the version that was archived, through a folder resolved
// without symlinks, so nothing newer and nothing outside the watch is ever touched. The record
// stays, with what was done.

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

// afterRound disposes of the files whose after lane is due.
func (p *Pipeline) afterRound(now time.Time) {
	items, _, err := p.j.DueIn(journal.LaneAfter, now, postScan, nil)
	if err != nil {
		p.logError(p.log, err, "read due disposals from the journal")
		return
	}
	for _, it := range items {
		p.dispose(it.ID)
	}
}

func (p *Pipeline) dispose(id uint64) {
	r, ok := p.loadDue(id, journal.LaneAfter)
	if !ok {
		return
	}
	l := p.log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path)})
	w, ok := p.watch(r.Watch)
	if !ok {
		p.retryLater(id, journal.LaneAfter, fmt.Errorf("watch %q is not configured", r.Watch), p.now().Add(time.Hour))
		return
	}
	root, err := beneath.OpenRoot(w.Root)
	if err != nil {
		p.retryLater(id, journal.LaneAfter, err, p.now().Add(time.Hour))
		return
	}
	defer root.Close()
	same := func(fi fs.FileInfo) error {
		ino, _ := statOf(fi)
		if fi.Size() != r.Size || !fi.ModTime().Equal(r.ModTime) || ino != r.Inode {
			return errChanged
		}
		return nil
	}
	var done string
	switch w.After {
	case AfterMove:
		dst := filepath.Join(w.DoneDir, filepath.FromSlash(string(r.Path)))
		err = root.MoveOut(string(r.Path), dst, same)
		if errors.Is(err, fs.ErrExist) {
			dst = fmt.Sprintf("%s.%d", dst, r.ID)
			err = root.MoveOut(string(r.Path), dst, same)
		}
		done = "moved to " + dst
	case AfterDelete:
		err = root.Remove(string(r.Path), same)
		done = "deleted"
	default:
		done = "kept"
	}
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		done = "already gone from the watch folder"
	case errors.Is(err, errChanged):
		done = "kept: the file changed since it was archived (its new version is handled on its own)"
	default:
		l.WithError(err).Warn("could not " + w.After + " the archived file; will try again in an hour")
		p.retryLater(id, journal.LaneAfter, err, p.now().Add(time.Hour))
		return
	}
	now := p.now()
	if p.update(id, func(r *journal.Record) ([]journal.Entry, error) {
		r.Done(journal.LaneAfter)
		r.Disposed = done
		return []journal.Entry{{Time: now, Step: w.After, Lane: journal.LaneAfter, Result: "ok", Detail: done}}, nil
	}) == nil {
		l.WithField("after", done).Info("archived file disposed of")
	}
}
