package control

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Serve returns only once the requests in flight have finished: the daemon closes its
// journal right after, and a handler still running would read a closed journal. Before,
// Serve returned as soon as the listener closed, with the handler still at work.
func TestServeWaitsForRequestsInFlight(t *testing.T) {
	svc, _ := newService(t)
	sock := filepath.Join(t.TempDir(), "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	entered := make(chan struct{})
	var finished atomic.Bool
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-ctx.Done()                       // the daemon is stopping...
		time.Sleep(200 * time.Millisecond) // ...while this request still reads the journal
		finished.Store(true)
	})
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, sock, svc, slow) }()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	got := make(chan error, 1)
	go func() {
		var resp *http.Response
		var err error
		for i := 0; i < 500; i++ { // the socket appears once Serve has bound it
			if resp, err = client.Get("http://archivist/metrics"); err == nil {
				resp.Body.Close()
				break
			}
			select {
			case <-entered:
				got <- err
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		got <- err
	}()
	select {
	case <-entered:
	case err := <-got:
		t.Fatalf("the request never reached the handler: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Serve returned while a request was still being handled")
	}
	<-got
}
