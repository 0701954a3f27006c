package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/notify"
)

// receiver is a loopback webhook that records what it accepts and fails the first fails
// requests with 500.
type receiver struct {
	mu     sync.Mutex
	events []notify.Event
	sigs   []string
	bodies [][]byte
	fails  int
	calls  int
	srv    *httptest.Server
}

func newReceiver(t *testing.T, fails int) *receiver {
	r := &receiver{fails: fails}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls++
		if r.calls <= r.fails {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var e notify.Event
		if err := json.Unmarshal(body, &e); err != nil || req.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.events, r.sigs, r.bodies = append(r.events, e), append(r.sigs, req.Header.Get("X-Archivist-Signature")), append(r.bodies, body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) await(t *testing.T, n int) []notify.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		got := append([]notify.Event(nil), r.events...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events of %d arrived", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func start(t *testing.T, o notify.Options) *notify.Notifier {
	n := notify.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return n
}

func TestDeliveredSignedAndRetried(t *testing.T) {
	r := newReceiver(t, 2)
	secret := []byte("shared-webhook-secret")
	n := start(t, notify.Options{URL: r.srv.URL, Secret: secret, MinDelay: time.Millisecond})
	n.Send(notify.Event{Event: notify.FileHeld, ID: 7, Watch: "teams", Path: "a.pdf", Reason: "a symlink"})
	got := r.await(t, 1)
	if e := got[0]; e.Event != notify.FileHeld || e.ID != 7 || e.Path != "a.pdf" || e.Host == "" || e.Time.IsZero() {
		t.Fatalf("event %+v", e)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(r.bodies[0])
	if r.sigs[0] != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q", r.sigs[0])
	}
	if r.calls != 3 {
		t.Errorf("%d calls, want 2 failures and 1 success", r.calls)
	}
	if sent, failed, dropped := n.Stats(); sent != 1 || failed != 0 || dropped != 0 {
		t.Errorf("stats %d %d %d", sent, failed, dropped)
	}
}

// A webhook that never answers does not slow Send down: events beyond the queue are dropped.
func TestNeverBlocks(t *testing.T) {
	stuck := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stuck }))
	t.Cleanup(func() { close(stuck); srv.Close() })
	n := start(t, notify.Options{URL: srv.URL, Queue: 10, Client: &http.Client{Timeout: time.Minute}})
	begin := time.Now()
	for i := range 10_000 {
		n.Send(notify.Event{Event: notify.FileHeld, ID: uint64(i)})
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Fatalf("10,000 sends to a stuck webhook took %s", took)
	}
	if _, _, dropped := n.Stats(); dropped < 9000 {
		t.Errorf("dropped %d", dropped)
	}
}

func TestGivesUp(t *testing.T) {
	r := newReceiver(t, 1000)
	n := start(t, notify.Options{URL: r.srv.URL, Attempts: 3, MinDelay: time.Millisecond})
	n.Send(notify.Event{Event: notify.FileHeld})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, failed, _ := n.Stats(); failed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never gave up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r.calls != 3 {
		t.Errorf("%d calls, want 3", r.calls)
	}
}

func TestHeldHook(t *testing.T) {
	r := newReceiver(t, 0)
	n := start(t, notify.Options{URL: r.srv.URL})
	log := logrus.New()
	log.SetOutput(io.Discard)
	log.AddHook(notify.HeldHook{N: n})
	log.WithFields(logrus.Fields{"id": uint64(12), "watch": "teams", "path": "x/y.pdf", "reason": "permission denied"}).Warn("file held")
	log.WithField("path", "z").Warn("something else")
	log.WithField("path", "z").Info("file held") // not a warning: not a hold
	n.Send(notify.Event{Event: "sentinel"})      // one worker sends in order: it comes right after
	got := r.await(t, 2)
	if len(got) != 2 || got[0].ID != 12 || got[0].Reason != "permission denied" || got[0].Watch != "teams" || got[1].Event != "sentinel" {
		t.Fatalf("events %+v", got)
	}
}

func TestWatchDownAndUnexplained(t *testing.T) {
	r := newReceiver(t, 0)
	n := start(t, notify.Options{URL: r.srv.URL})
	var mu sync.Mutex
	up := true
	recon := notify.Reconciliation{Time: time.Now()}
	health := func() map[string]notify.Health {
		mu.Lock()
		defer mu.Unlock()
		return map[string]notify.Health{"globalrelay": {Up: up, LastError: "503 Service Unavailable"}}
	}
	last := func() (notify.Reconciliation, bool) { mu.Lock(); defer mu.Unlock(); return recon, true }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Watch(ctx, 5*time.Millisecond, 30*time.Millisecond, health, last)

	mu.Lock()
	up = false
	mu.Unlock()
	if e := r.await(t, 1)[0]; e.Event != notify.DestinationDown || e.Destination != "globalrelay" || e.LastError == "" {
		t.Fatalf("event %+v", e)
	}
	mu.Lock()
	up = true
	recon = notify.Reconciliation{Time: time.Now(), OnDisk: 10, Unexplained: 2, Examples: []string{"teams:a", "teams:b"}}
	mu.Unlock()
	got := r.await(t, 3)
	kinds := map[string]bool{}
	for _, e := range got {
		kinds[e.Event] = true
	}
	if !kinds[notify.DestinationUp] || !kinds[notify.Unexplained] || len(got) != 3 {
		t.Fatalf("events %+v", got)
	}
}
