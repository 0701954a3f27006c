// Package upload is the upload lane: a dispatcher hands due "put" work to the workers, each
// worker opens the file beneath its watch root without following links, checks it is still
// the version that settled, hashes and sniffs it in one read, builds its key and PUTs it
// (ondisk.Body: the last bytes are released only once the file is shown unchanged since it
// was hashed, so a key never receives other bytes than its name says), and a committer commits the
// confirmed uploads in batches. The same bytes under the same key are never sent twice.
package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Deps are what the lane needs from the pipeline around it.
type Deps struct {
	Journal *stage.Journal
	Gate    *gate.Gate // Global Relay's
	// Put stores a file in the archive under key (globalrelay.Client.PutFile).
	Put         func(ctx context.Context, key, contentType string, size int64, open func() (io.ReadCloser, error)) error
	Workers     int   // PUTs in flight; twice as many workers run, so the next files are read meanwhile
	MaxFileSize int64 // larger files are held
	Backoff     failure.Backoff
	// Root is the root of a configured watch; false if it is not configured (the work is
	// parked with Park).
	Root    func(watch string) (string, bool)
	Park    func(id uint64, lane, watch string)
	Recheck func(watch, rel string) // asks the watcher to observe a path again
	Observe func(destination, operation string, start time.Time, err error, bytes int64)
	// Identified, if set, returns the SHA-256 and MIME type found while the file of record
	// id settled, if they are of version v; the file is then not read again before its PUT.
	Identified func(id uint64, v journal.Version) (sum, mime string, ok bool)
	// Uploaded runs inside the commit of a confirmed upload (or of bytes already stored by
	// another record): it schedules what follows.
	Uploaded func(r *journal.Record, now time.Time)
	// Posted runs inside the commit of the same bytes at the same path, done without a
	// request.
	Posted func(r *journal.Record)
	// Done runs after an upload job ended: what waits on uploads may look again.
	Done func()
	// Refuse, if set, says why the opened file f of r must not be uploaded as it is ("": it
	// may); the record is then held with that reason.
	Refuse func(r *journal.Record, f *os.File) string
}

// Lane is the upload lane, with its own state: what is in flight, how many workers are busy
// and the PUT slots.
type Lane struct {
	j    *stage.Journal
	deps Deps
	wake chan struct{}

	mu      sync.Mutex
	putting map[uint64]bool // ids whose put is in flight, until its commit is done
	busy    int             // workers holding a job (a job waiting only for its commit frees its worker)
	// putSlots bounds the PUTs in flight to Workers.
	putSlots chan struct{}
	// resume is the last item the dispatcher handed out, fullScan when it last read the due
	// index from the start (dispatch's goroutine only).
	resume   *journal.DueItem
	fullScan time.Time
	roots    roots // the watches' roots, open while uploads from them are in flight
}

// New returns the upload lane.
func New(deps Deps) *Lane {
	return &Lane{j: deps.Journal, deps: deps, wake: make(chan struct{}, 1), putting: map[uint64]bool{},
		putSlots: make(chan struct{}, deps.Workers)}
}

// Wake makes the dispatcher look for due work now.
func (u *Lane) Wake() { stage.Wake(u.wake) }

// PutsInFlight is how many PUTs are being sent now.
func (u *Lane) PutsInFlight() int { return len(u.putSlots) }

// Run uploads due files until ctx ends, its requests running on work (see Pipeline.Run),
// and returns once every worker and the committer are done.
func (u *Lane) Run(ctx, work context.Context) {
	var committer, workers sync.WaitGroup
	jobs := make(chan job)
	// Workers do not wait for their commit: they hand it to the committer and take the next
	// file, and the record stays in flight (never dispatched twice) until it is committed.
	commits := make(chan *pendingCommit, 512)
	committer.Add(1)
	go func() {
		defer committer.Done()
		u.commitLoop(commits)
	}()
	for range 2 * u.deps.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			u.worker(work, jobs, commits)
		}()
	}
	u.dispatch(ctx, jobs)
	close(jobs)
	workers.Wait()
	close(commits)
	committer.Wait()
}

