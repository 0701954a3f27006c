package posting

import (
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/journal"
)

// exportDone finishes an export whose conversations were all walked: posted, with the
// custody note naming it (and its SHA-256) as the source of its events, or held with the
// problems found, after everything else was archived.
func (p *Lane) exportDone(x *exportRun, werr error) {
	problems := x.problems
	if werr != nil {
		problems = append(problems, werr)
	}
	now := p.j.Now()
	r := x.r
	source := fmt.Sprintf("%s export, sha256 %s: the source of %d events in %d conversations (%d archived now, %d before); the file itself is not uploaded",
		formatName(x.src.Format()), r.SHA256, x.total, len(x.convs), x.sent, x.before)
	var reason string
	if len(problems) > 0 {
		n := 0
		for _, e := range problems {
			n += len(flatten(e))
		}
		reason = fmt.Sprintf("%s: %d of %d events archived; %d problems: %s", r.Path, x.sent+x.before, x.total, n, problemText(problems))
	}
	err := p.j.Update(r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		if _, due := r.Due(journal.LaneConv); !due || r.State != journal.Discovered {
			return nil, journal.ErrSkip
		}
		r.Events, r.EventsPosted = x.total, x.sent+x.before
		r.Attempts, r.LastError = 0, ""
		if reason != "" {
			if err := r.Hold(reason, now); err != nil {
				return nil, err
			}
			r.LastError = reason
			return []journal.Entry{{Time: now, Step: string(journal.Held), Result: string(journal.Held), Detail: reason}}, nil
		}
		if err := r.Move(journal.Posted); err != nil {
			return nil, err
		}
		r.PostedAt, r.Reason = now, source
		r.Done(journal.LaneConv)
		p.deps.Disposable(r)
		return []journal.Entry{{Time: now, Step: "post", Lane: journal.LaneConv, Result: "ok", Detail: source}}, nil
	})
	l := x.l.WithFields(logrus.Fields{"events": x.total, "sent": x.sent, "before": x.before, "conversations": len(x.convs)})
	switch {
	case err != nil:
		l.WithError(err).Error("record the end of the export; it is read again")
	case reason != "":
		l.WithField("reason", reason).Warn("file held")
	default:
		l.Info("export archived")
	}
}
