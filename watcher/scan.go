package watcher

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/watcher/beneath"
)

// scanLoop runs the start-up scan, requested scans (Rescan, overflow),
// periodic scans, and polls for missing roots. Scans run one at a time in
// this goroutine, so events keep flowing while a large tree is scanned.
func (w *Watcher) scanLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := w.now()
		due, dirsDue, next := w.dueScans(now)
		for _, r := range due {
			if ctx.Err() != nil {
				return
			}
			w.scanRoot(ctx, r)
		}
		for _, r := range dirsDue {
			if ctx.Err() != nil {
				return
			}
			w.scanUnwatched(ctx, r)
		}
		if len(due) > 0 || len(dirsDue) > 0 {
			continue
		}
		var fire <-chan time.Time
		if !next.IsZero() {
			timer.Reset(next.Sub(now))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-w.scanWake:
		case <-fire:
		}
	}
}

// dueScans returns the roots due for a full scan, those whose unwatched
// directories are due for their own scan, and the earliest time anything else
// becomes due (zero: nothing scheduled).
func (w *Watcher) dueScans(now time.Time) (full, dirs []*root, next time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.roots {
		at, ok := w.nextScan(r, now)
		isFull := ok
		if !ok {
			// No periodic full scan covers the directories inotify refused.
			if len(r.unwatched) == 0 {
				continue
			}
			at = r.nextDirScan
		}
		switch {
		case at.After(now):
			if next.IsZero() || at.Before(next) {
				next = at
			}
		case isFull:
			r.scanRequested = false
			full = append(full, r)
		default:
			dirs = append(dirs, r)
		}
	}
	return full, dirs, next
}

// nextScan says when r should be scanned next, if ever; w.mu held.
func (w *Watcher) nextScan(r *root, now time.Time) (time.Time, bool) {
	switch {
	case r.missing:
		return r.nextPoll, true
	case r.scanRequested:
		return now, true
	}
	if iv := w.scanInterval(r); iv > 0 {
		return r.lastScanEnd.Add(iv), true
	}
	return time.Time{}, false
}

// scanInterval is the periodic scan interval of r; w.mu held.
func (w *Watcher) scanInterval(r *root) time.Duration {
	if r.ScanInterval > 0 {
		return r.ScanInterval
	}
	if r.polling {
		return w.fallbackInterval
	}
	return 0
}

// scanRoot does a full scan of r, or, while r is missing, checks whether it
// came back.
func (w *Watcher) scanRoot(ctx context.Context, r *root) {
	log := w.log.WithField("watch", r.Name)
	start := w.now()
	wasMissing, ok := w.rootPresent(r)
	if !ok {
		return
	}
	if wasMissing {
		log.Info("watch root exists again; watching and scanning it")
	}

	seen := make(map[string]struct{})
	if err := w.walk(ctx, r, "", seen); err != nil {
		if ctx.Err() == nil {
			w.lose(r, err)
		}
		return
	}
	w.sweep(r, seen)

	end := w.now()
	w.mu.Lock()
	r.scans++
	first := r.scans == 1
	r.lastScan = start
	r.lastScanDur = end.Sub(start)
	r.lastScanEnd = end
	w.mu.Unlock()
	// The first scan of a root is worth an operator's attention (how long start-up took to
	// see the backlog); the periodic ones are not.
	l := log.WithField("duration", end.Sub(start))
	if first {
		l.Info("scan done")
	} else {
		l.Debug("scan done")
	}
}

// rootPresent checks that the root of r is there to be scanned (false: it is missing, polled
// again later, or lost now) and says whether it was missing until now. A root replaced
// behind our back loses the watches of the old tree.
func (w *Watcher) rootPresent(r *root) (wasMissing, ok bool) {
	w.mu.Lock()
	wasMissing = r.missing
	w.mu.Unlock()
	if wasMissing {
		if fi, err := os.Stat(r.Path); err != nil || !fi.IsDir() {
			w.mu.Lock()
			r.nextPoll = w.now().Add(w.pollInterval)
			w.mu.Unlock()
			return true, false
		}
	}

	fi, err := beneath.Lstat(r.Path, "")
	if err != nil {
		w.lose(r, err)
		return wasMissing, false
	}
	ino := inode(fi)

	w.mu.Lock()
	defer w.mu.Unlock()
	r.missing = false
	if r.rootIno != ino && len(r.watched) > 0 {
		// The root was replaced behind our back: the old watches belong to
		// a tree that is no longer (or no longer only) under the root.
		w.unwatchLocked(r, "", true)
	}
	r.rootIno = ino
	return wasMissing, true
}

