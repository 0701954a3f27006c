package archive

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

	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Forwarding. A file whose archive copy is confirmed is forwarded to each destination its
// watch names. Every destination has its own lane ("fwd/<name>"), loop and gate, so an outage
// of one delays only that one, and the archive copy never waits for a forward: forwards are
// scheduled only after the upload is committed, and a forward failure never touches the
// archive lanes. A loose file is forwarded once uploaded; an attachment of a transcript once
// the transcript's events that reference it are archived (with the chat, end user and text the
// transcript gave it), or once it goes loose.

// destination is one forwarding destination at work.
type destination struct {
	fw   forward.Forwarder
	gate *gate.Gate
	wake chan struct{}
}

func (p *Pipeline) initForwarders() {
	p.dests = map[string]*destination{}
	for name, fw := range p.o.Forwarders {
		d := &destination{fw: fw, gate: gate.New(p.o.Backoff), wake: make(chan struct{}, 1)}
		d.gate.Notify = func() { stage.Wake(d.wake) }
		p.dests[name] = d
	}
}

// DestinationHealth reports each destination's state: Global Relay's and every forward's.
func (p *Pipeline) DestinationHealth() map[string]Health {
	out := map[string]Health{archiveName: p.Health()}
	for name, d := range p.dests {
		out[name] = d.gate.Health(p.now())
	}
	return out
}

// scheduleForwards makes r's watch's destinations pending for r. It runs inside a journal
// update: the caller wakes the destinations (wakeFollowers) once that is committed.
func (p *Pipeline) scheduleForwards(w Watch, r *journal.Record, now time.Time) {
	r.ScheduleForwards(w.Forward, now)
}

// wakeFollowers makes the lanes that follow an archived file look for due work: every
// forwarding destination, and disposal.
func (p *Pipeline) wakeFollowers() {
	for _, d := range p.dests {
		stage.Wake(d.wake)
	}
	stage.Wake(p.wakeDispose)
}

func (p *Pipeline) forwardLoop(ctx, work context.Context, name string, d *destination) {
	for ctx.Err() == nil {
		next, more := p.forwardRound(work, name, d)
		if ctx.Err() != nil {
			return
		}
		if !more {
			stage.Sleep(ctx, d.wake, next)
		}
	}
}

// forwardRound forwards what is due to one destination: everything if it is up, one file if
// it is being probed.
func (p *Pipeline) forwardRound(ctx context.Context, name string, d *destination) (next time.Time, more bool) {
	now := p.now()
	n, jprobe, retryAt := p.jgate.Allowance(now, 1)
	if n == 0 {
		return retryAt, false
	}
	m, probe, retryAt := d.gate.Allowance(now, 1)
	if m == 0 {
		if jprobe {
			p.jgate.EndProbe()
		}
		return retryAt, false
	}
	ctx = gate.WithAdmitted(ctx, now)
	defer p.release(admission{n: 1, probe: false, jprobe: jprobe})
	if probe {
		defer d.gate.EndProbe()
	}
	lane := journal.ForwardLane(name)
	items, next, err := p.j.DueIn(lane, now, postScan, nil)
	if err != nil {
		p.jr.LogError(p.log, err, "read due forwards from the journal")
		return now.Add(time.Second), false
	}
	if len(items) == 0 {
		return next, false
	}
	for _, it := range items {
		if ctx.Err() != nil || !p.forward1(ctx, name, d, it.ID) {
			return time.Time{}, false
		}
		if probe || jprobe {
			break
		}
	}
	return time.Time{}, true
}

// forward1 forwards record id to destination name; false means the destination (or the
// journal) failed transiently and the round should stop.
func (p *Pipeline) forward1(ctx context.Context, name string, d *destination, id uint64) bool {
	lane := journal.ForwardLane(name)
	r, ok := p.jr.LoadDue(id, lane)
	if !ok {
		return true
	}
	l := p.log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path), "destination": name})
	if p.awaitTranscript(r, l, lane) {
		return true
	}
	w, ok := p.watch(r.Watch)
	if !ok {
		p.parkUnconfigured(id, lane, r.Watch)
		return true
	}
	fh, err := beneath.Open(w.Root, string(r.Path))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			p.forwardDone(r, l, name, journal.ForwardHeld, "file deleted after it was archived; not forwarded", "", err)
		} else {
			p.jr.RetryLater(id, lane, fmt.Errorf("open %s: %w", r.Path, err), p.now().Add(p.o.Backoff.Delay(r.Attempts+1, 0)))
		}
		return true
	}
	defer fh.Close()
	f, changed := forwardFile(r, name, fh)
	if err := d.fw.Refuse(f); err != nil {
		p.forwardDone(r, l, name, journal.ForwardRefused, err.Error(), "", err)
		return true
	}
	start := p.now()
	receipt, err := d.fw.Forward(ctx, f)
	p.observe(name, "forward", start, err, f.Size)
	if changed := changed(); changed != nil {
		p.forwardDone(r, l, name, journal.ForwardHeld, "file changed after it was archived; its new version is forwarded on its own: "+changed.Error(), "", changed)
		return true
	}
	if err != nil {
		return p.forwardFailed(ctx, name, d, r, l, f, err)
	}
	d.gate.Succeeded()
	p.forwardDone(r, l, name, journal.ForwardSent, receipt.Detail, receipt.RemoteID, nil)
	return true
}

