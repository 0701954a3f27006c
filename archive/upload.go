package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// upload archives the file of record id: verify, hash, key, PUT. The commit of "uploaded" is
// returned for the committer, which batches the commits of all workers into few
// transactions; nil means there is nothing (more) to commit.
func (p *Pipeline) upload(ctx context.Context, id uint64) *pendingCommit {
	r, w, l, ok := p.uploadable(id)
	if !ok {
		return nil
	}
	f, err := beneath.Open(w.Root, string(r.Path))
	if err != nil {
		p.openFailed(r, l, err)
		return nil
	}
	defer f.Close()
	sum, mime, ok := p.identify(f, r, l)
	if !ok {
		return nil
	}
	key := filekey.Build(r.Watch, sum, string(r.Path))
	l = l.WithField("key", key)
	// The same bytes under the same name are in the archive already: no second PUT.
	if owner, ok := p.j.KeyOwner(key); ok && owner != r.ID {
		p.duplicate(r, l, owner, sum, mime, key)
		return nil
	}
	start, ok := p.put(ctx, f, r, l, key, sum, mime)
	if !ok {
		return nil
	}
	return p.uploaded(w, r, l, key, sum, mime, start)
}

// uploadable loads record id for its upload: false if there is nothing to upload now (not
// due, not a new version, its watch gone from the configuration, too large).
func (p *Pipeline) uploadable(id uint64) (*journal.Record, Watch, *logrus.Entry, bool) {
	r, ok := p.jr.LoadDue(id, journal.LanePut)
	if !ok || r.State != journal.Discovered {
		return nil, Watch{}, nil, false
	}
	l := p.log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path)})
	w, ok := p.watch(r.Watch)
	if !ok {
		// The watch left the configuration; keep the work and look again later.
		p.parkUnconfigured(id, journal.LanePut, r.Watch)
		return nil, Watch{}, nil, false
	}
	if r.Size > p.o.MaxFileSize { // held at intake; checked again for records released later
		p.jr.Hold(r, l, fmt.Sprintf("file is %d bytes, over the archive's limit of %d bytes; not sent", r.Size, p.o.MaxFileSize), failure.Refuse("too large"))
		return nil, Watch{}, nil, false
	}
	return r, w, l, true
}

// identify hashes and sniffs the open file of r, checking before and after that it is still
// r's version; false if it is not (superseded) or could not be read (retried later).
func (p *Pipeline) identify(f *os.File, r *journal.Record, l *logrus.Entry) (sum, mime string, ok bool) {
	if err := ondisk.SameVersion(f, r); err != nil {
		p.supersede(r, l, err)
		return "", "", false
	}
	sum, mime, err := ondisk.Identify(f, r.Size)
	if err != nil {
		if errors.Is(err, ondisk.ErrChanged) {
			p.supersede(r, l, err)
			return "", "", false
		}
		p.jr.RetryLater(r.ID, journal.LanePut, fmt.Errorf("read %s: %w", r.Path, err), p.now().Add(p.o.Backoff.Delay(r.Attempts+1, 0)))
		return "", "", false
	}
	if err := ondisk.SameVersion(f, r); err != nil {
		p.supersede(r, l, err)
		return "", "", false
	}
	return sum, mime, true
}

// put sends the bytes of f under key, through a verifying reader and within the PUT slots,
// and returns when it started; false if it was not stored (the record says why, or it stays
// due on shutdown).
func (p *Pipeline) put(ctx context.Context, f *os.File, r *journal.Record, l *logrus.Entry, key, sum, mime string) (time.Time, bool) {
	var sent *ondisk.VerifyingReader
	open := func() (io.ReadCloser, error) {
		sent = ondisk.NewVerifyingReader(f, r, sum)
		return io.NopCloser(sent), nil
	}
	select {
	case p.putSlots <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, false
	}
	start := p.now()
	err := p.gr.PutFile(ctx, key, mime, r.Size, open)
	<-p.putSlots
	p.observe(archiveName, "put", start, err, r.Size)
	if changed := sent.Verdict(); changed != nil {
		p.supersede(r, l, changed)
		return start, false
	}
	if err != nil {
		p.putFailed(ctx, r, l, err)
		return start, false
	}
	p.gate.Succeeded()
	return start, true
}

// uploaded is the commit of r's confirmed upload under key, for the committer.
func (p *Pipeline) uploaded(w Watch, r *journal.Record, l *logrus.Entry, key, sum, mime string, start time.Time) *pendingCommit {
	now := p.now()
	return &pendingCommit{log: l.WithFields(logrus.Fields{"mime": mime, "size": r.Size}), change: journal.Change{ID: r.ID,
		Fn: func(r *journal.Record) ([]journal.Entry, error) {
			if err := r.Move(journal.Uploaded); err != nil {
				return nil, err
			}
			r.SHA256, r.MIME, r.FileKey = sum, mime, key
			r.UploadedAt = now
			r.Attempts, r.LastError = 0, ""
			r.Done(journal.LanePut)
			p.afterUpload(w, r, now)
			return []journal.Entry{{Time: now, Step: "put", Lane: journal.LanePut, Result: "ok", FileKey: key, Status: 200,
				Detail: fmt.Sprintf("%d bytes, %s, in %s", r.Size, mime, now.Sub(start).Round(time.Millisecond))}}, nil
		}}}
}