// worker uploads the files of jobs until it is closed. A worker does not wait for its
// commit: it hands it to the committer and takes the next file.
func (u *Lane) worker(work context.Context, jobs <-chan job, commits chan<- *pendingCommit) {
	for j := range jobs {
		c := u.upload(gate.WithAdmitted(work, j.At), j.id)
		u.mu.Lock()
		u.busy--
		u.mu.Unlock()
		if c != nil {
			c.done = func() { u.jobDone(j) }
			c.admitted = j.At
			commits <- c
			u.Wake() // this worker is free for the next file
			continue
		}
		u.jobDone(j)
	}
}

// jobDone ends an upload job: its probes are over, it is no longer in flight, and whatever
// waits on it may look again.
func (u *Lane) jobDone(j job) {
	j.Release()
	u.mu.Lock()
	delete(u.putting, j.id)
	u.mu.Unlock()
	u.Wake()
	u.deps.Done()
}

// job is one upload handed to a worker, with the probes it carries.
type job struct {
	id uint64
	gate.Admission
}

// dispatch hands due put work to the workers until ctx ends.
func (u *Lane) dispatch(ctx context.Context, jobs chan<- job) {
	for {
		next := u.dispatchOnce(ctx, jobs)
		if ctx.Err() != nil {
			return
		}
		stage.Sleep(ctx, u.wake, next)
	}
}

// dispatchOnce sends what is due now and returns when to look again (zero: on wake-up only).
func (u *Lane) dispatchOnce(ctx context.Context, jobs chan<- job) time.Time {
	for ctx.Err() == nil {
		u.mu.Lock()
		free := 2*u.deps.Workers - u.busy
		u.mu.Unlock()
		if free <= 0 {
			return time.Time{}
		}
		now := u.j.Now()
		a, retryAt := gate.Admit(u.j.Gate, u.deps.Gate, now, free)
		if a.N == 0 {
			return retryAt
		}
		items, next, err := u.due(now, a.N)
		if err != nil || len(items) == 0 {
			a.Release()
			if err != nil {
				u.j.LogError(u.j.Log, err, "read due uploads from the journal")
				return now.Add(time.Second)
			}
			return next
		}
		for _, it := range items {
			u.mu.Lock()
			u.putting[it.ID] = true
			u.busy++
			u.mu.Unlock()
			select {
			case jobs <- job{id: it.ID, Admission: a}:
			case <-ctx.Done():
				u.mu.Lock()
				delete(u.putting, it.ID)
				u.busy--
				u.mu.Unlock()
				a.Release()
				return time.Time{}
			}
		}
	}
	return time.Time{}
}

// fullScanEvery bounds how long the dispatcher resumes its scan of the due index before it
// reads it from the start again.
const fullScanEvery = time.Second

// due reads up to n due uploads that are not in flight. It resumes after the last item it
// handed out: in a burst the uploads in flight and those waiting for their commit lie before
// it, and stepping over them again for every file cost a twentieth of the daemon's CPU. When
// the rest of the index has nothing due, and at least every fullScanEvery, it reads from the
// start, which finds what is due before that point (a record whose commit failed stays due
// at its old time), so nothing waits behind a long burst.
func (u *Lane) due(now time.Time, n int) ([]journal.DueItem, time.Time, error) {
	var items []journal.DueItem
	var next time.Time
	var err error
	if u.resume != nil && now.Sub(u.fullScan) < fullScanEvery {
		items, next, err = u.j.DB.DueAfter(journal.LanePut, *u.resume, now, n, u.inFlight)
	}
	if err == nil && len(items) == 0 {
		u.fullScan = now
		items, next, err = u.j.DB.DueIn(journal.LanePut, now, n, u.inFlight)
	}
	if len(items) > 0 {
		u.resume = &items[len(items)-1]
	}
	return items, next, err
}

func (u *Lane) inFlight(id uint64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.putting[id]
}

