// Package stage is what every lane of the pipeline shares: the journal as the lanes use it
// (each write's outcome feeds the journal's gate, a record that cannot be read is
// quarantined once, a repeating error is logged at most once per 10 s, a transient failure
// reschedules its lane), and the wake-up and sleep of a lane's loop.
package stage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/gate"
	"github.com/archivist-project/archivist/journal"
)

// DueScan bounds how many due items one round of a lane loads.
const DueScan = 1000

// Journal is the journal as the lanes use it.
type Journal struct {
	DB   *journal.DB
	Gate *gate.Gate // the journal's health: a failed write pauses new work until a commit succeeds
	Log  logrus.FieldLogger
	Now  func() time.Time

	limit rateLimiter // bounds the log of error paths that repeat
}

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

// LogError logs msg with err at error level, at most once per logEvery for each msg.
func (j *Journal) LogError(l logrus.FieldLogger, err error, msg string) {
	ok, n := j.limit.allow(msg, time.Now())
	if !ok {
		return
	}
	e := l.WithError(err)
	if n > 0 {
		e = e.WithField("suppressed", n)
	}
	e.Error(msg)
}

// LoadDue returns record id for its work due in lane, or false. A record that cannot be read
// (its value does not decode, or a due index names a record that does not exist) is
// quarantined, and logged, once: it leaves every due index, so it is never tried again in a
// loop. A due entry of a lane the record does not have (a damaged key) is dropped likewise;
// one at another time than the record's is worked once, then dropped.
func (j *Journal) LoadDue(id uint64, lane string) (*journal.Record, bool) {
	r, err := j.DB.Get(id)
	if err != nil {
		if !j.Unreadable(id, err) {
			j.LogError(j.Log.WithField("id", id), err, "load record for "+lane)
		}
		return nil, false
	}
	if _, due := r.Due(lane); due {
		return r, true
	}
	n, err := j.DB.DropStrayDue(lane, id)
	switch {
	case err != nil && !j.Unreadable(id, err):
		j.LogError(j.Log.WithField("id", id), err, "drop stray due entries")
	case n > 0:
		ok, _ := j.limit.allow("stray due entry", time.Now())
		if ok {
			j.Log.WithFields(logrus.Fields{"id": id, "lane": lane, "entries": n}).Warn("due index named work its record does not have: dropped")
		}
	}
	return nil, false
}

// Unreadable quarantines record id if err says it cannot be read, and reports whether it did.
func (j *Journal) Unreadable(id uint64, err error) bool {
	if !errors.Is(err, journal.ErrUndecodable) && !errors.Is(err, journal.ErrNotFound) {
		return false
	}
	fresh, qerr := j.DB.Quarantine(id, err, j.Now())
	switch {
	case qerr != nil:
		j.LogError(j.Log.WithField("id", id), qerr, "quarantine an unreadable record")
	case fresh:
		j.Log.WithError(err).WithField("id", id).Error("record cannot be read: quarantined, taken out of the work " +
			"(its file is recorded again when next seen or reconciled; 'archivist journal check --full' lists it)")
	}
	return true
}

// Update commits a change to one record; a failed write pauses new work (see jgate).
func (j *Journal) Update(id uint64, fn func(r *journal.Record) ([]journal.Entry, error)) error {
	return j.Result(j.DB.Update(id, fn))
}

// UpdateMany commits a change to several records in one transaction.
func (j *Journal) UpdateMany(ids []uint64, fn func(r *journal.Record) ([]journal.Entry, error)) error {
	return j.Result(j.DB.UpdateMany(ids, fn))
}

// Result reports the outcome of a journal write to the journal's gate (see ResultAt).
func (j *Journal) Result(err error) error { return j.ResultAt(time.Time{}, err) }

