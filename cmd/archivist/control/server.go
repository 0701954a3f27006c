package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/archivist-project/archivist/journal"
)

// Serve serves svc on the unix socket at path (mode 0600) until ctx ends. A stale socket file
// left by a crash is replaced; a socket another daemon answers on is not. metrics, if not
// nil, is served at /metrics.
func Serve(ctx context.Context, path string, svc *Service, metrics http.Handler) error {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another archivist is answering on it", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("control socket: %w", err)
	}
	srv := &http.Server{Handler: Handler(svc, metrics), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	err = srv.Serve(ln)
	os.Remove(path)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
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
	mux.HandleFunc("GET /show", func(w http.ResponseWriter, r *http.Request) {
		reply(w, func() (any, error) { return svc.Show(r.Context(), r.URL.Query().Get("ref")) })
	})
	mux.HandleFunc("POST /retry", func(w http.ResponseWriter, r *http.Request) {
		var req RetryRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		reply(w, func() (any, error) { return svc.Retry(r.Context(), req) })
	})
	mux.HandleFunc("POST /reconcile", func(w http.ResponseWriter, r *http.Request) {
		reply(w, func() (any, error) { return svc.Reconcile(r.Context(), r.URL.Query().Get("verify") == "all") })
	})
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
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
		// Errors after the first row can only end the stream; the client sees it truncated.
		_ = svc.Report(r.Context(), w, q)
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return mux
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
