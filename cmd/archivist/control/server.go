package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/archivist-project/archivist/journal"
)

// Serve serves svc on the unix socket at path until ctx ends; see Listen. metrics, if not
// nil, is served at /metrics.
func Serve(ctx context.Context, path string, svc *Service, metrics http.Handler) error {
	s, err := Listen(path)
	if err != nil {
		return err
	}
	return s.Serve(ctx, svc, metrics)
}

// Socket is a bound control socket, not served yet.
type Socket struct {
	path string
	ln   *net.UnixListener
	fi   fs.FileInfo // the socket file Listen made, so that only it is removed at the end
}

// Listen binds the unix socket at path (mode 0660 with group OperatorGroup when that group
// exists, else 0600: see setSocketAccess), so that a daemon that cannot offer its
// control socket fails at start with the reason. A socket left by a crash is replaced; a
// socket another daemon answers on is not, and neither is anything that is not a socket (a
// journal, say): it is never removed.
func Listen(path string) (*Socket, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another archivist is answering on it", path)
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.SetUnlinkOnClose(false) // Close removes the file only if it is still this socket
	s := &Socket{path: path, ln: ln}
	if s.fi, err = os.Lstat(path); err != nil {
		s.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if _, err := setSocketAccess(path, lookupGroup); err != nil {
		s.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return s, nil
}

// removeStaleSocket removes the socket file at path, if there is one; anything else there
// is an error.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("control socket: %w", err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("control socket %s: the path exists and is not a socket (%s); it is left alone: choose another control.socket", path, fileType(fi))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket: remove the stale socket: %w", err)
	}
	return nil
}

func fileType(fi fs.FileInfo) string {
	switch t := fi.Mode().Type(); {
	case t == 0:
		return "a regular file"
	case t&fs.ModeDir != 0:
		return "a folder"
	case t&fs.ModeSymlink != 0:
		return "a symlink"
	default:
		return "mode " + t.String()
	}
}

// Close stops listening and removes the socket file if it is still the one Listen made.
func (s *Socket) Close() error {
	err := s.ln.Close()
	if fi, lerr := os.Lstat(s.path); lerr == nil && s.fi != nil && os.SameFile(fi, s.fi) {
		if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// Serve serves svc until ctx ends, then closes the socket.
func (s *Socket) Serve(ctx context.Context, svc *Service, metrics http.Handler) error {
	srv := &http.Server{Handler: Handler(svc, metrics), ReadHeaderTimeout: 10 * time.Second}
	err := ServeUntil(ctx, srv, func() error { return srv.Serve(s.ln) })
	if cerr := s.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		return errors.Join(err, fmt.Errorf("control socket: %w", cerr))
	}
	return err
}

// Handler is the control API: JSON in and out, errors as {"error": "..."}.
func Handler(svc *Service, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		reply(w, func() (any, error) { return svc.Status(r.Context()) })
	})
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit"))
		f := Filter{State: journal.State(q.Get("state")), Watch: q.Get("watch"), Destination: q.Get("destination"),
			All: q.Get("all") == "true", Limit: limit}
		reply(w, func() (any, error) { return svc.Queue(r.Context(), f) })
	})
	mux.HandleFunc("GET /unresolved", func(w http.ResponseWriter, r *http.Request) {
		reply(w, func() (any, error) { return svc.Unresolved(r.Context()) })
	})
	mux.HandleFunc("GET /show", func(w http.ResponseWriter, r *http.Request) {
		reply(w, func() (any, error) { return svc.Show(r.Context(), r.URL.Query().Get("ref")) })
	})
	mux.HandleFunc("POST /retry", withBody(func(r *http.Request, req RetryRequest) (any, error) { return svc.Retry(r.Context(), req) }))
	mux.HandleFunc("POST /dismiss", withBody(func(r *http.Request, req DismissRequest) (any, error) { return svc.Dismiss(r.Context(), req) }))
	mux.HandleFunc("POST /reconcile", func(w http.ResponseWriter, r *http.Request) {
		replyWithHeartbeat(w, func() (any, error) { return svc.Reconcile(r.Context(), r.URL.Query().Get("verify") == "all") })
	})
	mux.HandleFunc("POST /journal/compact", func(w http.ResponseWriter, r *http.Request) {
		var req CompactRequest
		if decodeBody(w, r, &req) {
			replyWithHeartbeat(w, func() (any, error) { return svc.CompactJournal(r.Context(), req) })
		}
	})
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) { streamReport(w, r, svc) })
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return mux
}

// withBody decodes a request's JSON body into a Req and replies with what f returns.
func withBody[Req any](f func(r *http.Request, req Req) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if decodeBody(w, r, &req) {
			reply(w, func() (any, error) { return f(r, req) })
		}
	}
}

// decodeBody decodes a request's JSON body (64 KiB at most) into v; on failure it has
// answered 400 and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

// streamReport streams the custody report. A report that fails part-way must never read as
// a whole one: before the first byte the failure is an error reply; after it the response
// is aborted, so the client sees the stream cut off, not a report that ends early.
func streamReport(w http.ResponseWriter, r *http.Request, svc *Service) {
	q, err := parseReportQuery(r.URL.Query().Get("since"), r.URL.Query().Get("until"), r.URL.Query().Get("format"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	if q.Format == "json" {
		w.Header().Set("Content-Type", "application/x-ndjson")
	} else {
		w.Header().Set("Content-Type", "text/csv")
	}
	out := &countingWriter{w: w}
	if err := svc.Report(r.Context(), out, q); err != nil {
		if out.n == 0 {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		panic(http.ErrAbortHandler)
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func reply(w http.ResponseWriter, f func() (any, error)) {
	v, err := f()
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, journal.ErrNotFound) {
			status = http.StatusNotFound
		}
		writeErr(w, status, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Heartbeat is how often a long call (reconcile) shows it is alive while it works: a client
// that waits longer than this without a byte knows the daemon does not answer.
const Heartbeat = 250 * time.Millisecond

// replyWithHeartbeat is reply for a call that may take long: the status line goes out at
// once, then a space (which JSON skips) every Heartbeat until the result, or {"error": ...}.
func replyWithHeartbeat(w http.ResponseWriter, f func() (any, error)) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return // the client is gone
	}
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	t := time.NewTicker(Heartbeat)
	defer t.Stop()
	for {
		select {
		case res := <-done:
			v := res.v
			if res.err != nil {
				v = map[string]string{"error": res.err.Error()}
			}
			json.NewEncoder(w).Encode(v)
			return
		case <-t.C:
			if _, err := w.Write([]byte(" ")); err != nil {
				<-done // the client is gone: its context ends f
				return
			}
			rc.Flush()
		}
	}
}

func writeErr(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// parseReportQuery reads --since/--until as RFC 3339 times or dates (2026-11-01).
func parseReportQuery(since, until, format string) (ReportQuery, error) {
	q := ReportQuery{Format: format}
	var err error
	if q.Since, err = parseWhen(since); err != nil {
		return q, fmt.Errorf("since: %w", err)
	}
	if q.Until, err = parseWhen(until); err != nil {
		return q, fmt.Errorf("until: %w", err)
	}
	return q, nil
}

func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02) or RFC 3339 time", s)
}
