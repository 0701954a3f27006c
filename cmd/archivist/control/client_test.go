package control

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive"
)

// A daemon that takes the connection but never answers (stopped with SIGSTOP: the kernel
// still queues connections) fails every call after the timeout, saying so.
func TestClientGivesUpOnADaemonThatDoesNotAnswer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	ln, err := net.Listen("unix", sock) // never accepts, like a stopped process
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := Dial(sock, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Status(context.Background())
	var na *NoAnswerError
	if !errors.As(err, &na) || !strings.Contains(err.Error(), "the daemon at "+sock+" does not answer") {
		t.Fatalf("Status: %v, want a *NoAnswerError", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %s, want about 1s", d)
	}
}

// A call that takes longer than the timeout, but whose daemon shows it is alive, completes.
func TestClientWaitsForALongCallWithHeartbeats(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reconcile", func(w http.ResponseWriter, r *http.Request) {
		replyWithHeartbeat(w, func() (any, error) {
			time.Sleep(2500 * time.Millisecond) // the work itself is slow
			return &archive.Summary{OnDisk: 3}, nil
		})
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	c, err := Dial(sock, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Reconcile(context.Background(), false)
	if err != nil || sum.OnDisk != 3 {
		t.Fatalf("Reconcile: %+v, %v", sum, err)
	}
}
