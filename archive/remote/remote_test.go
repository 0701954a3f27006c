package remote_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/archivist-project/archivist/archive/remote"
)

// tokens hands out tok-1, tok-2, ... and records what it was told.
type tokens struct {
	mu          sync.Mutex
	n           int
	current     string
	invalidated []string
}

func (c *tokens) Get(context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current == "" {
		c.n++
		c.current = fmt.Sprintf("tok-%d", c.n)
	}
	return c.current, nil
}

func (c *tokens) Invalidate(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidated = append(c.invalidated, tok)
	if c.current == tok {
		c.current = ""
	}
}

// server answers each request with the next status of statuses (200 once they run out) and
// records the Authorization header and body it got.
type server struct {
	mu       sync.Mutex
	statuses []int
	auths    []string
	bodies   []string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.auths = append(s.auths, r.Header.Get("Authorization"))
	s.bodies = append(s.bodies, string(b))
	status := http.StatusOK
	if len(s.statuses) > 0 {
		status, s.statuses = s.statuses[0], s.statuses[1:]
	}
	s.mu.Unlock()
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":"%d"}`, status)
}

func post(t *testing.T, hc *http.Client, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestBearerRenewsOnceOn401(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []int
		want     int
		auths    []string
	}{
		{"accepted", nil, 200, []string{"Bearer tok-1"}},
		{"one 401 renews and sends again", []int{401}, 200, []string{"Bearer tok-1", "Bearer tok-2"}},
		{"a second 401 is returned", []int{401, 401, 200}, 401, []string{"Bearer tok-1", "Bearer tok-2"}},
		{"other refusals are returned", []int{403}, 403, []string{"Bearer tok-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &server{statuses: tc.statuses}
			srv := httptest.NewServer(s)
			defer srv.Close()
			toks := &tokens{}
			hc := remote.Authorize(srv.Client(), &remote.Bearer{Tokens: toks})
			resp := post(t, hc, srv.URL)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if body, _ := io.ReadAll(resp.Body); string(body) != fmt.Sprintf(`{"code":"%d"}`, tc.want) {
				t.Errorf("body %q: the answer returned is not the last one whole", body)
			}
			if fmt.Sprint(s.auths) != fmt.Sprint(tc.auths) {
				t.Errorf("sent %q, want %q", s.auths, tc.auths)
			}
			for i, b := range s.bodies {
				if b != "payload" {
					t.Errorf("request %d had body %q, want the whole payload again", i+1, b)
				}
			}
			if wantInv := len(tc.auths) - 1; len(toks.invalidated) != wantInv {
				t.Errorf("invalidated %q, want %d token(s)", toks.invalidated, wantInv)
			}
		})
	}
}

// Rejects makes a refusal with a token error code in its body renew the token too, and the
// caller still reads the body whole.
func TestBearerRejectsByBody(t *testing.T) {
	s := &server{statuses: []int{403, 403}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rejects := func(status int, body []byte) bool { return string(body) == `{"code":"403"}` }
	hc := remote.Authorize(srv.Client(), &remote.Bearer{Tokens: &tokens{}, Rejects: rejects})
	resp := post(t, hc, srv.URL)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || string(body) != `{"code":"403"}` || len(s.auths) != 2 {
		t.Fatalf("got %d %q after %d requests, want the second 403 whole after 2", resp.StatusCode, body, len(s.auths))
	}
}

// A request without GetBody cannot be sent again: its 401 is returned.
func TestBearerDoesNotResendAnUnrepeatableBody(t *testing.T) {
	s := &server{statuses: []int{401}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	hc := remote.Authorize(srv.Client(), &remote.Bearer{Tokens: &tokens{}})
	req, _ := http.NewRequest(http.MethodPost, srv.URL, io.NopCloser(strings.NewReader("payload")))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || len(s.auths) != 1 {
		t.Fatalf("got %d after %d requests, want the 401 after 1", resp.StatusCode, len(s.auths))
	}
}

// A redirect to another host does not take the token along.
func TestBearerKeepsTheTokenFromOtherHosts(t *testing.T) {
	other := &server{}
	elsewhere := httptest.NewServer(other)
	defer elsewhere.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/moved", http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	hc := remote.Authorize(api.Client(), &remote.Bearer{Tokens: &tokens{}})
	// Same loopback address, other port: another host for the token's purposes.
	post(t, hc, api.URL)
	if len(other.auths) != 1 || other.auths[0] != "" {
		t.Fatalf("the other host got Authorization %q, want none", other.auths)
	}
}

func TestDrainCloseReadsABoundedRest(t *testing.T) {
	r := &countingBody{Reader: strings.NewReader(strings.Repeat("x", 2*remote.MaxDrain))}
	remote.DrainClose(r)
	if r.n != remote.MaxDrain || !r.closed {
		t.Fatalf("read %d bytes, closed %v; want %d and closed", r.n, r.closed, remote.MaxDrain)
	}
}

type countingBody struct {
	io.Reader
	n      int
	closed bool
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.Reader.Read(p)
	c.n += n
	return n, err
}

func (c *countingBody) Close() error { c.closed = true; return nil }
