// Package posting is the poster: the lane that posts the File_transfer events of uploaded
// loose files ("post") and the events of transcripts ("conv") to Global Relay, both behind
// Global Relay's gate, one round after the other in one loop. What is sent is built by
// package events; when, in which batches, and what is committed is decided here.
package posting

import (
	"context"
	"io"
	"time"

	"github.com/archivist-project/archivist/archive/events"
	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/journal"
)

// Watch is what the poster needs to know of a watch.
type Watch struct {
	events.Source
	Root           string
	AttachmentWait time.Duration  // how long a transcript waits for its attachments before it is held
	Location       *time.Location // the zone of a WhatsApp export's local times (timezone:); nil if not set
	DateOrder      string         // date_order: for WhatsApp dates the file leaves ambiguous
}

// Deps are what the lane needs from the pipeline around it.
type Deps struct {
	Journal *stage.Journal
	Gate    *gate.Gate // Global Relay's
	// Post sends one request of events (globalrelay.Client.PostConversation).
	Post    func(ctx context.Context, conv *globalrelay.Conversation) (*globalrelay.PostResult, error)
	Limits  events.Limits
	Backoff failure.Backoff
	// Watch returns a configured watch; false if it is not configured (the work is parked).
	Watch   func(name string) (Watch, bool)
	Park    func(id uint64, lane, watch string)
	Observe func(destination, operation string, start time.Time, err error, bytes int64)
	// Disposable runs inside a commit that may complete a record (what follows: disposal).
	Disposable func(r *journal.Record)
	// Forwards runs inside the commit that archives an attachment's events: its forwards.
	Forwards func(r *journal.Record, now time.Time)
	// Followers wakes the lanes that follow posted files (forwards, disposal).
	Followers func()
	// Put stores a file of a chat export in the archive (globalrelay.Client.PutFile).
	Put func(ctx context.Context, key, contentType string, size int64, open func() (io.ReadCloser, error)) error
	// Identities is the identity directory in force (nil: none), read for each export.
	Identities func() *identity.Directory
	// Uploads wakes the upload lane (a candidate that is no chat export is uploaded).
	Uploads func()
	// Recheck asks the watcher to observe a path again (an export changed before it was read).
	Recheck func(watch, rel string)
}

// Lane is the poster.
type Lane struct {
	j    *stage.Journal
	deps Deps
	wake chan struct{}
}

// New returns the poster.
func New(deps Deps) *Lane { return &Lane{j: deps.Journal, deps: deps, wake: make(chan struct{}, 1)} }

// Wake makes the poster look for due work now.
func (p *Lane) Wake() { stage.Wake(p.wake) }

// Run posts due events until ctx ends; requests run on work (see Pipeline.Run).
func (p *Lane) Run(ctx, work context.Context) {
	for ctx.Err() == nil {
		next := p.postOnce(work)
		if ctx.Err() != nil {
			return
		}
		stage.Sleep(ctx, p.wake, next)
	}
}

// postOnce posts what is due and returns when to look again (zero: when woken).
func (p *Lane) postOnce(ctx context.Context) time.Time {
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
func (p *Lane) postRound(ctx context.Context) (next time.Time, more bool) {
	now := p.j.Now()
	a, retryAt := gate.Admit(p.j.Gate, p.deps.Gate, now, 1)
	if a.N == 0 {
		return retryAt, false
	}
	ctx = gate.WithAdmitted(ctx, now)
	defer a.Release()
	probe := a.Probe()
	worked, answered := p.convRound(ctx, now, probe)
	p.deps.Followers() // referenced attachments may have forwards due now, archived files disposals
	if !answered || (probe && worked) {
		return time.Time{}, ctx.Err() == nil // the next round asks the gates
	}
	items, _, err := p.j.DB.DueIn(journal.LanePost, now, stage.DueScan, nil)
	if err != nil {
		p.j.LogError(p.j.Log, err, "read due events from the journal")
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

// send posts one request of events and records how long it took and how it ended.
func (p *Lane) send(ctx context.Context, conv *globalrelay.Conversation) (*globalrelay.PostResult, error) {
	start := p.j.Now()
	res, err := p.deps.Post(ctx, conv)
	p.deps.Observe("globalrelay", "post", start, err, 0)
	return res, err
}

// posterLanes are the lanes the poster serves.
var posterLanes = []string{journal.LanePost, journal.LaneConv}

// nextPosterDue is when the earliest item of the poster's lanes comes due.
func (p *Lane) nextPosterDue(now time.Time) time.Time { return p.j.NextDue(now, posterLanes) }
