package control

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Only a socket is ever replaced: a file at the socket's path (a journal, by mistake) makes
// Listen fail and stays as it was.
func TestListenNeverRemovesWhatIsNotASocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.db")
	if err := os.WriteFile(path, []byte("history"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, filepath.Join(dir, "folder")} {
		s, err := Listen(p)
		if err == nil {
			s.Close()
			t.Fatalf("Listen(%s) succeeded", p)
		}
		if !strings.Contains(err.Error(), "not a socket") {
			t.Errorf("Listen(%s): %v, want it to say it is not a socket", p, err)
		}
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "history" {
		t.Fatalf("the file at the socket's path changed: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "folder")); err != nil {
		t.Fatal(err)
	}
}

// A socket that cannot be bound is an error at Listen, with the reason.
func TestListenReportsWhyTheSocketCannotBeMade(t *testing.T) {
	_, err := Listen(filepath.Join(t.TempDir(), "missing", "control.sock"))
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Fatalf("Listen in a missing folder: %v", err)
	}
}

// A stale socket is replaced, and the daemon's own socket is removed when it stops, but not
// a file that replaced it meanwhile.
func TestSocketRemovesOnlyItsOwnFile(t *testing.T) {
	svc, _ := newService(t)
	path := filepath.Join(t.TempDir(), "control.sock")
	s, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	s.ln.Close() // as a crash leaves it: the file stays
	if s, err = Listen(path); err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Serve(ctx, svc, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("socket left after Serve: %v", err)
	}

	if s, err = Listen(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if b, err := os.ReadFile(path); err != nil || string(b) != "someone else's" {
		t.Fatalf("Close removed a file that is not its socket: %q, %v", b, err)
	}
}

// A custody report that fails part-way is never received as a whole one.
func TestReportThatFailsPartWayIsCutOffNotEndedEarly(t *testing.T) {
	svc, _ := newService(t)
	fail := errors.New("page fault reading the journal")
	srv := httptest.NewServer(Handler(&Service{J: svc.J, reportFault: func() error { return fail }}, nil))
	defer srv.Close()
	for _, format := range []string{"csv", "json"} {
		resp, err := http.Get(srv.URL + "/report?format=" + format)
		if err != nil {
			continue // cut off before the headers: the client has an error, not a report
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK {
			t.Fatalf("%s: a report whose journal read failed after its first row arrived whole (200, no error):\n%s", format, body)
		}
	}
}
