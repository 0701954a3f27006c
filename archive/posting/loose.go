package posting

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/events"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/journal"
)

// How loose files become conversations: the files of one folder of one watch whose uploads are
// due together form one conversation, posted as one request of File_transfer events (split by
// MaxEventsPerRequest and MaxRequestBytes). The watch's sender is the initiator; each event's
// time is the file's modification time. Batches form naturally: while one request is in flight,
// the uploads that finish meanwhile wait for the next one, so a burst becomes few requests and
// a lone file is posted at once.

// batches loads the due records and groups them into requests.
func (p *Lane) batches(items []journal.DueItem) [][]*journal.Record {
	groups := map[string][]*journal.Record{}
	var order []string
	for _, it := range items {
		r, ok := p.j.LoadDue(it.ID, journal.LanePost)
		if !ok {
			continue
		}
		g := r.Watch + "\x00" + path.Dir(string(r.Path))
		if r.PostAlone {
			g = fmt.Sprintf("alone\x00%d", r.ID)
		}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], r)
	}
	var out [][]*journal.Record
	for _, g := range order {
		recs := groups[g]
		slices.SortStableFunc(recs, func(a, b *journal.Record) int { return a.ModTime.Compare(b.ModTime) })
		for len(recs) > 0 {
			n := min(len(recs), p.deps.Limits.MaxEvents)
			out = append(out, recs[:n])
			recs = recs[n:]
		}
	}
	return out
}

// post sends one batch, splitting it while it is over the byte limit. It reports whether the
// destination answered (false: paused, stop this pass).
func (p *Lane) post(ctx context.Context, recs []*journal.Record) bool {
	w, ok := p.deps.Watch(recs[0].Watch)
	if !ok {
		for _, r := range recs {
			p.deps.Park(r.ID, journal.LanePost, r.Watch)
		}
		return true
	}
	conv := events.Loose(p.deps.Limits.ConversationType, w.Source, recs)
	body, err := json.Marshal(conv)
	if err != nil {
		p.j.Log.WithError(err).Error("encode conversation")
		return true
	}
	if len(body) > p.deps.Limits.MaxBytes && len(recs) > 1 {
		half := len(recs) / 2
		return p.post(ctx, recs[:half]) && p.post(ctx, recs[half:])
	}

	ids := make([]uint64, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	l := p.j.Log.WithFields(logrus.Fields{"watch": w.Source.Watch, "events": len(recs), "first_id": ids[0]})
	res, err := p.send(ctx, conv)
	if err != nil {
		return p.postFailed(ctx, l, recs, ids, err)
	}
	p.deps.Gate.Succeeded()
	now := p.j.Now()
	err = p.j.UpdateMany(ids, func(r *journal.Record) ([]journal.Entry, error) {
		if _, due := r.Due(journal.LanePost); !due {
			return nil, journal.ErrSkip
		}
		if err := r.Move(journal.Posted); err != nil {
			return nil, err
		}
		r.PostedAt, r.RequestID = now, res.RequestID
		r.Attempts, r.LastError, r.PostAlone = 0, "", false
		r.Done(journal.LanePost)
		p.deps.Disposable(r)
		return []journal.Entry{{Time: now, Step: "post", Lane: journal.LanePost, Result: "ok", FileKey: r.FileKey,
			Status: res.StatusCode, RequestID: res.RequestID,
			Detail: fmt.Sprintf("File_transfer event accepted in a conversation of %d events", len(recs))}}, nil
	})
	if err != nil {
		// Accepted but not committed: the events stay due and will be posted again once the
		// journal works (README: when an event can be posted twice).
		l.WithError(err).Error("events accepted but the journal commit failed; they will be posted again")
		return false
	}
	for _, r := range recs {
		p.j.Log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path), "key": r.FileKey,
			"request_id": res.RequestID}).Info("file archived")
	}
	return true
}

func (p *Lane) postFailed(ctx context.Context, l *logrus.Entry, recs []*journal.Record, ids []uint64, err error) bool {
	switch o := p.deps.Gate.Judge(ctx, p.j.Now(), err); o.Verdict {
	case gate.Stop:
		return false
	case gate.Hold:
		if len(recs) > 1 {
			// Find which event the refusal is about: post each alone.
			now := p.j.Now()
			uerr := p.j.UpdateMany(ids, func(r *journal.Record) ([]journal.Entry, error) {
				r.PostAlone, r.LastError = true, err.Error()
				return []journal.Entry{{Time: now, Step: "post", Lane: journal.LanePost, Result: "error", Status: stage.StatusOf(err),
					Detail: fmt.Sprintf("a request of %d events was refused (%v); posting each alone", len(recs), err)}}, nil
			})
			if uerr != nil {
				l.WithError(uerr).Error("record refused batch")
			}
			l.WithError(err).Warn("event request refused; retrying its events one by one")
			return true
		}
		r := recs[0]
		p.j.Hold(r, p.j.Log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path), "key": r.FileKey}),
			fmt.Sprintf("archive refused the File_transfer event: %v", err), err)
		return true
	default:
		o.Paused(l, err, "event post failed; archive paused until then")
		for _, id := range ids {
			p.j.RetryLater(id, journal.LanePost, err, o.At)
		}
		return false
	}
}
