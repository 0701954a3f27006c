package posting

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/ondisk"
	"github.com/archivist-project/archivist/archive/transcript/export"
	"github.com/archivist-project/archivist/archive/transcript/whatsapp"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher/beneath"
)

// Chat exports (package export): a Slack workspace export, a WhatsApp chat or a Teams dump
// dropped into a transcripts watch is read in place from the conv lane, never uploaded
// itself (a Slack export's JSON carries its access token). Its record stays discovered
// while its conversations are walked: the events of one conversation are posted in order,
// in requests that never mix two conversations, and each accepted request is committed
// with the keys of its messages (journal.Delivered), so the same export dropped again
// under any name sends nothing, a later overlapping one only what is new, and a crash
// resends at most one request. Files inside the export are PUT under their own
// content-addressed keys first. What cannot be read is listed in the reason the record is
// held with, after everything else was archived. The record, with the export's SHA-256,
// is the custody report's row for every event taken from it.

// export1 archives the events of export record r. It reports false when the archive
// failed transiently (the caller stops this round).
func (p *Lane) export1(ctx context.Context, r *journal.Record) bool {
	if _, due := r.Due(journal.LaneConv); !due || r.State != journal.Discovered {
		return true
	}
	l := p.j.Log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path)})
	w, ok := p.deps.Watch(r.Watch)
	if !ok {
		p.deps.Park(r.ID, journal.LaneConv, r.Watch)
		return true
	}
	f, sum, mime, err := p.openExport(w, r)
	if err != nil {
		p.exportUnreadable(r, l, err)
		return true
	}
	defer f.Close()
	src, err := export.Open(f, r.Size, string(r.Path), export.RootFS(w.Root), export.Options{
		Location: w.Location, DateOrder: whatsapp.DateOrder(w.DateOrder), Directory: p.identities()})
	switch {
	case errors.Is(err, export.ErrNotExport):
		p.notAnExport(r, l)
		return true
	case err != nil:
		p.holdUnopened(r, l, sum, mime, err)
		return true
	}
	if !p.exportStarted(r, l, src.Format(), sum, mime) {
		return true
	}
	run := newExportRun(ctx, p, w, r, l, src)
	werr := src.Walk(ctx, run.visit)
	if !run.halted && !errors.Is(werr, errStop) && ctx.Err() == nil {
		run.flush(ctx)
	}
	switch {
	case run.halted:
		return !run.paused
	case ctx.Err() != nil:
		return false
	}
	p.exportDone(run, werr)
	return true
}

// openExport opens r's file beneath the watch root, checks it is still the version that
// settled and hashes it.
func (p *Lane) openExport(w Watch, r *journal.Record) (f *os.File, sum, mime string, err error) {
	f, err = beneath.Open(w.Root, string(r.Path))
	if err != nil {
		return nil, "", "", err
	}
	if err = ondisk.SameVersion(f, r); err == nil {
		sum, mime, err = ondisk.Identify(f, r.Size)
	}
	if err != nil {
		f.Close()
		return nil, "", "", err
	}
	return f, sum, mime, nil
}

// exportUnreadable decides, as the upload lane does for any file, what a failure to open or
// hash an export means: deleted (vanished), changed or replaced (superseded: the watcher
// records the new version), not readable by archivist (held), else retried later.
func (p *Lane) exportUnreadable(r *journal.Record, l *logrus.Entry, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.exportGone(r, l, journal.Vanished, "deleted before its events were archived", err)
	case errors.Is(err, ondisk.ErrChanged), errors.Is(err, beneath.ErrSymlink), errors.Is(err, beneath.ErrNotRegular):
		p.exportGone(r, l, journal.Superseded, err.Error()+"; it will be read again once it settles", err)
		if p.deps.Recheck != nil {
			p.deps.Recheck(r.Watch, string(r.Path))
		}
	case errors.Is(err, fs.ErrPermission):
		p.j.Hold(r, l, fmt.Sprintf("permission denied: archivist (uid %d) cannot read it; fix its permissions, then run archivist retry", os.Getuid()), err)
	default:
		p.j.RetryLater(r.ID, journal.LaneConv, fmt.Errorf("read %s: %w", r.Path, err), p.j.Now().Add(p.deps.Backoff.Delay(r.Attempts+1, 0)))
	}
}

