package archive

import (
	"context"
	"time"

	"github.com/archivist-project/archivist/archive/reconcile"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/journal"
)

// Summary is the outcome of one reconciliation (package reconcile).
type Summary = reconcile.Summary

// VerifyAll, as Reconcile's verify, re-hashes every archived file.
const VerifyAll = reconcile.VerifyAll

// Reconcile compares every watch with the journal (package reconcile). With requeue,
// unexplained files are handed to the watcher (Recheck) to settle and be recorded, and due
// work is woken; verify archived files are read again (VerifyAll: every one).
func (p *Pipeline) Reconcile(ctx context.Context, staleAfter time.Duration, requeue bool, verify int) (*Summary, error) {
	p.mu.Lock()
	watches := make([]reconcile.Watch, 0, len(p.watches))
	for _, w := range p.watches {
		watches = append(watches, w.reconcileWatch())
	}
	p.mu.Unlock()
	s, err := reconcile.Run(ctx, reconcile.Options{Journal: p.j, Watches: watches, StaleAfter: staleAfter,
		Requeue: requeue, Recheck: p.o.Recheck, Verify: verify, Log: p.log, Now: p.now,
		Wrote: p.jr.Result, Unreadable: p.jr.Unreadable})
	if err == nil && requeue {
		p.uploader.Wake()
		p.poster.Wake()
		stage.Wake(p.wakeDispose)
	}
	return s, err
}

// ReconcileWatches is what reconciliation needs of each watch.
func ReconcileWatches(ws []Watch) []reconcile.Watch {
	out := make([]reconcile.Watch, len(ws))
	for i, w := range ws {
		out[i] = w.reconcileWatch()
	}
	return out
}

func (w Watch) reconcileWatch() reconcile.Watch {
	return reconcile.Watch{Name: w.Name, Root: w.Root, Ignore: w.Ignore}
}

// LastReconciliation returns the summary of the most recent reconciliation; nil, nil if none
// was recorded, and an error if the stored summary cannot be decoded.
func LastReconciliation(j *journal.DB) (*Summary, error) { return reconcile.Last(j) }