// commitLinger is how long the committer waits for more confirmed uploads to join a batch
// while uploads are still in flight. With none in flight it commits at once.
const commitLinger = 50 * time.Millisecond

// pendingCommit is a confirmed upload waiting for its journal commit.
type pendingCommit struct {
	change journal.Change
	log    *logrus.Entry
	done   func() // called once the commit succeeded or failed
}

// commitLoop commits confirmed uploads, as many per transaction as are waiting, until in is
// closed and drained. A failed commit leaves the records due: their next attempt repeats the
// same idempotent PUT.
func (p *Pipeline) commitLoop(in <-chan *pendingCommit) {
	for c := range in {
		batch := []*pendingCommit{c}
		// Every commit rewrites a path of pages in several buckets and syncs them, whatever
		// its size: in a burst, waiting a few tens of milliseconds for more uploads to join
		// the batch writes and syncs far less than committing each as it comes. A file that
		// arrives alone (no other upload in flight) is committed at once.
		linger := time.NewTimer(commitLinger)
	drain:
		for len(batch) < 512 && (len(in) > 0 || p.uploading()) {
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
		for i, c := range batch {
			changes[i] = c.change
		}
		err := p.jr.Result(p.j.UpdateEach(changes))
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
func (p *Pipeline) uploading() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy > 0
}

// openFailed decides what a failure to open the file means for its record.
func (p *Pipeline) openFailed(r *journal.Record, l *logrus.Entry, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.jr.Finish(r, l, journal.Vanished, "deleted before it was archived", err)
	case errors.Is(err, beneath.ErrSymlink), errors.Is(err, beneath.ErrNotRegular):
		p.supersede(r, l, fmt.Errorf("%w: %w", ondisk.ErrChanged, err))
	case errors.Is(err, fs.ErrPermission):
		p.jr.Hold(r, l, fmt.Sprintf("permission denied: archivist (uid %d) cannot read it; fix its permissions, then run archivist retry", os.Getuid()), err)
	default:
		p.jr.RetryLater(r.ID, journal.LanePut, fmt.Errorf("open %s: %w", r.Path, err), p.now().Add(p.o.Backoff.Delay(r.Attempts+1, 0)))
	}
}

// putFailed applies the failure model to a failed PUT.
func (p *Pipeline) putFailed(ctx context.Context, r *journal.Record, l *logrus.Entry, err error) {
	switch o := p.gate.Judge(ctx, p.now(), err); o.Verdict {
	case gate.Stop:
	case gate.Hold:
		p.jr.Hold(r, l, fmt.Sprintf("archive refused the file: %v", err), err)
	case gate.RetryAt:
		o.Paused(l, err, "upload failed; archive paused until then")
		p.jr.RetryLater(r.ID, journal.LanePut, err, o.At)
	}
}

// supersede abandons a version that changed; the watcher records the new version once it settles.
func (p *Pipeline) supersede(r *journal.Record, l *logrus.Entry, err error) {
	p.jr.Finish(r, l, journal.Superseded, err.Error()+"; it will be archived again once it settles", err)
	p.o.Recheck(r.Watch, string(r.Path))
}

// duplicate settles a record whose bytes are already archived under key by record owner.
// The same path touched again needs nothing more; the same bytes at another path get an event
// of their own that references the stored key, without a second PUT.
func (p *Pipeline) duplicate(r *journal.Record, l *logrus.Entry, owner uint64, sum, mime, key string) {
	o, err := p.j.Get(owner)
	if err != nil {
		// Not the same path then: the file gets an event of its own, which is never wrong.
		p.jr.LogError(l.WithField("duplicate_of", owner), err, "load the record that archived the same bytes")
	}
	samePath := err == nil && o.Watch == r.Watch && o.Path == r.Path && r.Role != journal.RoleTranscript
	w, _ := p.watch(r.Watch)
	now := p.now()
	err = p.jr.Update(r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		r.SHA256, r.MIME, r.FileKey, r.DuplicateOf = sum, mime, key, owner
		r.Done(journal.LanePut)
		r.Attempts, r.LastError = 0, ""
		if samePath {
			if err := r.Move(journal.Posted); err != nil {
				return nil, err
			}
			r.PostedAt = now
			p.maybeDispose(w, r)
			r.Reason = fmt.Sprintf("content unchanged since #%d archived it; nothing sent", owner)
			return []journal.Entry{{Time: now, Step: "put", Lane: journal.LanePut, Result: "skipped", FileKey: key, Detail: r.Reason}}, nil
		}
		if err := r.Move(journal.Uploaded); err != nil {
			return nil, err
		}
		r.UploadedAt = now
		p.afterUpload(w, r, now)
		return []journal.Entry{{Time: now, Step: "put", Lane: journal.LanePut, Result: "skipped", FileKey: key,
			Detail: fmt.Sprintf("same bytes already stored under this key by #%d", owner)}}, nil
	})
	if err != nil {
		l.WithError(err).Error("record duplicate")
		return
	}
	l.WithField("duplicate_of", owner).Info("file content already archived")
}