// awaitTranscript reports whether attachment r waits for a transcript to reference it (it
// forwards with its transcript's context), and if so reschedules lane to the end of that wait.
func (p *Pipeline) awaitTranscript(r *journal.Record, l *logrus.Entry, lane string) bool {
	if r.Role != journal.RoleAttachment || r.ReferencedBy != 0 {
		return false
	}
	t, waiting := r.Due(journal.LaneLoose)
	if !waiting {
		return false
	}
	err := p.jr.Update(r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		r.Schedule(lane, t.Add(time.Millisecond))
		return nil, nil
	})
	if err != nil && !p.jr.Unreadable(r.ID, err) {
		p.jr.LogError(l, err, "reschedule a forward that waits for its transcript")
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

// forwardFailed applies the failure model to a failed forward; false means stop the round.
func (p *Pipeline) forwardFailed(ctx context.Context, name string, d *destination, r *journal.Record, l *logrus.Entry, f *forward.File, err error) bool {
	switch o := d.gate.Judge(ctx, p.now(), err); o.Verdict {
	case gate.Stop:
		return false
	case gate.Hold:
		p.forwardDone(r, l, name, journal.ForwardHeld, fmt.Sprintf("%s refused the file: %v", name, err), "", err)
		p.notifyFailure(ctx, name, d, r, l, f, err)
		return true
	default:
		o.Paused(l, err, "forward failed; destination paused until then")
		p.forwardRetry(r, l, name, err, o.At)
		return false
	}
}

// notifyFailure tells a destination that can be told (Salesforce) that the delivery failed.
func (p *Pipeline) notifyFailure(ctx context.Context, name string, d *destination, r *journal.Record, l *logrus.Entry, f *forward.File, cause error) {
	n, ok := d.fw.(forward.FailureNotifier)
	if !ok {
		return
	}
	if err := n.NotifyFailure(ctx, f, cause); err != nil {
		l.WithError(err).Warn("could not tell the destination the delivery failed")
		return
	}
	p.auditOnly(r.ID, l, journal.Entry{Time: p.now(), Step: "notify", Lane: journal.ForwardLane(name), Result: "ok", Detail: "delivery failure reported to " + name})
}

// forwardRetry records a transient failure of the forward of r to name, due again at until.
func (p *Pipeline) forwardRetry(r *journal.Record, l *logrus.Entry, name string, cause error, until time.Time) {
	lane := journal.ForwardLane(name)
	err := p.jr.Update(r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		if _, due := r.Due(lane); !due {
			return nil, journal.ErrSkip
		}
		if fw := r.Forwards[name]; fw != nil {
			fw.Attempts++
			fw.LastError = cause.Error()
		}
		r.Schedule(lane, until)
		return []journal.Entry{{Time: p.now(), Step: "forward", Lane: lane, Result: "error", Status: stage.StatusOf(cause),
			Detail: fmt.Sprintf("%v; retry at %s", cause, until.UTC().Format(time.RFC3339))}}, nil
	})
	if err != nil && !p.jr.Unreadable(r.ID, err) {
		p.jr.LogError(l, err, "record a failed forward")
	}
}

// forwardDone records the end of a forward to destination name.
func (p *Pipeline) forwardDone(r *journal.Record, l *logrus.Entry, name, state, reason, remoteID string, cause error) {
	now := p.now()
	lane := journal.ForwardLane(name)
	err := p.jr.Update(r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		fw := r.Forwards[name]
		if fw == nil {
			fw = &journal.Forward{}
			if r.Forwards == nil {
				r.Forwards = map[string]*journal.Forward{}
			}
			r.Forwards[name] = fw
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
		if w, ok := p.watch(r.Watch); ok {
			p.maybeDispose(w, r)
		}
		result := "ok"
		if state != journal.ForwardSent {
			result = state
		}
		return []journal.Entry{{Time: now, Step: "forward", Lane: lane, Result: result, RequestID: remoteID, Status: stage.StatusOf(cause), Detail: reason}}, nil
	})
	if err != nil {
		if !p.jr.Unreadable(r.ID, err) {
			p.jr.LogError(l, err, "record the outcome of a forward")
		}
		return
	}
	stage.Wake(p.wakeDispose) // the last forward may have made the file disposable
	l = l.WithField("remote_id", remoteID)
	if state == journal.ForwardSent {
		l.Info("file forwarded")
	} else {
		l.WithField("reason", reason).Warn("file not forwarded")
	}
}

// auditOnly appends an audit entry to record id.
func (p *Pipeline) auditOnly(id uint64, l *logrus.Entry, e journal.Entry) {
	err := p.jr.Update(id, func(r *journal.Record) ([]journal.Entry, error) { return []journal.Entry{e}, nil })
	if err != nil && !p.jr.Unreadable(id, err) {
		p.jr.LogError(l, err, "record an audit entry")
	}
}
