package failure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/redact"
)

func TestClassify(t *testing.T) {
	perm := Permanent
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"network", errors.New("connection refused"), Transient},
		{"canceled", fmt.Errorf("put x: %w", context.Canceled), Canceled},
		{"local refusal", fmt.Errorf("upload: %w", Refuse("too big")), Permanent},
		{"401", &HTTPError{StatusCode: 401}, Auth},
		{"429", &HTTPError{StatusCode: 429}, Transient},
		{"408", &HTTPError{StatusCode: 408}, Transient},
		{"503 wrapped", fmt.Errorf("post: %w", &HTTPError{StatusCode: 503}), Transient},
		{"400", &HTTPError{StatusCode: 400}, Permanent},
		{"403", &HTTPError{StatusCode: 403}, Permanent},
		{"404", &HTTPError{StatusCode: 404}, Permanent},
		{"413", &HTTPError{StatusCode: 413}, Permanent},
		{"500 with API override", &HTTPError{StatusCode: 500, Class: &perm}, Permanent},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("%s: Classify = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestNewHTTPErrorKeepsStatusBodyAndRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, "slow down\n")
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	he := NewHTTPError("put default/x", resp)
	if he.StatusCode != 429 || he.Body != "slow down" || he.RetryAfter != 7*time.Second {
		t.Fatalf("got %+v", he)
	}
	if got := he.Error(); got != "put default/x: 429 Too Many Requests: slow down" {
		t.Fatalf("Error() = %q", got)
	}
	if RetryAfter(fmt.Errorf("wrapped: %w", he)) != 7*time.Second {
		t.Fatal("RetryAfter lost through wrapping")
	}
}

func TestParseRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := ParseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); got != 90*time.Second {
		t.Fatalf("date form: %s", got)
	}
	for _, v := range []string{"", "-3", "soon", now.Add(-time.Hour).Format(http.TimeFormat)} {
		if got := ParseRetryAfter(v, now); got != 0 {
			t.Errorf("ParseRetryAfter(%q) = %s, want 0", v, got)
		}
	}
}

func TestBackoffGrowsWithinBoundsAndHonoursRetryAfter(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}
	for attempt := 1; attempt <= 12; attempt++ {
		ceil := min(b.Min<<(attempt-1), b.Max)
		for range 200 {
			d := b.Delay(attempt, 0)
			if d < b.Min || d > ceil {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, b.Min, ceil)
			}
		}
	}
	if d := b.Delay(1, 1500*time.Millisecond); d != 1500*time.Millisecond {
		t.Fatalf("Retry-After 1.5s gave %s", d)
	}
	if d := b.Delay(1, time.Hour); d != b.Max {
		t.Fatalf("Retry-After beyond max gave %s, want capped at %s", d, b.Max)
	}
	if d := (Backoff{}).Delay(1, 0); d < time.Second {
		t.Fatalf("zero Backoff delay %s, want at least 1s", d)
	}
}

// An error body is masked (package redact) before it is cut to maxBody, so a secret that
// starts inside the kept part is not kept in part; a long body is kept to maxBody bytes.
func TestHTTPErrorBodyMaskedThenCapped(t *testing.T) {
	tok := "failure-test-token-" + strings.Repeat("z", 200)
	redact.Issued(tok)
	body := strings.Repeat("a", 400) + tok + strings.Repeat("b", 20000)
	resp := &http.Response{StatusCode: 502, Status: "502 Bad Gateway", Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
	he := NewHTTPError("put x", resp)
	if strings.Contains(he.Body, "zzzz") || strings.Contains(he.Error(), "failure-test-token") {
		t.Fatalf("token kept: %q", he.Body)
	}
	if !strings.Contains(he.Body, redact.Mask) || len(he.Body) > maxBody+len("…") {
		t.Fatalf("body of %d bytes: %q", len(he.Body), he.Body)
	}
}
