package archive

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/journal"
)

// fakeGR is a Global Relay on loopback whose answers the test decides.
type fakeGR struct {
	token func(w http.ResponseWriter, r *http.Request)
	put   func(w http.ResponseWriter, r *http.Request)
	puts  atomic.Int32
}

func (f *fakeGR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/oauth2/token" {
		if f.token != nil {
			f.token(w, r)
			return
		}
		fmt.Fprint(w, `{"access_token":"fake-gr-token-0123456789","token_type":"Bearer","expires_in":300}`)
		return
	}
	f.puts.Add(1)
	f.put(w, r)
}

// newFake is a harness whose pipeline talks to f, with the given workers and backoff; start
// it with h.start(c).
func newFake(t *testing.T, f *fakeGR, workers int, b failure.Backoff) (*harness, *globalrelay.Client) {
	t.Helper()
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	h := newHarness(t, func(o *Options, _ *sandbox.Options) { o.Workers, o.Backoff = workers, b })
	c, err := globalrelay.New(globalrelay.Options{BaseURL: ts.URL + "/v2", TokenURL: ts.URL + "/oauth2/token", Credentials: testCreds})
	if err != nil {
		t.Fatal(err)
	}
	return h, c
}

// startFake is newFake, started.
func startFake(t *testing.T, f *fakeGR, workers int, b failure.Backoff) *harness {
	t.Helper()
	h, c := newFake(t, f, workers, b)
	h.start(c)
	return h
}

func (h *harness) failedOnce(rel string) bool {
	fp, ok, err := h.j.Current("teams", rel)
	if err != nil || !ok {
		return false
	}
	r, err := h.j.Get(fp.ID)
	return err == nil && r.LastError != ""
}

// Eight workers waiting on one token fetch that fails are one failure: the archive's backoff
// rises one step, not eight.
func TestWorkersFailingOnOneTokenFetchRaiseBackoffOneStep(t *testing.T) {
	const workers = 4
	var h *harness
	f := &fakeGR{put: func(w http.ResponseWriter, r *http.Request) { t.Error("a PUT was sent without a token") }}
	var tokenRequests atomic.Int32
	f.token = func(w http.ResponseWriter, r *http.Request) {
		tokenRequests.Add(1)
		// Answer only once every PUT slot is taken: all workers wait on this token.
		deadline := time.Now().Add(10 * time.Second)
		for h.p.uploader.PutsInFlight() < workers && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		http.Error(w, "token service unavailable", http.StatusServiceUnavailable)
	}
	h, c := newFake(t, f, workers, failure.Backoff{Min: time.Minute, Max: time.Hour})
	var rels []string
	for i := range 2 * workers { // every worker gets one, half of them wait for a PUT slot
		rel := fmt.Sprintf("f%d.txt", i)
		h.drop(rel, []byte(rel))
		rels = append(rels, rel)
	}
	h.start(c)
	await(t, "every file to fail once", func() bool {
		for _, rel := range rels {
			if !h.failedOnce(rel) {
				return false
			}
		}
		return true
	})
	hl := h.p.Health()
	if hl.Failures != 1 || hl.PausedFor > time.Minute {
		t.Fatalf("after %d token requests the archive has %d failures, paused for %s: want 1 failure, a pause of one step (1m)",
			tokenRequests.Load(), hl.Failures, hl.PausedFor)
	}
}

// A request that was under way when the archive was paused and fails during the pause
// neither counts as another failure nor lengthens the pause.
func TestFailureDuringPauseDoesNotLengthenIt(t *testing.T) {
	release := make(chan struct{})
	slowSeen := make(chan struct{})
	var once sync.Once
	f := &fakeGR{put: func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow.txt") {
			once.Do(func() { close(slowSeen) })
			<-release
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}}
	h := startFake(t, f, 2, failure.Backoff{Min: time.Minute, Max: time.Hour})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	h.drop("slow.txt", []byte("slow"))
	<-slowSeen
	h.drop("fast.txt", []byte("fast"))
	await(t, "the fast file to fail", func() bool { return h.failedOnce("fast.txt") })
	_, first := h.p.gate.Pause()

	close(release)
	await(t, "the slow file to fail", func() bool { return h.failedOnce("slow.txt") })
	failures, after := h.p.gate.Pause()
	if failures != 1 || !after.Equal(first) {
		t.Fatalf("a failure reported during the pause made %d failures and moved the pause from %s to %s",
			failures, first.Format(time.StampMilli), after.Format(time.StampMilli))
	}
	slow := h.record("slow.txt")
	if next, ok := slow.Due(journal.LanePut); !ok || !next.Equal(first) {
		t.Fatalf("slow file due at %s (pending: %v), want the pause's end %s", next, ok, first)
	}
}

// Only failed probes grow the pause: a burst of failures while the archive was up is one
// step, then every probe that fails is one more.
func TestOnlyFailedProbesGrowThePause(t *testing.T) {
	const workers = 4
	burst := make(chan struct{})
	hang := make(chan struct{})
	var arrived atomic.Int32
	f := &fakeGR{put: func(w http.ResponseWriter, r *http.Request) {
		switch n := arrived.Add(1); {
		case n < workers:
			<-burst
		case n == workers:
			close(burst) // all workers are in flight: fail them together
		case n > workers+3:
			<-hang // the fourth probe: stop here and look
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}}
	h := startFake(t, f, workers, failure.Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond})
	defer close(hang)
	for i := range workers {
		h.drop(fmt.Sprintf("f%d.txt", i), []byte{byte(i)})
	}
	await(t, "three probes after the burst", func() bool { return arrived.Load() > workers+3 })
	if got := h.p.Health().Failures; got != 4 {
		t.Fatalf("%d failures after a burst of %d and 3 failed probes: want 4 (1 for the burst, 1 per probe)", got, workers)
	}
}
