package globalrelay

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseExpiresIn(t *testing.T) {
	for raw, want := range map[string]time.Duration{
		`300`: 300 * time.Second, `"300"`: 300 * time.Second, `" 45 "`: 45 * time.Second, `2.5`: 2500 * time.Millisecond,
		``: defaultTokenLifetime, `null`: defaultTokenLifetime, `0`: defaultTokenLifetime, `"0"`: defaultTokenLifetime,
		`-5`: defaultTokenLifetime, `"soon"`: defaultTokenLifetime, `true`: defaultTokenLifetime,
	} {
		if got := parseExpiresIn(json.RawMessage(raw)); got != want {
			t.Errorf("expires_in %s: %v, want %v", raw, got, want)
		}
	}
}

// The token is renewed ahead of its expiry: a fifth of its lifetime ahead, at most a minute.
func TestRenewAhead(t *testing.T) {
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
			n := requests.Add(1)
			fmt.Fprintf(w, `{"access_token":"t%d","expires_in":%s,"token_type":"Bearer"}`, n, c.expiresIn)
		}))
		t.Cleanup(srv.Close)
		clock := time.Unix(1_700_000_000, 0)
		ts := &tokenSource{url: srv.URL, credentials: "x", client: srv.Client(), now: func() time.Time { return clock }}
		get := func() string {
			tok, err := ts.get(t.Context())
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
