package watcher

import (
	"context"
	"time"
)

// Identification while settling. A regular file that has been quiet for half its Settle is
// handed to Options.Identify (SHA-256 and MIME type, by the archive), on a few workers, so
// that it can be sent the moment it has been quiet for all of Settle instead of being read
// then. The result is kept for the exact version (stat) that was identified: a change of
// any of kind, size, mtime, change time, birth time, inode or device, a rewrite that keeps
// size and mtime included (the change time), makes it worthless, and the file is reported
// without it (the upload lane identifies it then). A file that is quiet while its
// identification runs is reported when that ends (at most maxIdentifyWait later).

// identification is an entry's identification state; guarded by Watcher.mu.
type identification struct {
	st        stat // the version sum and mime describe (kind "": none)
	sum, mime string
	running   bool // a worker has the entry (some version of it)
	awaited   bool // the entry is quiet: reported once the worker is done
}

// apply gives f, which describes version st, the identification if it is of st.
func (id identification) apply(st stat, f File) File {
	if id.sum != "" && id.st.same(st) {
		f.SHA256, f.MIME = id.sum, id.mime
	}
	return f
}

// identifyJob is one identification handed to a worker.
type identifyJob struct {
	e  *entry
	st stat
	f  File
}

// maxIdentifyWait is how long a quiet file waits for its identification to end before it is
// reported without one (a read that hangs must not keep a file from the journal).
const maxIdentifyWait = 2 * time.Minute

// identifyQueue bounds the identifications waiting for a worker; past it, files are
// reported without one.
const identifyQueue = 4 * maxBatch

// identifyMinSize is the smallest file identified while it settles (Watcher.identifyMin):
// the upload opens the file anyway, and for a small one the read and hash it saves there
// cost less than the extra open, fstat and close of identifying it here (about 8% of the
// daemon's CPU in a burst of 4 KiB files).
const identifyMinSize = 64 << 10

// IdentifyMinAge is how long after its last change a file may be identified: a write in the
// same tick of the kernel's coarse clock as the last one could keep the change time, and the
// change time is what shows that the bytes read are still the file's (Options.Identify
// refuses a fresher file; the watcher does not ask before).
const IdentifyMinAge = 20 * time.Millisecond

// identifyDue is when e, just (re)observed, is to be identified: once it has been quiet for
// half its Settle, and at least IdentifyMinAge after its change time. A file whose mtime is
// already half a Settle old when it is observed (moved in whole) counts as quiet since then
// and is identified at once, so that reading it overlaps all of its settle (a 1 GiB file takes
// longer to hash than the default settle); a file being written has a fresh mtime and waits,
// so a slow copy is not read again and again. The mtime only moves the read earlier: when the
// file is reported is still decided by observation alone.
func identifyDue(e *entry) time.Time {
	due := e.since.Add(e.r.Settle / 2)
	if e.st.mtime.Before(e.since.Add(-e.r.Settle / 2)) {
		due = e.since
	}
	if e.st.ctime != 0 {
		if c := time.Unix(0, e.st.ctime).Add(IdentifyMinAge); c.After(due) {
			due = c
		}
	}
	return due
}

// identifies reports whether version st of e is still to be identified; w.mu held.
func (w *Watcher) identifies(e *entry, st stat) bool {
	return w.identify != nil && st.kind == "file" && st.size >= w.identifyMin && !e.id.running &&
		(e.id.sum == "" || !e.id.st.same(st))
}

// startIdentify queues version st of e for identification, unless it is done, running, or
// the queue is full; w.mu held.
func (w *Watcher) startIdentify(e *entry, st stat) {
	if !w.identifies(e, st) {
		return
	}
	select {
	case w.identifyJobs <- identifyJob{e: e, st: st, f: st.file(e.r, e.rel)}:
		e.id.running = true
	default:
	}
}

// identifyLoop is one identification worker.
func (w *Watcher) identifyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-w.identifyJobs:
			sum, mime, err := w.identify(ctx, j.f)
			w.identified(j, sum, mime, err)
		}
	}
}

// identified records the end of job j, and reports its entry if it was waiting for it.
func (w *Watcher) identified(j identifyJob, sum, mime string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := j.e
	if w.pending[e.key] != e {
		return // gone, or replaced
	}
	e.id.running = false
	if err == nil && j.st.same(e.st) {
		e.id.st, e.id.sum, e.id.mime = j.st, sum, mime
	} else if err != nil {
		w.log.WithError(err).WithField("path", e.rel).Debug("not identified while settling")
	}
	if e.id.awaited {
		e.id.awaited = false
		e.due = w.now()
		w.requeue(e)
	}
}