// upload archives the file of record id: verify, hash, key, PUT. The commit of "uploaded" is
// returned for the committer, which batches the commits of all workers into few
// transactions; nil means there is nothing (more) to commit.
func (u *Lane) upload(ctx context.Context, id uint64) *pendingCommit {
	r, root, l, ok := u.uploadable(id)
	if !ok {
		return nil
	}
	f, release, err := u.roots.open(root, string(r.Path))
	if err != nil {
		u.openFailed(r, l, err)
		return nil
	}
	defer func() {
		if err := release(); err != nil {
			l.WithError(err).Debug("close the watch's root")
		}
	}()
	defer f.Close()
	if u.deps.Refuse != nil {
		if reason := u.deps.Refuse(r, f); reason != "" {
			u.j.Hold(r, l, reason, fmt.Errorf("%s: %s", r.Path, reason))
			return nil
		}
	}
	sum, mime, data, ok := u.identify(f, r, l)
	if !ok {
		return nil
	}
	key := filekey.Build(r.Watch, sum, string(r.Path))
	l = l.WithField("key", key)
	// The same bytes under the same name are in the archive already: no second PUT.
	owner, ok, err := u.j.DB.LookupKeyOwner(key)
	if err != nil {
		u.j.RetryLater(r.ID, journal.LanePut, err, u.j.Now().Add(u.deps.Backoff.Delay(r.Attempts+1, 0)))
		return nil
	}
	if ok && owner != r.ID {
		u.duplicate(r, l, owner, sum, mime, key)
		return nil
	}
	start, ok := u.put(ctx, f, r, l, key, sum, mime, data)
	if !ok {
		return nil
	}
	return u.uploaded(r, l, key, sum, mime, start)
}

// uploadable loads record id for its upload: false if there is nothing to upload now (not
// due, not a new version, its watch gone from the configuration, too large).
func (u *Lane) uploadable(id uint64) (r *journal.Record, root string, l *logrus.Entry, ok bool) {
	r, ok = u.j.LoadDue(id, journal.LanePut)
	if !ok || r.State != journal.Discovered {
		return nil, "", nil, false
	}
	l = u.j.Log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path)})
	root, ok = u.deps.Root(r.Watch)
	if !ok {
		// The watch left the configuration; keep the work and look again later.
		u.deps.Park(id, journal.LanePut, r.Watch)
		return nil, "", nil, false
	}
	if r.Size > u.deps.MaxFileSize { // held at intake; checked again for records released later
		u.j.Hold(r, l, fmt.Sprintf("file is %d bytes, over the archive's limit of %d bytes; not sent", r.Size, u.deps.MaxFileSize), failure.Refuse("too large"))
		return nil, "", nil, false
	}
	return r, root, l, true
}

// identify hashes and sniffs the open file of r (unless the watcher did while it settled),
// checking before and after that it is still r's version; false if it is not (superseded)
// or could not be read (retried later). A small file (at most ondisk.SmallMax bytes) is read
// into memory whole: data holds the bytes the PUT sends, those that were hashed.
func (u *Lane) identify(f *os.File, r *journal.Record, l *logrus.Entry) (sum, mime string, data []byte, ok bool) {
	if err := ondisk.SameVersion(f, r); err != nil {
		u.supersede(r, l, err)
		return "", "", nil, false
	}
	// Identified while it settled, and still that version: its bytes are the ones hashed then.
	if u.deps.Identified != nil {
		if sum, mime, ok := u.deps.Identified(r.ID, r.Version()); ok {
			return sum, mime, nil, true
		}
	}
	var err error
	if r.Size <= ondisk.SmallMax {
		data, sum, mime, err = ondisk.ReadSmall(f, r.Size)
	} else {
		sum, mime, err = ondisk.Identify(f, r.Size)
	}
	if err != nil {
		if errors.Is(err, ondisk.ErrChanged) {
			u.supersede(r, l, err)
			return "", "", nil, false
		}
		u.j.RetryLater(r.ID, journal.LanePut, fmt.Errorf("read %s: %w", r.Path, err), u.j.Now().Add(u.deps.Backoff.Delay(r.Attempts+1, 0)))
		return "", "", nil, false
	}
	if err := ondisk.SameVersion(f, r); err != nil {
		u.supersede(r, l, err)
		return "", "", nil, false
	}
	return sum, mime, data, true
}