// ResultAt reports the outcome of a write whose work the gates admitted at admitted (zero:
// now). A write of work admitted before the journal's pause began shares the cause of the
// failure that paused it and does not count as the failure of its probe (see gate.Failed):
// otherwise a late commit of the batch in flight at the first failure would end the probe
// and let a second one start, each sending its files to the archive again.
func (j *Journal) ResultAt(admitted time.Time, err error) error {
	if err == nil {
		j.Gate.Succeeded()
		return nil
	}
	if errors.Is(err, journal.ErrIllegalMove) {
		// A bug, not a failing journal: the change is refused, the journal works.
		j.Log.WithError(err).Error("state change refused by the journal's state table; the record is left as it was")
		return err
	}
	now := j.Now()
	until := j.Gate.Failed(admitted, now, err)
	j.Log.WithError(err).WithField("retry_at", until.Format(time.RFC3339)).
		Error("journal write failed; new work paused until it succeeds again (nothing is marked done that was not committed)")
	return err
}

// RetryLater records a transient failure on lane of record id and reschedules it at when.
func (j *Journal) RetryLater(id uint64, lane string, err error, when time.Time) {
	now := j.Now()
	uerr := j.Update(id, func(r *journal.Record) ([]journal.Entry, error) {
		if _, ok := r.Due(lane); !ok {
			return nil, journal.ErrSkip
		}
		r.Attempts++
		r.LastError = err.Error()
		r.Schedule(lane, when)
		return []journal.Entry{{Time: now, Step: lane, Lane: lane, Result: "error", Status: StatusOf(err),
			Detail: fmt.Sprintf("%v; retry at %s", err, when.UTC().Format(time.RFC3339))}}, nil
	})
	if uerr != nil && !j.Unreadable(id, uerr) {
		j.LogError(j.Log.WithField("id", id), uerr, "record a failed attempt")
	}
}

func StatusOf(err error) int {
	var he *failure.HTTPError
	if errors.As(err, &he) {
		return he.StatusCode
	}
	return 0
}

// Wake wakes the loop waiting on ch, unless it has been woken already.
func Wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Sleep waits for a wake-up, the time next (if set), or the end of ctx.
func Sleep(ctx context.Context, wakeCh <-chan struct{}, next time.Time) {
	var timer <-chan time.Time
	if !next.IsZero() {
		d := max(time.Until(next), time.Millisecond)
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
	case <-wakeCh:
	case <-timer:
	}
}

// Hold holds record r with reason; cause is its last error.
func (j *Journal) Hold(r *journal.Record, l *logrus.Entry, reason string, err error) {
	j.Finish(r, l, journal.Held, reason, err)
}

// Finish moves a record that will not be archived in this version to a final state (or
// holds it), and logs it.
func (j *Journal) Finish(r *journal.Record, l *logrus.Entry, state journal.State, reason string, cause error) {
	now := j.Now()
	err := j.Update(r.ID, func(r *journal.Record) ([]journal.Entry, error) {
		if state == journal.Held {
			if err := r.Hold(reason, now); err != nil {
				return nil, err
			}
		} else {
			if err := r.Move(state); err != nil {
				return nil, err
			}
			r.Reason = reason
			r.Done(journal.LanePut)
			r.Done(journal.LanePost)
		}
		r.LastError = cause.Error()
		return []journal.Entry{{Time: now, Step: string(state), Result: string(state), Detail: reason, Status: StatusOf(cause)}}, nil
	})
	if err != nil {
		l.WithError(err).Error("record state change")
		return
	}
	l = l.WithField("reason", reason)
	if state == journal.Held {
		l.Warn("file held")
	} else {
		l.Info("file " + string(state))
	}
}

// NextDue is when the earliest item of lanes comes due. An item already due that a round left
// (it cannot be served yet) is looked at again after a second, not in a busy loop; so is a lane
// whose due list could not be read (the error is logged).
func (j *Journal) NextDue(now time.Time, lanes []string) time.Time {
	var next time.Time
	for _, lane := range lanes {
		it, ok, err := j.DB.LookupFirstDue(lane)
		if err != nil {
			j.LogError(j.Log.WithField("lane", lane), err, "read when the next work is due")
			it, ok = journal.DueItem{Due: now}, true
		}
		if ok && (next.IsZero() || it.Due.Before(next)) {
			next = it.Due
		}
	}
	if !next.IsZero() && !next.After(now) {
		next = now.Add(time.Second)
	}
	return next
}
