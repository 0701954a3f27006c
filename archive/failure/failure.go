// Package failure is the one failure model of archivist: every remote call's error is
// classified here as transient, authentication or permanent, and every retry delay is
// computed here. Clients of remote APIs build their non-2xx errors with NewHTTPError so
// that the classification never depends on which API answered.
//
// It does not retry anything itself: the pipeline decides what to do with a class.
package failure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/redact"
)

// Class is what the pipeline should do about an error.
type Class int

const (
	// Transient errors (connection failures, timeouts, 429, 5xx) are retried with backoff.
	Transient Class = iota
	// Auth errors (401) call for a new token; after one renewal they count as transient.
	Auth
	// Permanent errors (other 4xx, local refusals) hold the record until an operator acts.
	Permanent
	// Canceled means the daemon is shutting down: the work stays due, nothing is recorded.
	Canceled
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Auth:
		return "auth"
	case Permanent:
		return "permanent"
	case Canceled:
		return "canceled"
	}
	return "unknown"
}

// HTTPError is a non-2xx answer from a remote API.
type HTTPError struct {
	Op         string        // what was attempted, e.g. "put default/teams/..."
	StatusCode int           // HTTP status
	Status     string        // HTTP status line text, e.g. "503 Service Unavailable"
	Body       string        // start of the response body, for the record, every known secret masked (package redact)
	RetryAfter time.Duration // from a Retry-After header, zero if absent
	// Code is an API-specific error code (e.g. Salesforce "10008"), empty if none.
	Code string
	// Class overrides the status-based class when the API documents a finer mapping
	// (Salesforce error codes); nil means "decide from StatusCode".
	Class *Class
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s: %s", e.Op, e.Status)
	if e.Code != "" {
		msg += " (code " + e.Code + ")"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	// The body was masked when it was read; masking again catches a body built by hand and
	// a secret registered since.
	return redact.String(msg)
}

const (
	// maxBody is how much of an error body is kept, after masking: enough for a person to act on.
	maxBody = 512
	// readBody is how much of an error body is read before masking, so that a secret that
	// starts before maxBody is recognised whole.
	readBody = 16 << 10
)

// NewHTTPError reads (a bounded part of) resp's body and builds the error for op. Every
// secret the process knows (package redact) is masked in the body before it is kept, and
// the kept body is at most maxBody bytes. It does not close the body.
func NewHTTPError(op string, resp *http.Response) *HTTPError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, readBody+1))
	more := len(b) > readBody
	if more {
		b = b[:readBody]
	}
	body := redact.Body(b, more, maxBody)
	return &HTTPError{
		Op:         op,
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		Body:       body,
		RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// ParseRetryAfter reads a Retry-After value in seconds or as an HTTP date. Zero if absent or invalid.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// LocalError is a refusal decided on this side without asking the remote API
// (file too large, type not accepted). It is always permanent.
type LocalError struct {
	Reason string
}

func (e *LocalError) Error() string { return e.Reason }

// Refuse returns a permanent local error with the formatted reason.
func Refuse(format string, args ...any) error {
	return &LocalError{Reason: fmt.Sprintf(format, args...)}
}

// Classify tells what kind of failure err is.
func Classify(err error) Class {
	if err == nil {
		return Transient
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	var le *LocalError
	if errors.As(err, &le) {
		return Permanent
	}
	var he *HTTPError
	if errors.As(err, &he) {
		if he.Class != nil {
			return *he.Class
		}
		return ClassifyStatus(he.StatusCode)
	}
	// Everything else is a transport problem: refused, reset, timeout, DNS.
	return Transient
}

// ClassifyStatus maps an HTTP status to a class.
func ClassifyStatus(status int) Class {
	switch {
	case status == http.StatusUnauthorized:
		return Auth
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return Transient
	case status >= 400:
		return Permanent
	}
	return Transient
}

// RetryAfter returns the server's requested delay, if err carries one.
func RetryAfter(err error) time.Duration {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}

// Backoff computes retry delays: exponential from Min to Max with full jitter.
// The zero value uses 1s and 5m.
type Backoff struct {
	Min time.Duration
	Max time.Duration
}

// Delay is the wait before attempt number attempt (1 = first retry). A server's
// Retry-After wins when it is longer than the computed delay, capped at Max.
func (b Backoff) Delay(attempt int, retryAfter time.Duration) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = time.Second
	}
	if hi < lo {
		hi = 5 * time.Minute
		if hi < lo {
			hi = lo
		}
	}
	ceil := lo
	for i := 1; i < attempt && ceil < hi; i++ {
		ceil *= 2
	}
	if ceil > hi {
		ceil = hi
	}
	// Full jitter, but never below Min so a flapping server is not hit in a tight loop.
	d := lo + time.Duration(rand.Int64N(int64(ceil-lo)+1))
	if retryAfter > d {
		d = min(retryAfter, hi)
	}
	return d
}
