package watcher

import (
	"container/heap"
	"context"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/watcher/beneath"
)

// Settle detection. Every pending path has one entry in Watcher.pending and,
// unless it is being reported right now, one place in a min-heap ordered by
// due time. A single goroutine (settleLoop) sleeps until the earliest due
// time, so a burst of 50,000 files costs 50,000 small structs and no timers
// or goroutines of their own, and a quiet file is reported within
// milliseconds of Settle.

type key struct {
	r   *root
	rel string
}

// stat is what settle detection compares: a change in any of kind, size,
// mtime, change time, birth time, inode or device restarts the quiet period.
// The change time is what catches a rewrite that keeps size and mtime.
type stat struct {
	kind  string
	size  int64
	mtime time.Time // any a file system holds: before 1678 too, which ns since 1970 cannot
	ctime int64     // ns since the epoch; 0 when unknown
	birth int64     // ns since the epoch; 0 when unknown
	ino   uint64
	dev   uint64
	nlink uint64
}

func statOf(fi fs.FileInfo) stat {
	s := stat{kind: beneath.Kind(fi), size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*unix.Stat_t); ok {
		s.ino, s.dev, s.nlink = st.Ino, st.Dev, st.Nlink
		s.ctime = st.Ctim.Nano()
	}
	if b := beneath.BirthTime(fi); !b.IsZero() {
		s.birth = b.UnixNano()
	}
	return s
}

func (s stat) same(o stat) bool {
	return s.kind == o.kind && s.size == o.size && s.mtime.Equal(o.mtime) && s.ctime == o.ctime && s.birth == o.birth &&
		s.ino == o.ino && s.dev == o.dev
}

func (s stat) file(r *root, rel string) File {
	f := File{
		Watch:   r.Name,
		RelPath: rel,
		Kind:    s.kind,
		Size:    s.size,
		ModTime: s.mtime,
		Inode:   s.ino,
		Dev:     s.dev,
		Nlink:   s.nlink,
	}
	if s.ctime != 0 {
		f.ChangeTime = time.Unix(0, s.ctime)
	}
	if s.birth != 0 {
		f.Birth = time.Unix(0, s.birth)
	}
	return f
}

type entry struct {
	key
	st       stat
	since    time.Time // last observed change, or first sighting
	due      time.Time
	idx      int  // position in the heap; -1 when not queued
	inFlight bool // popped by settleLoop, being checked or reported
	recheck  bool // report even if Known (Recheck was called)
	id       identification
}

type dueQueue []*entry

func (q dueQueue) Len() int { return len(q) }

// Less orders by due time, and entries due at the same time by path, so that a folder
// scanned in name order (scanDir) settles, and is numbered by the journal, in name order.
func (q dueQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].rel < q[j].rel
}
func (q dueQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].idx = i
	q[j].idx = j
}
func (q *dueQueue) Push(x any) {
	e := x.(*entry)
	e.idx = len(*q)
	*q = append(*q, e)
}
func (q *dueQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	e.idx = -1
	return e
}

// observe records one sighting of a non-directory entry. force (Recheck)
// restarts the quiet period even if nothing changed and bypasses Known.
func (w *Watcher) observe(r *root, rel string, fi fs.FileInfo, force bool) {
	w.observeStat(r, rel, statOf(fi), force)
}

// unreadable observes an entry that was listed but cannot be stat'ed: it is
// reported (with the error of its re-stat) unless the journal knows it as
// unreadable already, so it becomes a held record once, not a warning loop.
func (w *Watcher) unreadable(r *root, rel string) {
	w.observeStat(r, rel, stat{kind: KindUnreadable}, false)
}

func (w *Watcher) observeStat(r *root, rel string, st stat, force bool) {
	if st.kind == "directory" {
		return
	}
	k := key{r, rel}
	checkedKnown := force
	for {
		w.mu.Lock()
		if e := w.pending[k]; e != nil {
			if force || !e.st.same(st) {
				now := w.now()
				e.st, e.since = st, now
				e.recheck = e.recheck || force
				w.schedule(e, now)
			}
			w.mu.Unlock()
			return
		}
		if checkedKnown {
			now := w.now()
			e := &entry{key: k, st: st, since: now, idx: -1, recheck: force}
			w.pending[k] = e
			w.schedule(e, now)
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		// Outside the lock: Known reads the journal.
		if w.known(st.file(r, rel)) {
			return
		}
		checkedKnown = true
	}
}

// schedule (re)queues e: a regular file becomes due Settle after its last
// change, anything else is reported right away. Called with w.mu held.
func (w *Watcher) schedule(e *entry, now time.Time) {
	e.due = e.since.Add(e.r.Settle)
	switch {
	case e.st.kind != "file":
		e.due = now
	case w.identifies(e, e.st):
		e.due = identifyDue(e) // first: identified halfway through (identify.go)
	}
	e.id.awaited = false
	w.requeue(e)
}

func (w *Watcher) requeue(e *entry) {
	e.inFlight = false
	if e.idx >= 0 {
		heap.Fix(&w.queue, e.idx)
	} else {
		heap.Push(&w.queue, e)
	}
	if e.idx == 0 {
		poke(w.settleWake)
	}
}

// forget drops a pending path (it vanished).
func (w *Watcher) forget(r *root, rel string) {
	k := key{r, rel}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drop(k)
}

// drop removes a pending entry; called with w.mu held.
func (w *Watcher) drop(k key) {
	e := w.pending[k]
	if e == nil {
		return
	}
	if e.idx >= 0 {
		heap.Remove(&w.queue, e.idx)
	}
	e.inFlight = false
	delete(w.pending, k)
}

// settleLoop sleeps until the earliest due entry and checks what is due.
func (w *Watcher) settleLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		wait := time.Duration(-1)
		if len(w.queue) > 0 {
			wait = max(w.queue[0].due.Sub(w.now()), 0)
		}
		w.mu.Unlock()
		if wait == 0 {
			if ctx.Err() != nil {
				return
			}
			w.settleDue(ctx)
			continue
		}
		var fire <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-w.settleWake:
		case <-fire:
		}
	}
}

