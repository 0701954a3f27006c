package archive

import (
	"time"

	"github.com/archivist-project/archivist/archive/forwarding"
	"github.com/archivist-project/archivist/archive/stage"
	"github.com/archivist-project/archivist/journal"
)

// Forwarding (package forwarding runs the lanes). A loose file is forwarded once uploaded; an
// attachment of a transcript once the transcript's events that reference it are archived, or
// once it goes loose.

func (p *Pipeline) initForwarders() {
	p.dests = map[string]*forwarding.Lane{}
	deps := forwarding.Deps{
		Journal: p.jr, Backoff: p.o.Backoff, Park: p.parkUnconfigured, Observe: p.observe,
		Root: func(watch string) (string, bool) {
			w, ok := p.watch(watch)
			return w.Root, ok
		},
		Finished: func(r *journal.Record) {
			if w, ok := p.watch(r.Watch); ok {
				p.maybeDispose(w, r)
			}
		},
		Committed: func() { stage.Wake(p.wakeDispose) },
	}
	for name, fw := range p.o.Forwarders {
		p.dests[name] = forwarding.New(name, fw, deps)
	}
}

// DestinationHealth reports each destination's state: Global Relay's and every forward's.
func (p *Pipeline) DestinationHealth() map[string]Health {
	out := map[string]Health{archiveName: p.Health()}
	for name, d := range p.dests {
		out[name] = d.Health(p.now())
	}
	return out
}

// scheduleForwards makes r's watch's destinations pending for r. It runs inside a journal
// update: the caller wakes the destinations (wakeFollowers) once that is committed.
func (p *Pipeline) scheduleForwards(w Watch, r *journal.Record, now time.Time) {
	r.ScheduleForwards(w.Forward, now)
}

// wakeFollowers makes the lanes that follow an archived file look for due work: every
// forwarding destination, and disposal.
func (p *Pipeline) wakeFollowers() {
	for _, d := range p.dests {
		d.Wake()
	}
	stage.Wake(p.wakeDispose)
}