// exportGone moves an export that will not be read in this version to state (vanished or
// superseded), ending its conv lane.
func (p *Lane) exportGone(r *journal.Record, l *logrus.Entry, state journal.State, reason string, cause error) {
	now := p.j.Now()
	err := p.j.Update(r.ID, func(x *journal.Record) ([]journal.Entry, error) {
		if _, due := x.Due(journal.LaneConv); !due || x.State != journal.Discovered {
			return nil, journal.ErrSkip
		}
		if err := x.Move(state); err != nil {
			return nil, err
		}
		x.Reason, x.LastError = reason, cause.Error()
		x.Done(journal.LaneConv)
		return []journal.Entry{{Time: now, Step: string(state), Result: string(state), Detail: reason}}, nil
	})
	if err != nil {
		l.WithError(err).Error("record state change")
		return
	}
	l.WithField("reason", reason).Info("file " + string(state))
}

// holdUnopened holds an export that cannot be opened as one, keeping the SHA-256 of the
// bytes it was refused for.
func (p *Lane) holdUnopened(r *journal.Record, l *logrus.Entry, sum, mime string, cause error) {
	now, reason := p.j.Now(), cause.Error()
	err := p.j.Update(r.ID, func(x *journal.Record) ([]journal.Entry, error) {
		if _, due := x.Due(journal.LaneConv); !due || x.State != journal.Discovered {
			return nil, journal.ErrSkip
		}
		if err := x.Hold(reason, now); err != nil {
			return nil, err
		}
		x.SHA256, x.MIME, x.LastError = sum, mime, reason
		return []journal.Entry{{Time: now, Step: string(journal.Held), Result: string(journal.Held),
			Detail: fmt.Sprintf("%s (sha256 %s)", reason, sum)}}, nil
	})
	if err != nil {
		l.WithError(err).Error("record state change")
		return
	}
	l.WithField("reason", reason).Warn("file held")
}

// notAnExport gives a candidate that is no chat export (a ZIP of photos, say) the way of
// any other file of a transcripts watch: uploaded, then loose unless a transcript claims it.
func (p *Lane) notAnExport(r *journal.Record, l *logrus.Entry) {
	now := p.j.Now()
	err := p.j.Update(r.ID, func(x *journal.Record) ([]journal.Entry, error) {
		if _, due := x.Due(journal.LaneConv); !due || x.State != journal.Discovered {
			return nil, journal.ErrSkip
		}
		x.Role = journal.RoleAttachment
		x.Done(journal.LaneConv)
		x.Schedule(journal.LanePut, now)
		return []journal.Entry{{Time: now, Step: "conv", Lane: journal.LaneConv, Result: "skipped",
			Detail: "not a chat export: archived as any other file"}}, nil
	})
	if err != nil {
		l.WithError(err).Error("record that the file is not a chat export; it is looked at again")
		return
	}
	if p.deps.Uploads != nil {
		p.deps.Uploads()
	}
}

// exportStarted records the export's identity before its first request: its SHA-256 and
// format. false: the journal failed (it is tried again).
func (p *Lane) exportStarted(r *journal.Record, l *logrus.Entry, format, sum, mime string) bool {
	if r.SHA256 == sum {
		return true
	}
	now := p.j.Now()
	err := p.j.Update(r.ID, func(x *journal.Record) ([]journal.Entry, error) {
		x.SHA256, x.MIME, x.Conversation = sum, mime, format+" export"
		return []journal.Entry{{Time: now, Step: "conv", Lane: journal.LaneConv, Result: "ok",
			Detail: fmt.Sprintf("read in place as a %s export (sha256 %s); the file itself is not uploaded, its events are", formatName(format), sum)}}, nil
	})
	if err != nil {
		p.j.RetryLater(r.ID, journal.LaneConv, err, p.j.Now().Add(p.deps.Backoff.Delay(r.Attempts+1, 0)))
		l.WithError(err).Error("record the export's identity")
		return false
	}
	r.SHA256, r.MIME = sum, mime
	return true
}

// formatName names an export format for people.
func formatName(format string) string {
	switch format {
	case export.WhatsApp:
		return "WhatsApp"
	case export.Teams:
		return "Microsoft Teams"
	}
	return "Slack"
}

// problemText lists the first problems of an export for a reason (each names the file and
// the entry or line).
func problemText(problems []error) string {
	var parts []string
	for _, e := range problems {
		for _, one := range flatten(e) {
			if len(parts) == 10 {
				return strings.Join(parts, "; ") + "; ..."
			}
			parts = append(parts, one.Error())
		}
	}
	return strings.Join(parts, "; ")
}

// flatten undoes errors.Join.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
