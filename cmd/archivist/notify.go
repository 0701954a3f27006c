package main

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive"
	"github.com/archivist-project/archivist/archive/notify"
	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
)

// notifyPoll is how often the notification lane looks at destination health and the last
// reconciliation.
const notifyPoll = 10 * time.Second

// startNotify starts the notification lane (notify.webhook_url) until ctx ends and returns
// a function that stops it and waits for its goroutines; off, it starts nothing. Events still
// queued at shutdown are not sent.
func startNotify(ctx context.Context, cfg *config.Config, p *archive.Pipeline, j *journal.DB, log *logrus.Logger) (wait func()) {
	if cfg.Notify.WebhookURL == "" {
		return func() {}
	}
	n := notify.New(notify.Options{URL: cfg.Notify.WebhookURL, Secret: []byte(cfg.Notify.Secret.Reveal()), Logger: log})
	log.AddHook(notify.HeldHook{N: n})
	health := func() map[string]notify.Health {
		out := map[string]notify.Health{"globalrelay": {Up: p.Health().Up, LastError: p.Health().LastError}}
		for name, h := range p.DestinationHealth() {
			out[name] = notify.Health{Up: h.Up, LastError: h.LastError}
		}
		return out
	}
	last := func() (notify.Reconciliation, bool) {
		s, err := archive.LastReconciliation(j)
		if err != nil || s == nil { // a summary that does not decode is reported by status
			return notify.Reconciliation{}, false
		}
		return notify.Reconciliation{Time: s.Time, OnDisk: s.OnDisk, Unexplained: s.Unexplained, Examples: s.Examples}, true
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); n.Run(ctx) }()
	go func() { defer wg.Done(); n.Watch(ctx, notifyPoll, cfg.Notify.DownAfter.Std(), health, last) }()
	log.WithField("url", cfg.Notify.WebhookURL).Info("notifications on")
	return func() { cancel(); wg.Wait() }
}
