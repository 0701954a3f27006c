// Package forwarding is the forwarding lanes: a file whose archive copy is confirmed is
// forwarded to each destination its watch names. Every destination is a Lane of its own
// ("fwd/<name>" in the journal) with its own loop and gate, so an outage of one delays only
// that one, and the archive copy never waits for a forward: forwards are scheduled only
// after the upload is committed, and a forward failure never touches the archive lanes. An
// attachment of a transcript forwards with the chat, end user and text the transcript gave
// it, so it waits while a transcript may still reference it.
package forwarding

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Deps are what a lane needs from the pipeline around it.
type Deps struct {
	Journal *stage.Journal
	Backoff failure.Backoff
	// Root is the root of a configured watch; false if the watch is not configured (the
	// work is parked with Park).
	Root func(watch string) (string, bool)
	Park func(id uint64, lane, watch string)
	// Observe reports a finished request for metrics.
	Observe func(destination, operation string, start time.Time, err error, bytes int64)
	// Finished runs inside the commit that ends a forward (what follows it: disposal).
	Finished func(r *journal.Record)
	// Committed runs after that commit.
	Committed func()
}

// Lane is one forwarding destination at work.
type Lane struct {
	name string
	lane string // journal.ForwardLane(name)
	fw   forward.Forwarder
	gate *gate.Gate
	wake chan struct{}
	j    *stage.Journal
	deps Deps
}

// New returns the lane of destination name, sending through fw.
func New(name string, fw forward.Forwarder, deps Deps) *Lane {
	d := &Lane{name: name, lane: journal.ForwardLane(name), fw: fw, gate: gate.New(deps.Backoff),
		wake: make(chan struct{}, 1), j: deps.Journal, deps: deps}
	d.gate.Notify = d.Wake
	return d
}

// Wake makes the lane look for due work now.
func (d *Lane) Wake() { stage.Wake(d.wake) }

// Health is the destination's state.
func (d *Lane) Health(now time.Time) gate.Health { return d.gate.Health(now) }

// Run forwards due files until ctx ends; requests run on work (see Pipeline.Run).
func (d *Lane) Run(ctx, work context.Context) {
	for ctx.Err() == nil {
		next, more := d.round(work)
		if ctx.Err() != nil {
			return
		}
		if !more {
			stage.Sleep(ctx, d.wake, next)
		}
	}
}

// round forwards what is due to the destination: everything if it is up, one file if
// it is being probed.
func (d *Lane) round(ctx context.Context) (next time.Time, more bool) {
	now := d.j.Now()
	n, jprobe, retryAt := d.j.Gate.Allowance(now, 1)
	if n == 0 {
		return retryAt, false
	}
	m, probe, retryAt := d.gate.Allowance(now, 1)
	if m == 0 {
		jprobe.End()
		return retryAt, false
	}
	ctx = gate.WithAdmitted(ctx, now)
	defer jprobe.End()
	defer probe.End()
	lane := d.lane
	items, next, err := d.j.DB.DueIn(lane, now, stage.DueScan, nil)
	if err != nil {
		d.j.LogError(d.j.Log, err, "read due forwards from the journal")
		return now.Add(time.Second), false
	}
	if len(items) == 0 {
		return next, false
	}
	for _, it := range items {
		if ctx.Err() != nil || !d.forward1(ctx, it.ID) {
			return time.Time{}, false
		}
		if probe.Probing() || jprobe.Probing() {
			break
		}
	}
	return time.Time{}, true
}

// forward1 forwards record id to the destination; false means the destination (or the
// journal) failed transiently and the round should stop.
func (d *Lane) forward1(ctx context.Context, id uint64) bool {
	lane := d.lane
	r, ok := d.j.LoadDue(id, lane)
	if !ok {
		return true
	}
	l := d.j.Log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path), "destination": d.name})
	if d.awaitTranscript(r, l, lane) {
		return true
	}
	root, ok := d.deps.Root(r.Watch)
	if !ok {
		d.deps.Park(id, lane, r.Watch)
		return true
	}
	fh, err := beneath.Open(root, string(r.Path))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			d.done(r, l, journal.ForwardHeld, "file deleted after it was archived; not forwarded", "", err)
		} else {
			d.j.RetryLater(id, lane, fmt.Errorf("open %s: %w", r.Path, err), d.j.Now().Add(d.deps.Backoff.Delay(r.Attempts+1, 0)))
		}
		return true
	}
	defer fh.Close()
	f, changed := forwardFile(r, d.name, fh)
	if err := d.fw.Refuse(f); err != nil {
		d.done(r, l, journal.ForwardRefused, err.Error(), "", err)
		return true
	}
	start := d.j.Now()
	receipt, err := d.fw.Forward(ctx, f)
	d.deps.Observe(d.name, "forward", start, err, f.Size)
	if changed := changed(); changed != nil {
		d.done(r, l, journal.ForwardHeld, "file changed after it was archived; its new version is forwarded on its own: "+changed.Error(), "", changed)
		return true
	}
	if err != nil {
		return d.failed(ctx, r, l, f, err)
	}
	d.gate.Succeeded()
	d.done(r, l, journal.ForwardSent, receipt.Detail, receipt.RemoteID, nil)
	return true
}

// awaitTranscript reports whether attachment r waits for a transcript to reference it (it
// forwards with its transcript's context), and if so reschedules lane to the end of that wait.
func (d *Lane) awaitTranscript(r *journal.Record, l *logrus.Entry, lane string) bool {
	if r.Role != journal.RoleAttachment || r.ReferencedBy != 0 {
		return false
	}
	t, waiting := r.Due(journal.LaneLoose)
	if !waiting {
		return false
	}
	err := d.j.Update(r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		r.Schedule(lane, t.Add(time.Millisecond))
		return nil, nil
	})
	if err != nil && !d.j.Unreadable(r.ID, err) {
		d.j.LogError(l, err, "reschedule a forward that waits for its transcript")
	}
	return true
}

