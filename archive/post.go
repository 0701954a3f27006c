package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/events"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/journal"
)

// How loose files become conversations: the files of one folder of one watch whose uploads are
// due together form one conversation, posted as one request of File_transfer events (split by
// MaxEventsPerRequest and MaxRequestBytes). The watch's sender is the initiator; each event's
// time is the file's modification time. Batches form naturally: while one request is in flight,
// the uploads that finish meanwhile wait for the next one, so a burst becomes few requests and
// a lone file is posted at once.

// postScan bounds how many due events one pass of the poster loads.
const postScan = 1000

func (p *Pipeline) postLoop(ctx, work context.Context) {
	for ctx.Err() == nil {
		next := p.postOnce(work)
		if ctx.Err() != nil {
			return
		}
		stage.Sleep(ctx, p.wakePost, next)
	}
}

// postOnce posts what is due and returns when to look again (zero: when woken).
func (p *Pipeline) postOnce(ctx context.Context) time.Time {
	for ctx.Err() == nil {
		next, more := p.postRound(ctx)
		if !more {
			return next
		}
	}
	return time.Time{}
}

// postRound does one round of the poster's lanes: transcripts, then loose-file events, everything due if the archive is up, one request if it is being
// probed. more reports whether another round may find work now; otherwise next is when the
// earliest of these lanes comes due.
func (p *Pipeline) postRound(ctx context.Context) (next time.Time, more bool) {
	now := p.now()
	a, retryAt := gate.Admit(p.jgate, p.gate, now, 1)
	if a.N == 0 {
		return retryAt, false
	}
	ctx = gate.WithAdmitted(ctx, now)
	defer a.Release()
	probe := a.Probe()
	worked, answered := p.convRound(ctx, now, probe)
	p.wakeFollowers() // referenced attachments may have forwards due now, archived files disposals
	if !answered || (probe && worked) {
		return time.Time{}, ctx.Err() == nil // the next round asks the gates
	}
	items, _, err := p.j.DueIn(journal.LanePost, now, postScan, nil)
	if err != nil {
		p.jr.LogError(p.log, err, "read due events from the journal")
		return now.Add(time.Second), false
	}
	if len(items) == 0 {
		return p.nextPosterDue(now), false
	}
	batches := p.batches(items)
	if probe && len(batches) > 1 {
		batches = batches[:1] // a paused archive is probed with one request
	}
	for _, batch := range batches {
		if !p.post(ctx, batch) {
			break // paused: the next round asks the gate when to try again
		}
	}
	return time.Time{}, true
}

// posterLanes are the lanes the poster serves.
var posterLanes = []string{journal.LanePost, journal.LaneConv}

// nextPosterDue is when the earliest item of the poster's lanes comes due.
func (p *Pipeline) nextPosterDue(now time.Time) time.Time { return p.nextDue(now, posterLanes) }

// nextDue is when the earliest item of lanes comes due. An item already due that a round left
// (it cannot be served yet) is looked at again after a second, not in a busy loop.
func (p *Pipeline) nextDue(now time.Time, lanes []string) time.Time {
	var next time.Time
	for _, lane := range lanes {
		if t, ok := p.j.NextDue(lane); ok && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if !next.IsZero() && !next.After(now) {
		next = now.Add(attachmentPoll)
	}
	return next
}

// batches loads the due records and groups them into requests.
func (p *Pipeline) batches(items []journal.DueItem) [][]*journal.Record {
	groups := map[string][]*journal.Record{}
	var order []string
	for _, it := range items {
		r, ok := p.jr.LoadDue(it.ID, journal.LanePost)
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
			n := min(len(recs), p.o.MaxEventsPerRequest)
			out = append(out, recs[:n])
			recs = recs[n:]
		}
	}
	return out
}

// post sends one batch, splitting it while it is over the byte limit. It reports whether the
// destination answered (false: paused, stop this pass).
func (p *Pipeline) post(ctx context.Context, recs []*journal.Record) bool {
	w, ok := p.watch(recs[0].Watch)
	if !ok {
		for _, r := range recs {
			p.parkUnconfigured(r.ID, journal.LanePost, r.Watch)
		}
		return true
	}
	conv := p.conversation(w, recs)
	body, err := json.Marshal(conv)
	if err != nil {
		p.log.WithError(err).Error("encode conversation")
		return true
	}
	if len(body) > p.o.MaxRequestBytes && len(recs) > 1 {
		half := len(recs) / 2
		return p.post(ctx, recs[:half]) && p.post(ctx, recs[half:])
	}

	ids := make([]uint64, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	l := p.log.WithFields(logrus.Fields{"watch": w.Name, "events": len(recs), "first_id": ids[0]})
	start := p.now()
	res, err := p.gr.PostConversation(ctx, conv)
	p.observe(archiveName, "post", start, err, 0)
	if err != nil {
		return p.postFailed(ctx, l, recs, ids, err)
	}
	p.gate.Succeeded()
	now := p.now()
	err = p.jr.UpdateMany(ids, func(r *journal.Record) ([]journal.Entry, error) {
		if _, due := r.Due(journal.LanePost); !due {
			return nil, journal.ErrSkip
		}
		if err := r.Move(journal.Posted); err != nil {
			return nil, err
		}
		r.PostedAt, r.RequestID = now, res.RequestID
		r.Attempts, r.LastError, r.PostAlone = 0, "", false
		r.Done(journal.LanePost)
		p.maybeDispose(w, r)
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
		p.log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path), "key": r.FileKey,
			"request_id": res.RequestID}).Info("file archived")
	}
	return true
}

func (p *Pipeline) postFailed(ctx context.Context, l *logrus.Entry, recs []*journal.Record, ids []uint64, err error) bool {
	switch o := p.gate.Judge(ctx, p.now(), err); o.Verdict {
	case gate.Stop:
		return false
	case gate.Hold:
		if len(recs) > 1 {
			// Find which event the refusal is about: post each alone.
			now := p.now()
			uerr := p.jr.UpdateMany(ids, func(r *journal.Record) ([]journal.Entry, error) {
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
		p.jr.Hold(r, p.log.WithFields(logrus.Fields{"id": r.ID, "watch": r.Watch, "path": string(r.Path), "key": r.FileKey}),
			fmt.Sprintf("archive refused the File_transfer event: %v", err), err)
		return true
	default:
		o.Paused(l, err, "event post failed; archive paused until then")
		for _, id := range ids {
			p.jr.RetryLater(id, journal.LanePost, err, o.At)
		}
		return false
	}
}

// conversation builds the request for a batch of loose files of watch w.
func (p *Pipeline) conversation(w Watch, recs []*journal.Record) *globalrelay.Conversation {
	return events.Loose(p.o.ConversationType, w.source(), recs)
}
