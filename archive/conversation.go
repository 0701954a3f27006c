package archive

import (
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/archive/transcript/export"
	"github.com/archivist-project/archivist/journal"
)

// Transcripts mode (package posting posts the transcripts). A file of a transcripts watch
// that is not a transcript takes the "loose" lane: if no transcript references it within
// UnreferencedAfter, it is posted as a loose file and flagged (looseRound).

// Modes of a watch.
const (
	ModeFiles       = "files"
	ModeTranscripts = "transcripts"
)

// roleOf is the role a settled file has in watch w.
func roleOf(w Watch, rel string) string {
	if w.Mode != ModeTranscripts {
		return ""
	}
	if _, ok := transcript.Detect(rel); ok {
		return journal.RoleTranscript
	}
	if export.Candidate(rel) {
		return journal.RoleExport // read in place by the conv lane; never uploaded
	}
	return journal.RoleAttachment
}

// afterUpload schedules what follows a confirmed upload of r, by its role.
func (p *Pipeline) afterUpload(w Watch, r *journal.Record, now time.Time) {
	switch r.Role {
	case journal.RoleTranscript:
		r.Schedule(journal.LaneConv, now)
	case journal.RoleAttachment:
		if r.ReferencedBy == 0 {
			r.Schedule(journal.LaneLoose, now.Add(w.UnreferencedAfter))
		}
	default:
		r.Schedule(journal.LanePost, now)
		p.scheduleForwards(w, r, now)
	}
}

// looseRound turns attachments nobody referenced in time into loose files, and returns how
// many it promoted. One that a transcript still claims (waiting for its other files, or
// held) is not: it is posted with that transcript's events, and looked at again after
// another UnreferencedAfter.
func (p *Pipeline) looseRound(now time.Time) (promoted int) {
	items, _, err := p.j.DueIn(journal.LaneLoose, now, stage.DueScan, nil)
	if err != nil {
		p.jr.LogError(p.log, err, "read due loose files from the journal")
		return 0
	}
	for _, it := range items {
		loose := false
		err := p.jr.Result(p.j.UpdateClaimed(it.ID, func(r *journal.Record, claimedBy []uint64) ([]journal.Entry, error) {
			if _, due := r.Due(journal.LaneLoose); !due || r.State != journal.Uploaded {
				return nil, journal.ErrSkip
			}
			w, _ := p.watch(r.Watch)
			if len(claimedBy) > 0 {
				r.Schedule(journal.LaneLoose, now.Add(w.UnreferencedAfter))
				note := fmt.Sprintf("referenced by transcript #%d, whose events are not posted yet; it goes with them, not as a loose file", claimedBy[0])
				if r.LastError == note {
					return nil, nil
				}
				r.LastError = note
				return []journal.Entry{{Time: now, Step: "loose", Lane: journal.LaneLoose, Result: "waiting", Detail: note}}, nil
			}
			loose = true
			r.Done(journal.LaneLoose)
			r.Schedule(journal.LanePost, now)
			p.scheduleForwards(w, r, now)
			r.LastError = ""
			r.Reason = fmt.Sprintf("no transcript referenced it within %s; archived as a loose file", w.UnreferencedAfter)
			return []journal.Entry{{Time: now, Step: "loose", Lane: journal.LaneLoose, Result: "ok", Detail: r.Reason}}, nil
		}))
		if err != nil && !p.jr.Unreadable(it.ID, err) {
			p.jr.LogError(p.log.WithField("id", it.ID), err, "promote a loose file")
		}
		if err != nil || !loose {
			continue
		}
		promoted++
		r, err := p.j.Get(it.ID)
		if err != nil {
			p.jr.LogError(p.log.WithField("id", it.ID), err, "load the file just promoted to a loose file")
			continue
		}
		p.log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path), "key": r.FileKey}).
			Warn("file not referenced by any transcript: archived as a loose file")
	}
	return promoted
}
