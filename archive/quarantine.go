package archive

import (
	"errors"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/journal"
)

// logEvery is how often one kind of error is logged at most; the ones in between are counted
// and the count is logged with the next one. An error path that repeats (a journal that
// cannot be read, a record that cannot be written) must not fill the disk with its log.
const logEvery = 10 * time.Second

// rateLimiter bounds how often each kind of message is logged. The zero value is ready.
type rateLimiter struct {
	mu         sync.Mutex
	last       map[string]time.Time
	suppressed map[string]int
}

// allow reports whether message key may be logged at now, and how many were held back since
// the last one that was.
func (rl *rateLimiter) allow(key string, now time.Time) (bool, int) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.last == nil {
		rl.last, rl.suppressed = map[string]time.Time{}, map[string]int{}
	}
	if t, ok := rl.last[key]; ok && now.Sub(t) < logEvery {
		rl.suppressed[key]++
		return false, 0
	}
	n := rl.suppressed[key]
	rl.last[key] = now
	delete(rl.suppressed, key)
	return true, n
}

// logError logs msg with err at error level, at most once per logEvery for each msg.
func (p *Pipeline) logError(l logrus.FieldLogger, err error, msg string) {
	ok, n := p.limit.allow(msg, time.Now())
	if !ok {
		return
	}
	e := l.WithError(err)
	if n > 0 {
		e = e.WithField("suppressed", n)
	}
	e.Error(msg)
}

// loadDue returns record id for its work due in lane, or false. A record that cannot be read
// (its value does not decode, or a due index names a record that does not exist) is
// quarantined, and logged, once: it leaves every due index, so it is never tried again in a
// loop. A due entry of a lane the record does not have (a damaged key) is dropped likewise;
// one at another time than the record's is worked once, then dropped.
func (p *Pipeline) loadDue(id uint64, lane string) (*journal.Record, bool) {
	r, err := p.j.Get(id)
	if err != nil {
		if !p.unreadable(id, err) {
			p.logError(p.log.WithField("id", id), err, "load record for "+lane)
		}
		return nil, false
	}
	if _, due := r.Due(lane); due {
		return r, true
	}
	n, err := p.j.DropStrayDue(lane, id)
	switch {
	case err != nil && !p.unreadable(id, err):
		p.logError(p.log.WithField("id", id), err, "drop stray due entries")
	case n > 0:
		ok, _ := p.limit.allow("stray due entry", time.Now())
		if ok {
			p.log.WithFields(logrus.Fields{"id": id, "lane": lane, "entries": n}).Warn("due index named work its record does not have: dropped")
		}
	}
	return nil, false
}

// unreadable quarantines record id if err says it cannot be read, and reports whether it did.
func (p *Pipeline) unreadable(id uint64, err error) bool {
	if !errors.Is(err, journal.ErrUndecodable) && !errors.Is(err, journal.ErrNotFound) {
		return false
	}
	fresh, qerr := p.j.Quarantine(id, err, p.now())
	switch {
	case qerr != nil:
		p.logError(p.log.WithField("id", id), qerr, "quarantine an unreadable record")
	case fresh:
		p.log.WithError(err).WithField("id", id).Error("record cannot be read: quarantined, taken out of the work " +
			"(its file is recorded again when next seen or reconciled; 'archivist journal check --full' lists it)")
	}
	return true
}
