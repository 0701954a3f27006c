package archive

import (
	"context"
	"io"
	"time"

	"github.com/archivist-project/archivist/archive/events"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/posting"
	"github.com/archivist-project/archivist/journal"
)

// conversation builds the request for a batch of loose files of watch w.
func (p *Pipeline) conversation(w Watch, recs []*journal.Record) *globalrelay.Conversation {
	return events.Loose(p.o.ConversationType, w.source(), recs)
}

// initPosting builds the poster.
func (p *Pipeline) initPosting() {
	p.poster = posting.New(posting.Deps{
		Journal: p.jr, Gate: p.gate, Limits: p.limits(), Backoff: p.o.Backoff, Park: p.parkUnconfigured, Observe: p.observe,
		Post: func(ctx context.Context, conv *globalrelay.Conversation) (*globalrelay.PostResult, error) {
			return p.gr.PostConversation(ctx, conv)
		},
		Watch: func(name string) (posting.Watch, bool) {
			w, ok := p.watch(name)
			return posting.Watch{Source: w.source(), Root: w.Root, AttachmentWait: w.AttachmentWait, Location: w.Location, DateOrder: w.DateOrder}, ok
		},
		Put: func(ctx context.Context, key, contentType string, size int64, open func() (io.ReadCloser, error)) error {
			return p.gr.PutFile(ctx, key, contentType, size, open)
		},
		Identities: p.o.Identities,
		Uploads:    func() { p.uploader.Wake() },
		Recheck:    p.o.Recheck,
		Disposable: func(r *journal.Record) {
			if w, ok := p.watch(r.Watch); ok {
				p.maybeDispose(w, r)
			}
		},
		Forwards: func(r *journal.Record, now time.Time) {
			w, _ := p.watch(r.Watch)
			p.scheduleForwards(w, r, now)
		},
		Followers: p.wakeFollowers,
	})
}
