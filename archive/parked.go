package archive

import (
	"fmt"
	"time"

	"github.com/archivist-project/archivist/journal"
)

// parkedMeta is the journal meta key that notes a watch whose work was put off because it was
// not configured (a reload removed it): configuring it again resumes that work at once.
func parkedMeta(watch string) string { return "parked/" + watch }

func notConfigured(watch string) string { return fmt.Sprintf("watch %q is not configured", watch) }

// parkUnconfigured puts off lane of record id, whose watch is not configured, for an hour,
// and notes the watch so that SetWatches resumes the work as soon as the watch is back
// (without the note, a watch removed and added again by two reloads waited out the hour).
// The note is written first and the watch looked up again last, so that a SetWatches that
// ran meanwhile cannot miss this record.
func (p *Pipeline) parkUnconfigured(id uint64, lane, watch string) {
	// A note that cannot be read is written again: a note too many only resumes work early.
	if v, err := p.j.LookupMeta(parkedMeta(watch)); err != nil || v == "" {
		if err := p.j.SetMeta(parkedMeta(watch), "1"); err != nil {
			p.log.WithError(err).WithField("watch", watch).Error("note work put off for an unconfigured watch")
		}
	}
	p.jr.RetryLater(id, lane, fmt.Errorf("%s", notConfigured(watch)), p.now().Add(time.Hour))
	if _, ok := p.watch(watch); ok {
		if err := p.j.Update(id, p.resume(watch)); err != nil {
			p.log.WithError(err).WithField("id", id).Error("resume work put off while the watch was not configured")
		}
		p.Wake()
	}
}

// resumeParked makes the work put off by parkUnconfigured due now for each configured watch
// that has some. The note is cleared before the records are read, so that work put off
// meanwhile notes the watch again.
func (p *Pipeline) resumeParked(ws map[string]Watch) {
	for name := range ws {
		l := p.log.WithField("watch", name)
		v, err := p.j.LookupMeta(parkedMeta(name))
		if err != nil {
			l.WithError(err).Error("read the note of work put off; resuming the watch's work anyway")
		} else if v == "" {
			continue
		}
		if err := p.j.SetMeta(parkedMeta(name), ""); err != nil {
			l.WithError(err).Error("clear the note of work put off")
			continue
		}
		if err := p.resumeWatch(name); err != nil {
			l.WithError(err).Error("resume work put off while the watch was not configured")
			if err := p.j.SetMeta(parkedMeta(name), "1"); err != nil {
				l.WithError(err).Error("note work put off for an unconfigured watch")
			}
		}
		p.Wake() // forwards too: their workers may sleep until the hour is over
	}
}

// resumeWatch makes every lane of watch's records that parkUnconfigured put off due now.
func (p *Pipeline) resumeWatch(name string) error {
	parked := notConfigured(name)
	var ids []uint64
	err := p.j.Each(func(r *journal.Record) bool {
		if r.Watch == name && r.LastError == parked && len(r.Lanes) > 0 {
			ids = append(ids, r.ID)
		}
		return true
	})
	if err != nil || len(ids) == 0 {
		return err
	}
	return p.j.UpdateMany(ids, p.resume(name))
}

// resume is the update that makes the put-off lanes of a record of watch due now.
func (p *Pipeline) resume(watch string) func(r *journal.Record) ([]journal.Entry, error) {
	parked := notConfigured(watch)
	now := p.now()
	return func(r *journal.Record) ([]journal.Entry, error) {
		if r.LastError != parked {
			return nil, journal.ErrSkip
		}
		for lane, due := range r.Lanes {
			if due.After(now) {
				r.Schedule(lane, now)
			}
		}
		r.LastError = ""
		return []journal.Entry{{Time: now, Step: "resume", Result: "ok",
			Detail: fmt.Sprintf("watch %q is configured again", watch)}}, nil
	}
}