// walk watches and scans directory rel of r and everything below it, adding
// each directory's watch before listing it so that nothing created in
// between is missed. seen, if not nil, collects the directories visited. The
// error is non-nil only if rel itself could not be listed.
func (w *Watcher) walk(ctx context.Context, r *root, rel string, seen map[string]struct{}) error {
	// Held only for the walk; see root.lstat for why not longer.
	top, err := beneath.OpenRoot(r.Path)
	if err != nil {
		return err
	}
	defer top.Close()
	queue := []string{rel}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		subdirs, err := w.scanDir(r, top, dir)
		if err != nil {
			if dir == rel {
				return err
			}
			continue
		}
		if seen != nil {
			seen[dir] = struct{}{}
		}
		queue = append(queue, subdirs...)
	}
	return nil
}

// scanDir watches and lists one directory, observes its files in name order, and returns
// its subdirectories. In name order, the journal's ids follow the names, and so do the
// uploads of a folder moved in whole; its keys then land next to each other in the journal's
// indexes, which write a page per file when they come in no order (the directory's own order).
func (w *Watcher) scanDir(r *root, top *beneath.Root, dir string) ([]string, error) {
	d, err := top.OpenDir(dir)
	if err != nil {
		w.dirError(r, dir, err)
		return nil, err
	}
	defer d.Close()
	fi, err := d.Stat()
	if err != nil {
		return nil, err
	}
	w.watchDir(r, dir, inode(fi))
	names, err := d.Names()
	if err != nil {
		w.dirError(r, dir, err)
		return nil, err
	}
	slices.Sort(names)
	w.mu.Lock()
	if r.denied[dir] {
		delete(r.denied, dir)
		w.log.WithFields(logrus.Fields{"watch": r.Name, "path": dir}).Info("directory is readable again")
	}
	w.mu.Unlock()
	var subdirs []string
	for _, name := range names {
		if r.ignored(name) {
			continue
		}
		rel := name
		if dir != "" {
			rel = dir + "/" + name
		}
		fi, err := w.lstatIn(d, rel, name)
		if err != nil {
			if !gone(err) {
				w.unreadable(r, rel) // listed, but it cannot be examined
			}
			continue // or vanished since the listing
		}
		if fi.IsDir() {
			subdirs = append(subdirs, rel)
			continue
		}
		w.observe(r, rel, fi, false)
	}
	return subdirs, nil
}

// scanUnwatched scans the directories of r that inotify refused to watch
// (each with what is below it), as the periodic scan would.
func (w *Watcher) scanUnwatched(ctx context.Context, r *root) {
	w.mu.Lock()
	var dirs []string
	for d := range r.unwatched {
		dirs = append(dirs, d)
	}
	w.mu.Unlock()
	for _, d := range dirs {
		if ctx.Err() != nil {
			return
		}
		if coveredBy(d, dirs) {
			continue // the walk of its ancestor lists it
		}
		if err := w.walk(ctx, r, d, nil); err != nil && gone(err) {
			w.mu.Lock()
			delete(r.unwatched, d)
			w.mu.Unlock()
		}
	}
	w.mu.Lock()
	r.nextDirScan = w.now().Add(w.fallbackInterval)
	w.mu.Unlock()
}

// coveredBy reports whether one of dirs is a proper ancestor of d.
func coveredBy(d string, dirs []string) bool {
	for _, a := range dirs {
		if a != d && (a == "" || within(d, a)) {
			return true
		}
	}
	return false
}

// lstatIn describes the entry name of d (whose path is rel), behind the test
// hook statFault.
func (w *Watcher) lstatIn(d *beneath.Dir, rel, name string) (fs.FileInfo, error) {
	if w.statFault != nil {
		if err := w.statFault(rel); err != nil {
			return nil, &fs.PathError{Op: "lstat", Path: rel, Err: err}
		}
	}
	return d.Lstat(name)
}

// dirError logs a directory that cannot be listed, once until it recovers.
func (w *Watcher) dirError(r *root, dir string, err error) {
	if dir == "" || gone(err) {
		return // the root is handled by the caller; a vanished dir is no news
	}
	w.mu.Lock()
	logged := r.denied[dir]
	r.denied[dir] = true
	w.mu.Unlock()
	if logged {
		return
	}
	w.log.WithFields(logrus.Fields{"watch": r.Name, "path": dir}).WithError(err).
		Error("cannot read directory; files below it are not archived until it becomes readable")
}

// watchDir adds an inotify watch for dir unless it already has one for the
// same inode.
func (w *Watcher) watchDir(r *root, dir string, ino uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := r.watched[dir]; ok && old == ino {
		return
	}
	var err error
	switch {
	case w.addWatch != nil:
		err = w.addWatch(r.abs(dir))
	case w.fw != nil:
		err = w.fw.Add(r.abs(dir))
	default:
		err = errNoInotify
	}
	switch {
	case err == nil:
		r.watched[dir] = ino
		delete(r.unwatched, dir)
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, fsnotify.ErrClosed):
		// Gone already, or shutting down.
	case errors.Is(err, unix.ENOSPC) || errors.Is(err, errNoInotify):
		if !r.polling {
			r.polling = true
			poke(w.scanWake) // pick up the periodic schedule
		}
		if !r.limitLogged {
			r.limitLogged = true
			msg := "inotify watch limit reached (fs.inotify.max_user_watches)"
			if errors.Is(err, errNoInotify) {
				msg = "inotify unavailable"
			}
			w.log.WithField("watch", r.Name).Warnf("%s; watch %s falls back to periodic scanning every %v",
				msg, r.Name, w.scanInterval(r))
		}
	default:
		w.refused(r, dir, err)
	}
}