// forwardFile describes record r to destination name, its bytes read from fh through a
// verifying reader; changed says, after the forward, why the bytes sent were refused (nil:
// they were the archived ones, or never read).
func forwardFile(r *journal.Record, name string, fh *os.File) (f *forward.File, changed func() error) {
	f = &forward.File{
		ID:   forward.DerivedID(strconv.FormatUint(r.ID, 10)+"/"+r.SHA256, "file/"+name),
		Name: filekey.DisplayName(string(r.Path)), Size: r.Size, MIME: r.MIME, SHA256: r.SHA256, Time: r.ModTime,
	}
	if s := r.Share; s != nil {
		f.ChatID, f.EndUser, f.Text = s.ChatID, s.EndUser, s.Text
		if !s.Time.IsZero() {
			f.Time = s.Time
		}
	}
	var sent *ondisk.VerifyingReader
	f.Open = func() (io.ReadCloser, error) {
		sent = ondisk.NewVerifyingReader(fh, r, r.SHA256)
		return io.NopCloser(sent), nil
	}
	return f, func() error { return sent.Verdict() }
}

// failed applies the failure model to a failed forward; false means stop the round.
func (d *Lane) failed(ctx context.Context, r *journal.Record, l *logrus.Entry, f *forward.File, err error) bool {
	switch o := d.gate.Judge(ctx, d.j.Now(), err); o.Verdict {
	case gate.Stop:
		return false
	case gate.Hold:
		d.done(r, l, journal.ForwardHeld, fmt.Sprintf("%s refused the file: %v", d.name, err), "", err)
		d.notifyFailure(ctx, r, l, f, err)
		return true
	default:
		o.Paused(l, err, "forward failed; destination paused until then")
		d.retry(r, l, err, o.At)
		return false
	}
}

// notifyFailure tells a destination that can be told (Salesforce) that the delivery failed.
func (d *Lane) notifyFailure(ctx context.Context, r *journal.Record, l *logrus.Entry, f *forward.File, cause error) {
	n, ok := d.fw.(forward.FailureNotifier)
	if !ok {
		return
	}
	if err := n.NotifyFailure(ctx, f, cause); err != nil {
		l.WithError(err).Warn("could not tell the destination the delivery failed")
		return
	}
	d.auditOnly(r.ID, l, journal.Entry{Time: d.j.Now(), Step: "notify", Lane: d.lane, Result: "ok", Detail: "delivery failure reported to " + d.name})
}

// retry records a transient failure of the forward of r, due again at until.
func (d *Lane) retry(r *journal.Record, l *logrus.Entry, cause error, until time.Time) {
	lane := d.lane
	err := d.j.Update(r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		if _, due := r.Due(lane); !due {
			return nil, journal.ErrSkip
		}
		if fw := r.Forwards[d.name]; fw != nil {
			fw.Attempts++
			fw.LastError = cause.Error()
		}
		r.Schedule(lane, until)
		return []journal.Entry{{Time: d.j.Now(), Step: "forward", Lane: lane, Result: "error", Status: stage.StatusOf(cause),
			Detail: fmt.Sprintf("%v; retry at %s", cause, until.UTC().Format(time.RFC3339))}}, nil
	})
	if err != nil && !d.j.Unreadable(r.ID, err) {
		d.j.LogError(l, err, "record a failed forward")
	}
}

// done records the end of a forward.
func (d *Lane) done(r *journal.Record, l *logrus.Entry, state, reason, remoteID string, cause error) {
	now := d.j.Now()
	lane := d.lane
	err := d.j.Update(r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		fw := r.Forwards[d.name]
		if fw == nil {
			fw = &journal.Forward{}
			if r.Forwards == nil {
				r.Forwards = map[string]*journal.Forward{}
			}
			r.Forwards[d.name] = fw
		}
		fw.State, fw.Reason, fw.RemoteID = state, reason, remoteID
		switch state {
		case journal.ForwardSent:
			fw.SentAt, fw.LastError = now, ""
		default:
			fw.HeldAt = now
			if cause != nil {
				fw.LastError = cause.Error()
			}
		}
		r.Done(lane)
		d.deps.Finished(r)
		result := "ok"
		if state != journal.ForwardSent {
			result = state
		}
		return []journal.Entry{{Time: now, Step: "forward", Lane: lane, Result: result, RequestID: remoteID, Status: stage.StatusOf(cause), Detail: reason}}, nil
	})
	if err != nil {
		if !d.j.Unreadable(r.ID, err) {
			d.j.LogError(l, err, "record the outcome of a forward")
		}
		return
	}
	d.deps.Committed() // the last forward may have made the file disposable
	l = l.WithField("remote_id", remoteID)
	if state == journal.ForwardSent {
		l.Info("file forwarded")
	} else {
		l.WithField("reason", reason).Warn("file not forwarded")
	}
}

// auditOnly appends an audit entry to record id.
func (d *Lane) auditOnly(id uint64, l *logrus.Entry, e journal.Entry) {
	err := d.j.Update(id, func(r *journal.Record) ([]journal.Entry, error) { return []journal.Entry{e}, nil })
	if err != nil && !d.j.Unreadable(id, err) {
		d.j.LogError(l, err, "record an audit entry")
	}
}
