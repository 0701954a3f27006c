// Package notify is the notification lane: JSON POSTs to a webhook when a file is held, when
// reconciliation finds files on disk the archive does not account for, and when a destination
// has been down longer than a threshold. It has its own queue and goroutine, and nothing it
// does can block archiving: Send never waits, a full queue drops the event (counted and
// logged), and a webhook that is slow or down only delays its own retries.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Event kinds.
const (
	FileHeld        = "file_held"
	Unexplained     = "reconciliation_unexplained"
	DestinationDown = "destination_down"
	DestinationUp   = "destination_up"
)

// Event is one notification, the JSON body of the POST.
type Event struct {
	Event string    `json:"event"`
	Time  time.Time `json:"time"`
	Host  string    `json:"host"`
	// file_held
	ID     uint64 `json:"id,omitempty"`
	Watch  string `json:"watch,omitempty"`
	Path   string `json:"path,omitempty"`
	Reason string `json:"reason,omitempty"`
	// reconciliation_unexplained
	Unexplained int      `json:"unexplained,omitempty"`
	OnDisk      int      `json:"onDisk,omitempty"`
	Examples    []string `json:"examples,omitempty"`
	// destination_down, destination_up
	Destination string    `json:"destination,omitempty"`
	DownSince   time.Time `json:"downSince,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
}

// Options configure a Notifier.
type Options struct {
	URL    string // the webhook
	Secret []byte // if set, X-Archivist-Signature: sha256=<HMAC-SHA256 of the body>
	// Queue bounds the events waiting to be sent (default 1000).
	Queue int
	// Attempts bounds the tries of one event (default 8); MaxDelay the wait between two
	// (default 5m, doubling from 1s).
	Attempts int
	MinDelay time.Duration
	MaxDelay time.Duration
	Client   *http.Client // default: 10s timeout
	Logger   *logrus.Logger
}

// Notifier sends events to the webhook from its own goroutine (Run).
type Notifier struct {
	o       Options
	queue   chan Event
	host    string
	dropped atomic.Int64
	sent    atomic.Int64
	failed  atomic.Int64
}

// New returns a Notifier; Run sends what Send queues.
func New(o Options) *Notifier {
	if o.Queue <= 0 {
		o.Queue = 1000
	}
	if o.Attempts <= 0 {
		o.Attempts = 8
	}
	if o.MinDelay <= 0 {
		o.MinDelay = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 5 * time.Minute
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = logrus.New()
		o.Logger.SetOutput(io.Discard)
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return &Notifier{o: o, queue: make(chan Event, o.Queue), host: host}
}

// Send queues e without waiting. A full queue drops it: notifications must never hold up
// the archive.
func (n *Notifier) Send(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	e.Host = n.host
	select {
	case n.queue <- e:
	default:
		if n.dropped.Add(1) == 1 || n.dropped.Load()%100 == 0 {
			n.o.Logger.WithField("dropped", n.dropped.Load()).Warn("notifications: the queue is full, events dropped")
		}
	}
}

// Stats are the counts of sent, failed (given up) and dropped events.
func (n *Notifier) Stats() (sent, failed, dropped int64) {
	return n.sent.Load(), n.failed.Load(), n.dropped.Load()
}

// Run sends queued events until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-n.queue:
			n.deliver(ctx, e)
		}
	}
}

// deliver tries e until the webhook answers 2xx, Attempts run out or ctx ends.
func (n *Notifier) deliver(ctx context.Context, e Event) {
	body, err := json.Marshal(e)
	if err != nil {
		n.o.Logger.WithError(err).Error("notifications: encode")
		return
	}
	delay := n.o.MinDelay
	for attempt := 1; ; attempt++ {
		err := n.post(ctx, body)
		if err == nil {
			n.sent.Add(1)
			return
		}
		if attempt >= n.o.Attempts || ctx.Err() != nil {
			n.failed.Add(1)
			n.o.Logger.WithError(err).WithFields(logrus.Fields{"event": e.Event, "attempts": attempt}).Warn("notifications: gave up on an event")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, n.o.MaxDelay)
	}
}

func (n *Notifier) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.o.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "archivist-notify/1")
	if len(n.o.Secret) > 0 {
		mac := hmac.New(sha256.New, n.o.Secret)
		mac.Write(body)
		req.Header.Set("X-Archivist-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := n.o.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // only the status matters
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
