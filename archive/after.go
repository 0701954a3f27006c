package archive

import (
	"context"
	"time"

	"github.com/archivist-project/archivist/archive/disposal"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/journal"
)

// After archiving (package disposal runs the after lane). maybeDispose says when a file's
// disposal is due; the disposal loop below also promotes loose files.

// After modes of a watch (package disposal).
const (
	AfterKeep   = disposal.Keep
	AfterMove   = disposal.Move
	AfterDelete = disposal.Delete
)

// maybeDispose schedules the after lane of r when it is fully done; it runs inside journal
// updates that may complete a record.
func (p *Pipeline) maybeDispose(w Watch, r *journal.Record) {
	if w.After == "" || w.After == AfterKeep || r.State != journal.Posted || r.ForwardsPending() || r.Disposed != "" {
		return
	}
	if _, ok := r.Due(journal.LaneAfter); ok {
		return
	}
	r.Schedule(journal.LaneAfter, r.PostedAt.Add(w.Retention))
}

// disposeLanes are the lanes the disposal loop serves. Neither needs Global Relay: promoting
// a loose file only schedules its event (which waits for the archive) and its forwards
// (which do not), and disposing of an archived file needs the disk and the journal.
var disposeLanes = []string{journal.LaneLoose, journal.LaneAfter}

// disposeLoop promotes loose files and disposes of archived ones until ctx ends. It asks only
// the journal's gate, never Global Relay's: an archive outage does not stop it.
func (p *Pipeline) disposeLoop(ctx context.Context) {
	for ctx.Err() == nil {
		next := p.disposeRound()
		if ctx.Err() != nil {
			return
		}
		stage.Sleep(ctx, p.wakeDispose, next)
	}
}

// disposeRound does one round of the disposal loop and returns when to look again.
func (p *Pipeline) disposeRound() time.Time {
	now := p.now()
	n, jprobe, retryAt := p.jgate.Allowance(now, 1)
	if n == 0 {
		return retryAt
	}
	defer jprobe.End()
	promoted := p.looseRound(now)
	p.disposer.Round(now)
	if promoted > 0 {
		// Only then: the poster wakes this loop after every round of its own, so waking it
		// every time made the two spin on read transactions, an idle daemon at 80% of a CPU.
		p.poster.Wake() // loose files have events due now
		for _, d := range p.dests {
			d.Wake() // and forwards
		}
	}
	return p.jr.NextDue(now, disposeLanes)
}

// initDisposal builds the after lane.
func (p *Pipeline) initDisposal() {
	p.disposer = disposal.New(disposal.Deps{Journal: p.jr, Park: p.parkUnconfigured, Recheck: p.o.Recheck,
		Watch: func(name string) (disposal.Watch, bool) {
			w, ok := p.watch(name)
			return disposal.Watch{Name: w.Name, Root: w.Root, After: w.After, DoneDir: w.DoneDir}, ok
		}})
}
