package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
)

func TestParseExpiresIn(t *testing.T) {
	const def = 5 * time.Minute
	for raw, want := range map[string]time.Duration{
		`300`: 300 * time.Second, `"300"`: 300 * time.Second, `" 45 "`: 45 * time.Second, `2.5`: 2500 * time.Millisecond,
		``: def, `null`: def, `0`: def, `"0"`: def, `-5`: def, `"soon"`: def, `true`: def,
	} {
		if got := ParseExpiresIn(json.RawMessage(raw), def); got != want {
			t.Errorf("expires_in %s: %v, want %v", raw, got, want)
		}
	}
}

// A token fetched with FetchToken and kept in a Cache is renewed ahead of its expiry: a fifth
// of its lifetime ahead, at most a minute.
func TestTokenRenewedAheadOfExpiry(t *testing.T) {
	for _, c := range []struct {
		expiresIn string
		renewAt   time.Duration
	}{
		{`3600`, 59 * time.Minute},
		{`"300"`, 240 * time.Second},
		{`2`, 1600 * time.Millisecond},
	} {
		var requests atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Basic creds" || r.FormValue("grant_type") != "client_credentials" {
				http.Error(w, "bad request", 400)
				return
			}
			n := requests.Add(1)
			fmt.Fprintf(w, `{"access_token":"t%d","expires_in":%s,"token_type":"Bearer"}`, n, c.expiresIn)
		}))
		t.Cleanup(srv.Close)
		clock := time.Unix(1_700_000_000, 0)
		cache := New(func(ctx context.Context) (string, time.Duration, error) {
			tok, life, err := FetchToken(ctx, srv.Client(), Request{URL: srv.URL, Authorization: "Basic creds",
				Form: url.Values{"grant_type": {"client_credentials"}}, DefaultLifetime: time.Minute})
			return tok, RenewAhead(life), err
		})
		cache.SetClock(func() time.Time { return clock })
		get := func() string {
			tok, err := cache.Get(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		first := get()
		clock = clock.Add(c.renewAt - time.Millisecond)
		if tok := get(); tok != first || requests.Load() != 1 {
			t.Fatalf("expires_in %s: renewed before %v", c.expiresIn, c.renewAt)
		}
		clock = clock.Add(time.Millisecond)
		if tok := get(); tok == first || requests.Load() != 2 {
			t.Fatalf("expires_in %s: not renewed at %v", c.expiresIn, c.renewAt)
		}
	}
}

func TestFetchTokenErrorsAreTokenErrorsWithoutSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "credential s3cret-value rejected", http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, _, err := FetchToken(t.Context(), srv.Client(), Request{URL: srv.URL + "?x=1", Secret: "s3cret-value"})
	var te *TokenError
	var he *failure.HTTPError
	if !errors.As(err, &te) || !errors.As(err, &he) || he.StatusCode != 401 {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "s3cret-value") || strings.Contains(err.Error(), "x=1") {
		t.Fatalf("secret or query in %q", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := FetchToken(ctx, srv.Client(), Request{URL: srv.URL}); !errors.Is(err, context.Canceled) || errors.As(err, &te) {
		t.Fatalf("canceled fetch: %v", err)
	}
}
