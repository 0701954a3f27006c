// Package gate is the health of one destination: after a transient failure it is paused for
// a backoff delay, then probed with one request, and only the probe's success reopens it to
// every worker. Judge is the one decision of what a failed remote call means for its work
// (hold it, retry it at the end of the pause, or stop because the daemon is shutting down).
// The pipeline keeps one gate for Global Relay, one per forwarding destination and one for
// the journal's writes.
package gate

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/redact"
)

// Gate tracks the health of one destination (or of the journal). After a transient failure the destination is
// paused for a backoff delay; then one probe request may pass, and only its success reopens
// the destination to all workers. Files keep being discovered and journaled while it is closed.
type Gate struct {
	backoff failure.Backoff
	// Notify is called after every change, outside the lock: it wakes whoever waits on the
	// gate. Set it before the gate is used.
	Notify func()

	mu       sync.Mutex
	failures int       // consecutive transient failures, a failed probe each after the first
	until    time.Time // paused until then
	pausedAt time.Time // when the failure that set until was reported
	probing  bool      // a probe is in flight
	probeSeq uint64    // the number of the latest probe let through
	lastErr  string
}

// Probe is the one request a paused gate lets through; the zero Probe is none.
type Probe struct {
	g   *Gate
	seq uint64
}

// Probing reports whether p is a probe.
func (p Probe) Probing() bool { return p.g != nil }

// End ends probe p if it neither succeeded nor failed transiently (it found no work, or the
// file itself was the problem): the next caller may probe again. It ends only p: a probe that
// failed has already made way for the next one, and the end of its job, reported late (after
// a journal commit), must not let a second probe through beside that next one.
func (p Probe) End() {
	if p.g == nil {
		return
	}
	g := p.g
	g.mu.Lock()
	was := g.probing && g.probeSeq == p.seq
	if was {
		g.probing = false
	}
	g.mu.Unlock()
	if was {
		g.changed()
	}
}

// Allowance returns how many requests may start now out of want, the probe if that one
// request is one (its end is reported with Probe.End), and when to ask again if none may. A
// destination that is paused admits nothing; one past its pause admits one probe.
func (g *Gate) Allowance(now time.Time, want int) (n int, probe Probe, retryAt time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.failures == 0:
		return want, Probe{}, time.Time{}
	case now.Before(g.until):
		return 0, Probe{}, g.until
	case g.probing:
		return 0, Probe{}, time.Time{} // the probe's result wakes the caller
	default:
		g.probing = true
		g.probeSeq++
		return 1, Probe{g: g, seq: g.probeSeq}, time.Time{}
	}
}

// Succeeded reopens the destination: it answered.
func (g *Gate) Succeeded() {
	g.mu.Lock()
	was := g.failures != 0 || g.probing
	g.failures, g.probing, g.until, g.lastErr = 0, false, time.Time{}, ""
	g.pausedAt = time.Time{}
	g.mu.Unlock()
	if was {
		g.changed()
	}
}

func (g *Gate) changed() {
	if g.Notify != nil {
		g.Notify()
	}
}

// Failed reports a transient failure of a request admitted at admitted (zero: now), and
// returns when the destination may be tried again. Only a failure that tells something new
// pauses the destination or lengthens its pause: the first failure while it is up, or the
// failure of a request admitted after the pause began, which is its probe (while paused,
// only probes are admitted). A request admitted before the pause (a worker waiting on the
// same token fetch, another connection refused by the same outage) shares the cause of the
// failure that paused it: it is told when to retry, and changes nothing. So a pause follows
// the destination's probes, never the number of workers that saw one failure, and never
// grows without a probe having failed.
func (g *Gate) Failed(admitted, now time.Time, err error) time.Time {
	if admitted.IsZero() {
		admitted = now
	}
	g.mu.Lock()
	counts := g.failures == 0 || admitted.After(g.pausedAt)
	if counts {
		g.failures++
		g.probing = false
		g.until = now.Add(g.backoff.Delay(g.failures, failure.RetryAfter(err)))
		g.pausedAt = now
		g.lastErr = redact.String(err.Error())
	}
	until := g.until
	g.mu.Unlock()
	if counts {
		g.changed()
	}
	return until
}