// refused notes a directory inotify would not watch (permission, a path too
// long for it): unless full scans run anyway, it gets a periodic scan of its
// own, because no event will ever come from it. w.mu held.
func (w *Watcher) refused(r *root, dir string, err error) {
	if r.unwatched[dir] {
		return
	}
	if len(r.unwatched) == 0 {
		r.nextDirScan = w.now().Add(w.fallbackInterval)
	}
	r.unwatched[dir] = true
	poke(w.scanWake) // pick up the schedule
	every := w.scanInterval(r)
	if every == 0 {
		every = w.fallbackInterval
	}
	w.log.WithFields(logrus.Fields{"watch": r.Name, "path": dir}).WithError(err).
		Warnf("cannot watch directory; scanning it every %v instead", every)
}

func (w *Watcher) isWatched(r *root, dir string, ino uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	old, ok := r.watched[dir]
	return ok && old == ino
}

func (w *Watcher) isMissing(r *root) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return r.missing
}

// unwatchTree removes the watches of dir and every directory below it. It is
// called for every vanished or replaced entry, mostly files, so it returns
// at once unless dir itself is a watched directory (a subdirectory is only
// ever watched after its parent; a leftover is dropped by the next sweep).
func (w *Watcher) unwatchTree(r *root, dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := r.watched[dir]; !ok {
		return
	}
	w.unwatchLocked(r, dir, true)
}

// unwatchLocked removes the watch of dir (and, with tree, of everything
// below it); w.mu held. Errors are ignored: inotify drops the watch of a
// deleted directory by itself.
func (w *Watcher) unwatchLocked(r *root, dir string, tree bool) {
	for d := range r.watched {
		if d == dir || (tree && (dir == "" || within(d, dir))) {
			if w.fw != nil {
				_ = w.fw.Remove(r.abs(d))
			}
			delete(r.watched, d)
		}
	}
	for d := range r.unwatched {
		if d == dir || (tree && (dir == "" || within(d, dir))) {
			delete(r.unwatched, d)
		}
	}
}

// sweep drops watches of directories a full scan did not visit, after
// checking that they really are gone (the scan may have raced with a
// rename that the event loop handled).
func (w *Watcher) sweep(r *root, seen map[string]struct{}) {
	w.mu.Lock()
	var stale []string
	for d := range r.watched {
		if _, ok := seen[d]; !ok {
			stale = append(stale, d)
		}
	}
	var staleRefused []string
	for d := range r.unwatched {
		if _, ok := seen[d]; !ok {
			staleRefused = append(staleRefused, d)
		}
	}
	w.mu.Unlock()
	for _, d := range staleRefused {
		if fi, err := r.lstat(d); err == nil && fi.IsDir() {
			continue // created after the scan listed its parent
		}
		w.mu.Lock()
		delete(r.unwatched, d)
		w.mu.Unlock()
	}
	for _, d := range stale {
		fi, err := r.lstat(d)
		if err == nil && fi.IsDir() && w.isWatched(r, d, inode(fi)) {
			continue
		}
		w.mu.Lock()
		w.unwatchLocked(r, d, false)
		w.mu.Unlock()
	}
}

// checkRoot reacts to a Remove or Rename event on the root itself.
func (w *Watcher) checkRoot(r *root) {
	fi, err := os.Stat(r.Path)
	if err == nil && fi.IsDir() {
		w.mu.Lock()
		same := inode(fi) == r.rootIno
		w.mu.Unlock()
		if same {
			return
		}
		err = errors.New("replaced by another directory")
	} else if err == nil {
		err = errors.New("no longer a directory")
	}
	w.lose(r, err)
}

// lose marks r missing: its watches are dropped and it is polled until it
// exists again, then watched and scanned from scratch.
func (w *Watcher) lose(r *root, cause error) {
	w.mu.Lock()
	if r.missing {
		r.nextPoll = w.now().Add(w.pollInterval)
		w.mu.Unlock()
		return
	}
	r.missing = true
	r.rootIno = 0
	r.nextPoll = w.now() // it may be back already (replaced)
	w.unwatchLocked(r, "", true)
	w.mu.Unlock()
	w.log.WithField("watch", r.Name).WithError(cause).
		Warnf("watch root %s is gone; polling every %v until it exists again", r.Path, w.pollInterval)
	poke(w.scanWake)
}
