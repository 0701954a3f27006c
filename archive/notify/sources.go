package notify

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"
)

// HeldHook is a logrus hook that turns every "file held" warning of the daemon (one per file
// held: intake, upload, transcripts) into a file_held event.
type HeldHook struct{ N *Notifier }

func (h HeldHook) Levels() []logrus.Level { return []logrus.Level{logrus.WarnLevel} }

func (h HeldHook) Fire(e *logrus.Entry) error {
	if e.Message != "file held" {
		return nil
	}
	ev := Event{Event: FileHeld, Time: e.Time.UTC()}
	ev.Watch, _ = e.Data["watch"].(string)
	ev.Path, _ = e.Data["path"].(string)
	ev.Reason, _ = e.Data["reason"].(string)
	switch id := e.Data["id"].(type) {
	case uint64:
		ev.ID = id
	case int:
		ev.ID = uint64(id)
	}
	h.N.Send(ev)
	return nil
}

// Health is a destination's state as the pipeline reports it.
type Health struct {
	Up        bool
	LastError string
}

// Reconciliation is the last reconciliation's outcome.
type Reconciliation struct {
	Time        time.Time
	OnDisk      int
	Unexplained int
	Examples    []string
}

// Watch polls the daemon's state every interval until ctx ends: a destination down for
// longer than downAfter is reported once (and again when it is back up), and each new
// reconciliation with unexplained files once.
func (n *Notifier) Watch(ctx context.Context, interval, downAfter time.Duration,
	health func() map[string]Health, last func() (Reconciliation, bool)) {
	downSince := map[string]time.Time{}
	reported := map[string]bool{}
	var seen time.Time
	if r, ok := last(); ok {
		seen = r.Time // only reconciliations from now on
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n.checkHealth(now, downAfter, health(), downSince, reported)
			if r, ok := last(); ok && r.Time.After(seen) {
				seen = r.Time
				if r.Unexplained > 0 {
					n.Send(Event{Event: Unexplained, Unexplained: r.Unexplained, OnDisk: r.OnDisk, Examples: r.Examples})
				}
			}
		}
	}
}

func (n *Notifier) checkHealth(now time.Time, downAfter time.Duration, hs map[string]Health, downSince map[string]time.Time, reported map[string]bool) {
	for name, h := range hs {
		since, down := downSince[name]
		switch {
		case h.Up && reported[name]:
			n.Send(Event{Event: DestinationUp, Destination: name, DownSince: since})
			delete(reported, name)
			delete(downSince, name)
		case h.Up:
			delete(downSince, name)
		case !down:
			downSince[name] = now
		case !reported[name] && now.Sub(since) >= downAfter:
			reported[name] = true
			n.Send(Event{Event: DestinationDown, Destination: name, DownSince: since.UTC(), LastError: h.LastError})
		}
	}
}