// New returns an open gate whose pauses follow b.
func New(b failure.Backoff) *Gate { return &Gate{backoff: b} }

// Pause returns the consecutive failures counted and the end of the current pause (zero if
// the destination is up).
func (g *Gate) Pause() (failures int, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failures, g.until
}

// Health is a destination's state for status displays (status --json: camelCase like the
// rest of the control API; pausedFor in nanoseconds, as every duration there).
type Health struct {
	Up        bool          `json:"up"`
	Failures  int           `json:"failures"`
	PausedFor time.Duration `json:"pausedFor"`
	LastError string        `json:"lastError,omitempty"`
}

func (g *Gate) Health(now time.Time) Health {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := Health{Up: g.failures == 0, Failures: g.failures, LastError: g.lastErr}
	if now.Before(g.until) {
		h.PausedFor = g.until.Sub(now)
	}
	return h
}

// What a failed remote call means for the work it carried: the one decision every lane
// (upload, events, transcripts, forwards) applies to the error of a remote call.
type Verdict int

const (
	// Stop: the daemon is shutting down; the work stays due and nothing is recorded.
	Stop Verdict = iota
	// Hold: the destination answered and refused this work; only this work is held.
	Hold
	// RetryAt: the destination failed transiently; it is paused, the work retried at the end.
	RetryAt
)

// Outcome is a verdict, with when to retry for RetryAt.
type Outcome struct {
	Verdict
	At time.Time
}

// Judge turns the error of a call the gate admitted (ctx carries when) into an outcome, and
// updates the gate: a refusal is an answer (the destination is up), a transient failure
// pauses it (see Failed).
func (g *Gate) Judge(ctx context.Context, now time.Time, err error) Outcome {
	switch failure.Classify(err) {
	case failure.Canceled:
		return Outcome{Verdict: Stop}
	case failure.Permanent:
		g.Succeeded()
		return Outcome{Verdict: Hold}
	default:
		return Outcome{Verdict: RetryAt, At: g.Failed(AdmittedAt(ctx), now, err)}
	}
}

// Paused logs a transient failure that paused the destination until o.At.
func (o Outcome) Paused(l logrus.FieldLogger, err error, msg string) {
	l.WithError(err).WithField("retry_at", o.At.Format(time.RFC3339)).Warn(msg)
}

// admittedKey is the context key of the time a request was admitted by the gates.
type admittedKey struct{}

// WithAdmitted records in ctx when the gates admitted the requests made under it.
func WithAdmitted(ctx context.Context, at time.Time) context.Context {
	return context.WithValue(ctx, admittedKey{}, at)
}

// AdmittedAt is when the requests of ctx were admitted; zero if not recorded.
func AdmittedAt(ctx context.Context) time.Time {
	at, _ := ctx.Value(admittedKey{}).(time.Time)
	return at
}

// Admission is what a journal gate and a destination gate allow together: N requests, and
// whether the one request is a probe of a paused destination or of a failing journal (its
// end must be reported with Release).
type Admission struct {
	N             int
	probe, jprobe Probe
	At            time.Time // when it was given: a failure of its requests is judged by it (Gate.Failed)
}

// Admit asks the journal's gate jg, then the destination's g, how many of want requests may
// start now, and when to ask again if none may.
func Admit(jg, g *Gate, now time.Time, want int) (Admission, time.Time) {
	n, jprobe, retryAt := jg.Allowance(now, want)
	if n == 0 {
		return Admission{}, retryAt
	}
	m, probe, retryAt := g.Allowance(now, n)
	if m == 0 {
		jprobe.End()
		return Admission{}, retryAt
	}
	return Admission{N: m, probe: probe, jprobe: jprobe, At: now}, time.Time{}
}

// Probe reports whether the admission is a probe of either gate.
func (a Admission) Probe() bool { return a.probe.Probing() || a.jprobe.Probing() }

// Release ends the probes an admission carried.
func (a Admission) Release() {
	a.probe.End()
	a.jprobe.End()
}