type flight struct {
	e   *entry
	rel string
	r   *root
	fi  fs.FileInfo
	err error
}

// settleDue takes up to maxBatch due entries, looks at each again, and
// reports those that stayed quiet for Settle.
func (w *Watcher) settleDue(ctx context.Context) {
	batch := w.takeDue()
	w.lstatBatch(batch)
	ready, files := w.decide(batch)
	if len(ready) == 0 {
		return
	}
	// Known is asked again: the journal may have recorded this version
	// since the first sighting (another scan, a restart).
	known := make([]bool, len(ready))
	report := files[:0:0]
	for i, e := range ready {
		if !e.recheck && w.known(files[i]) {
			known[i] = true
			continue
		}
		report = append(report, files[i])
	}
	var err error
	if len(report) > 0 {
		if err = ctx.Err(); err == nil {
			err = w.settled(ctx, report)
		}
	}
	w.reported(ready, known, len(report), err, ctx.Err() != nil)
}

// takeDue pops up to maxBatch entries that are due now.
func (w *Watcher) takeDue() []flight {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	var batch []flight
	for len(w.queue) > 0 && !w.queue[0].due.After(now) && len(batch) < maxBatch {
		e := heap.Pop(&w.queue).(*entry)
		e.inFlight = true
		batch = append(batch, flight{e: e, rel: e.rel, r: e.r})
	}
	return batch
}

// decide looks at what the re-stat of each entry of batch found, under the lock: an entry
// that changed or is not quiet long enough is queued again (and identified if it is halfway
// there), a quiet one is ready to be reported as files[i]. An entry that was re-observed
// meanwhile (inFlight cleared, or replaced in the map) is no longer ours.
func (w *Watcher) decide(batch []flight) (ready []*entry, files []File) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	for _, f := range batch {
		e := f.e
		if !e.inFlight || w.pending[e.key] != e {
			continue
		}
		if f.err != nil && !gone(f.err) {
			// It cannot be examined: reported as such, held with the reason.
			e.st = stat{kind: KindUnreadable}
			uf := e.st.file(e.r, e.rel)
			uf.Problem = f.err.Error()
			ready = append(ready, e)
			files = append(files, uf)
			continue
		}
		if f.err != nil || f.fi.IsDir() {
			w.drop(e.key)
			continue
		}
		st := statOf(f.fi)
		switch {
		case !st.same(e.st):
			e.st, e.since = st, now
			w.schedule(e, now)
		case st.kind == "file" && now.Sub(e.since) < e.r.Settle:
			w.startIdentify(e, st)
			e.due = e.since.Add(e.r.Settle)
			w.requeue(e)
		case e.id.running && now.Sub(e.since) < e.r.Settle+maxIdentifyWait:
			// Quiet, and being identified: reported once that ends, or once the wait is over.
			e.id.awaited = true
			e.due = e.since.Add(e.r.Settle + maxIdentifyWait)
			w.requeue(e)
		default:
			e.st = st
			ready = append(ready, e)
			files = append(files, e.id.apply(st, st.file(e.r, e.rel)))
		}
	}
	return ready, files
}

// reported settles the entries of a batch offered to Settled: dropped if accepted (or
// known), offered again after a backoff if not; w.mu taken.
func (w *Watcher) reported(ready []*entry, known []bool, offered int, err error, stopping bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.failStreak = 0
	} else {
		w.failStreak++
	}
	retryAt := w.now().Add(w.backoff())
	for i, e := range ready {
		if !e.inFlight || w.pending[e.key] != e {
			continue // changed while being reported: already queued again
		}
		if err == nil || known[i] {
			w.drop(e.key)
			continue
		}
		e.due = retryAt
		w.requeue(e)
	}
	if err != nil && !stopping {
		w.log.WithError(err).WithField("files", offered).
			Warnf("journal did not accept settled files; offering them again in %v", w.backoff())
	}
}

// backoff is the delay before re-offering a rejected batch; w.mu held.
func (w *Watcher) backoff() time.Duration {
	if w.failStreak == 0 {
		return 0
	}
	d := w.retryMin
	for i := 1; i < w.failStreak && d < w.retryMax; i++ {
		d *= 2
	}
	return min(d, w.retryMax)
}