// put sends the bytes of f under key within the PUT slots, and returns when it started; false
// if it was not stored (the record says why, or it stays due on shutdown). A small file's
// bytes (data, read and hashed by identify) are sent from memory. A larger file's body
// (ondisk.Body) goes out by sendfile on a plain TCP connection, its last bytes held back until
// the file is shown to be still the version that was hashed; through TLS it is read and
// hashed again as it is sent.
func (u *Lane) put(ctx context.Context, f *os.File, r *journal.Record, l *logrus.Entry, key, sum, mime string, data []byte) (time.Time, bool) {
	var sent *ondisk.Body
	open := func() (io.ReadCloser, error) {
		if data != nil {
			return io.NopCloser(bytes.NewReader(data)), nil
		}
		sent = ondisk.NewBody(f, r, sum)
		return sent, nil // not wrapped: the transport must see its SendTo
	}
	select {
	case u.putSlots <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, false
	}
	start := u.j.Now()
	err := u.deps.Put(ctx, key, mime, r.Size, open)
	<-u.putSlots
	u.deps.Observe("globalrelay", "put", start, err, r.Size)
	if changed := sent.Verdict(); changed != nil {
		u.supersede(r, l, changed)
		return start, false
	}
	if err != nil {
		u.putFailed(ctx, r, l, err)
		return start, false
	}
	u.deps.Gate.Succeeded()
	return start, true
}

// uploaded is the commit of r's confirmed upload under key, for the committer.
func (u *Lane) uploaded(r *journal.Record, l *logrus.Entry, key, sum, mime string, start time.Time) *pendingCommit {
	now := u.j.Now()
	return &pendingCommit{log: l.WithFields(logrus.Fields{"mime": mime, "size": r.Size}), change: journal.Change{ID: r.ID,
		Fn: func(r *journal.Record) ([]journal.Entry, error) {
			if err := r.Move(journal.Uploaded); err != nil {
				return nil, err
			}
			r.SHA256, r.MIME, r.FileKey = sum, mime, key
			r.UploadedAt = now
			r.Attempts, r.LastError = 0, ""
			r.Done(journal.LanePut)
			u.deps.Uploaded(r, now)
			return []journal.Entry{{Time: now, Step: "put", Lane: journal.LanePut, Result: "ok", FileKey: key, Status: 200,
				Detail: fmt.Sprintf("%d bytes, %s, in %s", r.Size, mime, now.Sub(start).Round(time.Millisecond))}}, nil
		}}}
}

// commitLinger is how long the committer waits for more confirmed uploads to join a batch
// while uploads are still in flight. With none in flight it commits at once.
const commitLinger = 50 * time.Millisecond

// pendingCommit is a confirmed upload waiting for its journal commit.
type pendingCommit struct {
	change   journal.Change
	log      *logrus.Entry
	done     func()    // called once the commit succeeded or failed
	admitted time.Time // when the gates admitted its upload
}

// commitLoop commits confirmed uploads, as many per transaction as are waiting, until in is
// closed and drained. A failed commit leaves the records due: their next attempt repeats the
// same idempotent PUT.
func (u *Lane) commitLoop(in <-chan *pendingCommit) {
	for c := range in {
		batch := []*pendingCommit{c}
		// Every commit rewrites a path of pages in several buckets and syncs them, whatever
		// its size: in a burst, waiting a few tens of milliseconds for more uploads to join
		// the batch writes and syncs far less than committing each as it comes. A file that
		// arrives alone (no other upload in flight) is committed at once.
		linger := time.NewTimer(commitLinger)
	drain:
		for len(batch) < 512 && (len(in) > 0 || u.uploading()) {
			select {
			case c, ok := <-in:
				if !ok {
					break drain
				}
				batch = append(batch, c)
			case <-linger.C:
				break drain
			}
		}
		linger.Stop()
		changes := make([]journal.Change, len(batch))
		admitted := batch[0].admitted
		for i, c := range batch {
			changes[i] = c.change
			if c.admitted.After(admitted) { // a batch with the probe in it is the probe's failure
				admitted = c.admitted
			}
		}
		err := u.j.ResultAt(admitted, u.j.DB.UpdateEach(changes))
		for _, c := range batch {
			if err != nil {
				c.log.WithError(err).Error("file uploaded but the journal commit failed; it will be sent again")
			} else {
				c.log.Debug("file uploaded")
			}
			c.done()
		}
	}
}

