package posting

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/events"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/archive/transcript/export"
	"github.com/archivist-project/archivist/journal"
)

// errStop ends a walk early: the run halted (see exportRun.halted).
var errStop = errors.New("export run halted")

// exportRun is one reading of an export: the events of the current conversation not yet
// posted, what it stored and counted, and the problems it met.
type exportRun struct {
	ctx context.Context // the walk's: requests run on it
	p   *Lane
	w   Watch
	r   *journal.Record
	l   *logrus.Entry
	src export.Source

	pending *transcript.Conversation // events of one conversation waiting for their request
	queued  map[string]bool          // keys of pending's events
	people  map[string]bool          // ids of pending's participants
	stored  map[string]*journal.Record

	convs               map[string]bool
	total, before, sent int
	problems            []error
	// halted: the run stopped before its end (the archive or the journal failed, or a wait
	// was scheduled); the record stays due. paused: because the archive failed transiently.
	halted, paused bool
}

func newExportRun(ctx context.Context, p *Lane, w Watch, r *journal.Record, l *logrus.Entry, src export.Source) *exportRun {
	return &exportRun{ctx: ctx, p: p, w: w, r: r, l: l, src: src, stored: map[string]*journal.Record{}, convs: map[string]bool{}}
}

// eventKey is what identifies e across exports in the ledger.
func eventKey(c *transcript.Conversation, e transcript.Event) string {
	if e.Key != "" {
		return e.Key
	}
	return c.Format + "/" + c.ID + "/" + e.ID
}

// visit takes one batch of one conversation: the events the ledger does not hold join the
// pending request, which is posted when it is full or the conversation changes.
func (x *exportRun) visit(c *transcript.Conversation) error {
	ctx := x.ctx
	x.total += len(c.Events)
	x.convs[c.ID] = true
	if x.pending != nil && x.pending.ID != c.ID && !x.flush(ctx) {
		return errStop
	}
	keys := make([]string, len(c.Events))
	for i, e := range c.Events {
		keys[i] = eventKey(c, e)
	}
	done, err := x.p.j.DB.Delivered(x.w.Source.Watch, keys)
	if err != nil {
		x.retry(err)
		return errStop
	}
	x.add(c, keys, done)
	if len(x.pending.Events) >= x.p.deps.Limits.MaxEvents && !x.flush(ctx) {
		return errStop
	}
	return nil
}

// add queues the events of c that are not done (nor queued already) and their people.
func (x *exportRun) add(c *transcript.Conversation, keys []string, done []bool) {
	if x.pending == nil {
		x.pending = &transcript.Conversation{Format: c.Format, Version: c.Version, ID: c.ID, ChatID: c.ChatID, Title: c.Title}
		x.queued, x.people = map[string]bool{}, map[string]bool{}
	}
	for _, pt := range c.Participants {
		if !x.people[pt.ID] {
			x.people[pt.ID] = true
			x.pending.Participants = append(x.pending.Participants, pt)
		}
	}
	for i, e := range c.Events {
		if done[i] || x.queued[keys[i]] {
			x.before++
			continue
		}
		e.Key = keys[i]
		x.queued[keys[i]] = true
		x.pending.Events = append(x.pending.Events, e)
	}
}

// flush posts the pending events, in as many requests as the limits need. false: the run
// halted.
func (x *exportRun) flush(ctx context.Context) bool {
	conv := x.pending
	x.pending, x.queued, x.people = nil, nil, nil
	if conv == nil || len(conv.Events) == 0 {
		return true
	}
	unresolved := x.resolve(conv)
	atts, ok := x.storeFiles(ctx, conv)
	if !ok {
		return false
	}
	chunks, _, err := events.Chunks(x.w.Source, x.p.deps.Limits, conv, atts, &journal.Conversation{}, false)
	if err != nil {
		x.problems = append(x.problems, err)
		return true
	}
	for _, ch := range chunks {
		if !x.post(ctx, conv, ch, unresolvedIn(conv, ch, unresolved)) {
			return false
		}
	}
	return true
}

// post sends one request and commits it with its keys. A request the archive refuses is a
// problem of the export (its events stay unsent); false: the run halted.
func (x *exportRun) post(ctx context.Context, conv *transcript.Conversation, ch events.Chunk, unresolved []journal.Unresolved) bool {
	p := x.p
	res, err := p.send(ctx, ch.Req)
	if err != nil {
		switch o := p.deps.Gate.Judge(ctx, p.j.Now(), err); o.Verdict {
		case gate.Stop:
			x.halted, x.paused = true, true
		case gate.Hold:
			x.problems = append(x.problems, fmt.Errorf("archive refused events %s of conversation %s: %w", ch.Span(), conv.ID, err))
			return true
		default:
			o.Paused(x.l, err, "event post failed; archive paused until then")
			p.j.RetryLater(x.r.ID, journal.LaneConv, err, o.At)
			x.halted, x.paused = true, true
		}
		return false
	}
	p.deps.Gate.Succeeded()
	err = p.j.Result(p.j.DB.CommitChunk(journal.Chunk{
		Transcript: x.r.ID, Watch: x.r.Watch, Conv: conv.ID, EventIDs: ch.IDs, Digests: ch.Digests, Keys: ch.Keys,
		RequestID: res.RequestID, Attachments: ch.Attachments, Unresolved: unresolved,
		OnAttachment: func(a *journal.Record) {
			if s, ok := ch.Shares[a.ID]; ok {
				a.Share = &s
			}
			p.deps.Forwards(a, p.j.Now())
			p.deps.Disposable(a)
		},
	}, p.j.Now()))
	if err != nil {
		x.l.WithError(err).Error("events accepted but the journal commit failed; they will be posted again")
		x.halted, x.paused = true, true
		return false
	}
	x.sent += len(ch.IDs)
	x.l.WithFields(logrus.Fields{"conversation": conv.ID, "events": len(ch.IDs), "request_id": res.RequestID}).Info("conversation events archived")
	return true
}

// retry ends the run for now: the export is read again after a backoff.
func (x *exportRun) retry(err error) {
	x.halted = true
	x.p.j.RetryLater(x.r.ID, journal.LaneConv, err, x.p.j.Now().Add(x.p.deps.Backoff.Delay(x.r.Attempts+1, 0)))
}
