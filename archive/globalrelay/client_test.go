package globalrelay_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/sandbox"
)

// testCreds is distinctive so that a leak into an error string is easy to spot.
const testCreds = "Z3JjbGllbnQ6dG9wLXNlY3JldC1jcmVkZW50aWFs"

type env struct {
	s    *sandbox.Server
	base string
	c    *globalrelay.Client
}

// newEnv serves a sandbox on loopback and returns a client of it.
func newEnv(t *testing.T, o sandbox.Options) *env {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Credentials == "" {
		o.Credentials = testCreds
	}
	s, err := sandbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &env{s: s, base: base, c: newClient(t, base, testCreds, nil)}
}

func newClient(t *testing.T, base, creds string, hc *http.Client) *globalrelay.Client {
	t.Helper()
	c, err := globalrelay.New(globalrelay.Options{
		BaseURL: base + "/v2/", TokenURL: base + "/oauth2/token", Credentials: creds, HTTPClient: hc,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// opener returns an open func for data that counts its calls.
func opener(data []byte, calls *atomic.Int32) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		if calls != nil {
			calls.Add(1)
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}
}

func put(t *testing.T, c *globalrelay.Client, key string, data []byte) error {
	t.Helper()
	return c.PutFile(t.Context(), key, "application/octet-stream", int64(len(data)), opener(data, nil))
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func asHTTPError(t *testing.T, err error, status int) *failure.HTTPError {
	t.Helper()
	var he *failure.HTTPError
	if !errors.As(err, &he) || he.StatusCode != status {
		t.Fatalf("error %v: want an HTTPError %d", err, status)
	}
	return he
}

func TestPutFileStoresExactBytes(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	data := randomBytes(t, 3<<20+17)
	key := "default/teams/ab12/Q3-report_2023.v1.pdf"
	var opens atomic.Int32
	if err := e.c.PutFile(t.Context(), key, "application/pdf", int64(len(data)), opener(data, &opens)); err != nil {
		t.Fatal(err)
	}
	f, ok := e.s.File(key)
	if !ok || f.Size != int64(len(data)) || f.ContentType != "application/pdf" || f.Puts != 1 {
		t.Fatalf("stored %+v", f)
	}
	if b, err := os.ReadFile(e.s.FilePath(key)); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("stored bytes differ (%d of %d), %v", len(b), len(data), err)
	}
	if opens.Load() != 1 {
		t.Fatalf("open called %d times", opens.Load())
	}
	// The same key again replaces the file.
	if err := e.c.PutFile(t.Context(), key, "application/pdf", 3, opener([]byte("new"), nil)); err != nil {
		t.Fatal(err)
	}
	if f, _ := e.s.File(key); f.Puts != 2 || f.Size != 3 {
		t.Fatalf("replaced %+v", f)
	}
}

func TestPutFileEmpty(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	// The sandbox answers 411 to a body without Content-Length: this proves "Content-Length: 0".
	if err := put(t, e.c, "default/w/empty.txt", nil); err != nil {
		t.Fatal(err)
	}
	if f, ok := e.s.File("default/w/empty.txt"); !ok || f.Size != 0 {
		t.Fatalf("stored %+v", f)
	}
}

func TestPutFileKeys(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	// The client escapes every segment; the sandbox's conservative rule refuses what the
	// project's key builder never produces.
	for _, key := range []string{"default/tëam/x.pdf", "default/a b/x.pdf", "default/a%2Fb/x.pdf", "default/a?b/x.pdf", "default/日本/x"} {
		err := put(t, e.c, key, []byte("x"))
		he := asHTTPError(t, err, 400)
		if failure.Classify(err) != failure.Permanent || !strings.Contains(he.Body, "segment 1") || !strings.HasPrefix(err.Error(), "put "+key+": 400 Bad Request: ") {
			t.Errorf("%s: %v", key, err)
		}
	}
	// Keys that cannot name a file are refused before anything is sent.
	for _, key := range []string{"teams/x.pdf", "default", "default/", "default//x", "default/../x", "default/./x", "/default/x"} {
		err := put(t, e.c, key, []byte("x"))
		var le *failure.LocalError
		if !errors.As(err, &le) || !strings.HasPrefix(err.Error(), "put "+key+": ") {
			t.Errorf("%s: %v, want a local refusal", key, err)
		}
	}
	if st := e.s.Stats(); st.Puts != 0 || st.PutsRejected != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPutFileSizeLimit(t *testing.T) {
	e := newEnv(t, sandbox.Options{MaxFileSize: 1000})
	if err := put(t, e.c, "default/w/max.bin", make([]byte, 1000)); err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
	err := put(t, e.c, "default/w/over.bin", make([]byte, 1001))
	if he := asHTTPError(t, err, 400); !strings.Contains(he.Body, "exceeds") || failure.Classify(err) != failure.Permanent {
		t.Fatalf("over the limit: %v", err)
	}
	// Over Global Relay's own limit the client refuses without reading the file.
	err = e.c.PutFile(t.Context(), "default/w/huge.bin", "application/octet-stream", globalrelay.MaxFileSize+1,
		func() (io.ReadCloser, error) { panic("opened a file that is too large") })
	if failure.Classify(err) != failure.Permanent {
		t.Fatalf("huge: %v", err)
	}
}

func TestTokenCachedAndShared(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	// The token endpoint is slow, so concurrent first callers overlap and must share one fetch.
	e.s.SetFaults(sandbox.Faults{SlowRate: 1, Slow: 100 * time.Millisecond, TokenToo: true})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() { errs <- put(t, e.c, fmt.Sprintf("default/w/%d.txt", i), []byte("x")) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	e.s.SetFaults(sandbox.Faults{})
	for i := range 30 {
		if _, err := e.c.PostConversation(t.Context(), message(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if st := e.s.Stats(); st.TokenRequests != 1 || st.Puts != 20 || st.Posts != 30 {
		t.Fatalf("stats %+v, want a single token request", st)
	}
}

func TestExpiresInStringOrNumber(t *testing.T) {
	for _, asNumber := range []bool{false, true} {
		t.Run(fmt.Sprint("number=", asNumber), func(t *testing.T) {
			e := newEnv(t, sandbox.Options{TokenTTL: 10 * time.Minute, TokenTTLAsNumber: asNumber})
			for range 5 {
				if err := put(t, e.c, "default/w/x", []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			if st := e.s.Stats(); st.TokenRequests != 1 {
				t.Fatalf("%d token requests", st.TokenRequests)
			}
		})
	}
}

// A short-lived token is renewed before it expires: no request ever meets a 401.
func TestTokenRenewedBeforeExpiry(t *testing.T) {
	e := newEnv(t, sandbox.Options{TokenTTL: 2 * time.Second})
	deadline := time.Now().Add(15 * time.Second)
	for e.s.Stats().TokensIssued < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("token never renewed: %+v", e.s.Stats())
		}
		if err := put(t, e.c, "default/w/x", []byte("x")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // pacing the polling loop, not waiting for a result
	}
	if st := e.s.Stats(); st.Unauthorized != 0 || st.PutsRejected != 0 {
		t.Fatalf("stats %+v: a request met an expired token", st)
	}
}

// A 401 costs exactly one renewal, and the file is opened again for the second attempt.
func TestRenewOnUnauthorized(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	if err := put(t, e.c, "default/w/a", []byte("a")); err != nil {
		t.Fatal(err)
	}
	e.s.RevokeTokens()
	var opens atomic.Int32
	if err := e.c.PutFile(t.Context(), "default/w/b", "text/plain", 5, opener([]byte("bytes"), &opens)); err != nil {
		t.Fatal(err)
	}
	if opens.Load() != 2 {
		t.Fatalf("opened %d times, want 2", opens.Load())
	}
	e.s.RevokeTokens()
	if _, err := e.c.PostConversation(t.Context(), message("hi")); err != nil {
		t.Fatal(err)
	}
	st := e.s.Stats()
	if st.TokenRequests != 3 || st.Unauthorized != 2 || st.Puts != 2 || st.Posts != 1 {
		t.Fatalf("stats %+v", st)
	}
	if b, _ := os.ReadFile(e.s.FilePath("default/w/b")); string(b) != "bytes" {
		t.Fatalf("stored %q", b)
	}
}

// A second 401 in a row is returned, classified Auth, after one renewal only.
func TestUnauthorizedTwice(t *testing.T) {
	var tokens, puts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			n := tokens.Add(1)
			fmt.Fprintf(w, `{"access_token":"t%d","expires_in":"3600","token_type":"Bearer"}`, n)
			return
		}
		puts.Add(1)
		io.Copy(io.Discard, r.Body)
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, testCreds, srv.Client())
	err := put(t, c, "default/w/x", []byte("x"))
	asHTTPError(t, err, 401)
	var te *globalrelay.TokenError
	if failure.Classify(err) != failure.Auth || errors.As(err, &te) || tokens.Load() != 2 || puts.Load() != 2 {
		t.Fatalf("%v: class %v, %d tokens, %d puts", err, failure.Classify(err), tokens.Load(), puts.Load())
	}
}

func message(text string) *globalrelay.Conversation {
	ms := time.Now().UnixMilli()
	jordan := globalrelay.Participant{DisplayName: "Jordan Davies", CorporateEmail: "jordan@example.com", UserType: globalrelay.UserInitiator}
	return &globalrelay.Conversation{
		Overview: globalrelay.Overview{ConversationType: "TeamsExport", CreatedAt: ms},
		Events: []globalrelay.Event{{
			EventTime: ms, EventType: globalrelay.EventMessage, Participants: []globalrelay.Participant{jordan},
			Content: &globalrelay.Content{Message: text},
		}},
	}
}

func fileTransfer(keys ...string) *globalrelay.Conversation {
	c := message("take a look")
	for _, k := range keys {
		c.Events = append(c.Events, globalrelay.Event{
			EventTime: c.Events[0].EventTime, EventType: globalrelay.EventFileTransfer,
			Participants: []globalrelay.Participant{
				{DisplayName: "Jordan Davies", UserType: globalrelay.UserInitiator},
				{DisplayName: "Lisa Holmes", UserType: globalrelay.UserRecipient},
			},
			Files: []globalrelay.FileRef{{Filename: k[strings.LastIndex(k, "/")+1:], FileKey: k}},
		})
	}
	return c
}

func TestPostConversation(t *testing.T) {
	e := newEnv(t, sandbox.Options{ConversationType: "TeamsExport"})
	if err := put(t, e.c, "default/w/a.pdf", []byte("a")); err != nil {
		t.Fatal(err)
	}
	conv := fileTransfer("default/w/a.pdf")
	res, err := e.c.PostConversation(t.Context(), conv)
	if err != nil {
		t.Fatal(err)
	}
	stored := e.s.Conversations()
	if res.StatusCode != 200 || res.RequestID == "" || len(stored) != 1 || stored[0].ReconciliationID != res.RequestID {
		t.Fatalf("result %+v, stored %+v", res, stored)
	}
	var back globalrelay.Conversation
	if err := json.Unmarshal(stored[0].Raw, &back); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(conv)
	got, _ := json.Marshal(back)
	if !bytes.Equal(got, want) {
		t.Fatalf("stored\n%s\nwant\n%s", got, want)
	}
}

// A request referencing a file that was never uploaded fails whole, naming the key, and
// nothing of it is stored.
func TestPostConversationMissingFile(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	if err := put(t, e.c, "default/w/a.pdf", []byte("a")); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.PostConversation(t.Context(), fileTransfer("default/w/a.pdf", "default/w/missing.pdf"))
	he := asHTTPError(t, err, 400)
	if !strings.Contains(he.Body, `conversationEvents[2].files[0].fileKey: \"default/w/missing.pdf\" was never uploaded`) ||
		failure.Classify(err) != failure.Permanent || !strings.HasPrefix(err.Error(), "post conversations: 400 Bad Request: ") {
		t.Fatalf("%v", err)
	}
	if n := len(e.s.Conversations()); n != 0 {
		t.Fatalf("%d conversations stored", n)
	}
}

func TestFaultsAreClassified(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	if _, err := e.c.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.s.SetFaults(sandbox.Faults{FailRate: 1})
	for _, status := range []int{500, 503} {
		err := put(t, e.c, "default/w/x", []byte("x"))
		asHTTPError(t, err, status)
		if failure.Classify(err) != failure.Transient {
			t.Fatalf("%v: %v", err, failure.Classify(err))
		}
	}
	e.s.SetFaults(sandbox.Faults{Rate429: 1, RetryAfter: 7 * time.Second})
	_, err := e.c.PostConversation(t.Context(), message("x"))
	asHTTPError(t, err, 429)
	if failure.Classify(err) != failure.Transient || failure.RetryAfter(err) != 7*time.Second {
		t.Fatalf("%v: %v, retry after %v", err, failure.Classify(err), failure.RetryAfter(err))
	}
	e.s.SetFaults(sandbox.Faults{ResetRate: 1})
	err = put(t, e.c, "default/w/x", randomBytes(t, 1<<20))
	if err == nil || failure.Classify(err) != failure.Transient || !strings.HasPrefix(err.Error(), "put default/w/x: ") {
		t.Fatalf("reset: %v", err)
	}
	e.s.SetFaults(sandbox.Faults{})
	if err := put(t, e.c, "default/w/x", []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestTokenError(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	wrong := newClient(t, e.base, "d3Jvbmctc2VjcmV0LWNyZWRlbnRpYWw=", nil)
	var errs []error
	err := put(t, wrong, "default/w/x", []byte("x"))
	errs = append(errs, err)
	var te *globalrelay.TokenError
	if !errors.As(err, &te) || failure.Classify(err) != failure.Auth || !strings.Contains(err.Error(), "get token: post ") {
		t.Fatalf("wrong credentials: %v", err)
	}
	asHTTPError(t, err, 401)

	// The token endpoint is down: still a TokenError, a transient one.
	e.s.SetFaults(sandbox.Faults{FailRate: 1, TokenToo: true})
	_, err = e.c.PostConversation(t.Context(), message("x"))
	errs = append(errs, err)
	if !errors.As(err, &te) || failure.Classify(err) != failure.Transient {
		t.Fatalf("token endpoint failing: %v", err)
	}

	// Nothing listens: a transport error, still a TokenError.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	closed := newClient(t, "http://"+addr, testCreds, nil)
	_, err = closed.Token(t.Context())
	errs = append(errs, err)
	if !errors.As(err, &te) || failure.Classify(err) != failure.Transient {
		t.Fatalf("no listener: %v", err)
	}

	// The caller giving up is not the destination failing.
	e.s.SetFaults(sandbox.Faults{SlowRate: 1, Slow: time.Minute, TokenToo: true})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	fresh := newClient(t, e.base, testCreds, nil)
	_, err = fresh.Token(ctx)
	if errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("canceled: %v", err)
	}

	for _, err := range errs {
		for _, secret := range []string{testCreds, "d3Jvbmctc2VjcmV0LWNyZWRlbnRpYWw="} {
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%#v", err), secret) {
				t.Fatalf("error holds the credential: %v", err)
			}
		}
	}
}

// Every answer, errors included, is drained so one keep-alive connection carries it all.
func TestConnectionsReused(t *testing.T) {
	s, err := sandbox.New(sandbox.Options{Dir: t.TempDir(), Credentials: testCreds})
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(s)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, testCreds, nil)
	for i := range 10 {
		if err := put(t, c, fmt.Sprintf("default/w/%d", i), randomBytes(t, 10<<10)); err != nil {
			t.Fatal(err)
		}
		if err := put(t, c, "default/w/bad key", []byte("x")); err == nil {
			t.Fatal("bad key accepted")
		}
		if _, err := c.PostConversation(t.Context(), fileTransfer("default/w/missing")); err == nil {
			t.Fatal("missing file accepted")
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestHTTP1Only(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	if _, err := newClientGet(globalrelay.NewHTTPClient(false, time.Minute, 4), srv.URL); err == nil {
		t.Fatal("self-signed certificate accepted with verification on")
	}
	proto, err := newClientGet(globalrelay.NewHTTPClient(true, time.Minute, 4), srv.URL)
	if err != nil || proto != "HTTP/1.1" {
		t.Fatalf("proto %q, %v", proto, err)
	}
	tr := globalrelay.NewHTTPClient(false, 42*time.Second, 6).Transport.(*http.Transport)
	if tr.ForceAttemptHTTP2 || tr.TLSNextProto == nil || len(tr.TLSNextProto) != 0 ||
		tr.MaxIdleConnsPerHost != 6 || tr.ResponseHeaderTimeout != 42*time.Second {
		t.Fatalf("transport %+v", tr)
	}
}

func newClientGet(hc *http.Client, url string) (string, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// The URLs are checked by package config, where they are configured.
func TestNewValidates(t *testing.T) {
	for _, o := range []globalrelay.Options{
		{BaseURL: "https://h/v2", TokenURL: "https://t/token", Credentials: " \n"},
		{BaseURL: "https://h/v2", TokenURL: "https://t/token", Credentials: "a\nb" + testCreds},
	} {
		if _, err := globalrelay.New(o); err == nil || strings.Contains(err.Error(), testCreds) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}