// uploading reports whether a worker holds an upload job, whose commit may follow soon.
func (u *Lane) uploading() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.busy > 0
}

// openFailed decides what a failure to open the file means for its record.
func (u *Lane) openFailed(r *journal.Record, l *logrus.Entry, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		u.j.Finish(r, l, journal.Vanished, "deleted before it was archived", err)
	case errors.Is(err, beneath.ErrSymlink), errors.Is(err, beneath.ErrNotRegular):
		u.supersede(r, l, fmt.Errorf("%w: %w", ondisk.ErrChanged, err))
	case errors.Is(err, fs.ErrPermission):
		u.j.Hold(r, l, fmt.Sprintf("permission denied: archivist (uid %d) cannot read it; fix its permissions, then run archivist retry", os.Getuid()), err)
	default:
		u.j.RetryLater(r.ID, journal.LanePut, fmt.Errorf("open %s: %w", r.Path, err), u.j.Now().Add(u.deps.Backoff.Delay(r.Attempts+1, 0)))
	}
}

// putFailed applies the failure model to a failed PUT.
func (u *Lane) putFailed(ctx context.Context, r *journal.Record, l *logrus.Entry, err error) {
	switch o := u.deps.Gate.Judge(ctx, u.j.Now(), err); o.Verdict {
	case gate.Stop:
	case gate.Hold:
		u.j.Hold(r, l, fmt.Sprintf("archive refused the file: %v", err), err)
	case gate.RetryAt:
		o.Paused(l, err, "upload failed; archive paused until then")
		u.j.RetryLater(r.ID, journal.LanePut, err, o.At)
	}
}

// supersede abandons a version that changed; the watcher records the new version once it settles.
func (u *Lane) supersede(r *journal.Record, l *logrus.Entry, err error) {
	u.j.Finish(r, l, journal.Superseded, err.Error()+"; it will be archived again once it settles", err)
	u.deps.Recheck(r.Watch, string(r.Path))
}

// duplicate settles a record whose bytes are already archived under key by record owner.
// The same path touched again needs nothing more; the same bytes at another path get an event
// of their own that references the stored key, without a second PUT.
func (u *Lane) duplicate(r *journal.Record, l *logrus.Entry, owner uint64, sum, mime, key string) {
	o, err := u.j.DB.Get(owner)
	if err != nil {
		// Not the same path then: the file gets an event of its own, which is never wrong.
		u.j.LogError(l.WithField("duplicate_of", owner), err, "load the record that archived the same bytes")
	}
	samePath := err == nil && o.Watch == r.Watch && o.Path == r.Path && r.Role != journal.RoleTranscript
	now := u.j.Now()
	err = u.j.Update(r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		r.SHA256, r.MIME, r.FileKey, r.DuplicateOf = sum, mime, key, owner
		r.Done(journal.LanePut)
		r.Attempts, r.LastError = 0, ""
		if samePath {
			if err := r.Move(journal.Posted); err != nil {
				return nil, err
			}
			r.PostedAt = now
			u.deps.Posted(r)
			r.Reason = fmt.Sprintf("content unchanged since #%d archived it; nothing sent", owner)
			return []journal.Entry{{Time: now, Step: "put", Lane: journal.LanePut, Result: "skipped", FileKey: key, Detail: r.Reason}}, nil
		}
		if err := r.Move(journal.Uploaded); err != nil {
			return nil, err
		}
		r.UploadedAt = now
		u.deps.Uploaded(r, now)
		return []journal.Entry{{Time: now, Step: "put", Lane: journal.LanePut, Result: "skipped", FileKey: key,
			Detail: fmt.Sprintf("same bytes already stored under this key by #%d", owner)}}, nil
	})
	if err != nil {
		l.WithError(err).Error("record duplicate")
		return
	}
	l.WithField("duplicate_of", owner).Info("file content already archived")
}
