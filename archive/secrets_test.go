package archive

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/journal"
)

// syncBuffer is a log destination the test reads while the pipeline writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// echoingServer is a Global Relay that echoes every secret it is sent: the token endpoint
// first fails with the decoded credential in its answer, the API then refuses with the bearer
// token in its answer (first as an outage, then for good).
type echoingServer struct {
	tokens, puts atomic.Int32
	issued       string
}

func (e *echoingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if r.URL.Path == "/oauth2/token" {
		if e.tokens.Add(1) == 1 {
			dec, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
			user, pass, _ := strings.Cut(string(dec), ":")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"error": "temporarily_unavailable",
				"echo": auth, "decoded": string(dec), "client": user, "secret": pass,
				"form": url.QueryEscape(string(dec))})
			return
		}
		fmt.Fprintf(w, `{"access_token":%q,"refresh_token":"refresh-%s","token_type":"Bearer","expires_in":300}`, e.issued, e.issued)
		return
	}
	tok := strings.TrimPrefix(auth, "Bearer ")
	status := http.StatusBadGateway
	if e.puts.Add(1) > 1 {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html>%s rejected; header was %q; token %s; refresh refresh-%s</html>", strings.Repeat("padding ", 40), auth, url.QueryEscape(tok), tok)
}

// A token endpoint that echoes the decoded credential and an API that echoes the bearer token
// reach neither an error, the journal record and its history, the destination's health, nor a
// log line.
func TestEchoedSecretsReachNoErrorRecordOrLog(t *testing.T) {
	const clientID, secret = "echo-test-client", "Echo/S3cret+Part=9"
	creds := base64.StdEncoding.EncodeToString([]byte(clientID + ":" + secret))
	srv := &echoingServer{issued: "eyJhbGciOi.issued-access-token.Zm9vYmFy"}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	logs := &syncBuffer{}
	log := logrus.New()
	log.SetOutput(logs)
	log.SetLevel(logrus.DebugLevel)
	log.SetFormatter(&logrus.JSONFormatter{})
	h := newHarness(t, func(o *Options, _ *sandbox.Options) { o.Logger = log })
	client, err := globalrelay.New(globalrelay.Options{BaseURL: ts.URL + "/v2", TokenURL: ts.URL + "/oauth2/token", Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	h.start(client)
	h.drop("a.txt", []byte("hello"))
	r := h.record("a.txt")
	r = h.awaitState(r.ID, journal.Held)
	if srv.tokens.Load() < 2 || srv.puts.Load() < 2 {
		t.Fatalf("%d token requests, %d puts: the echoes were not all sent", srv.tokens.Load(), srv.puts.Load())
	}

	audit, err := h.j.Audit(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(r)
	hist, _ := json.Marshal(audit)
	health, _ := json.Marshal(h.p.Health())
	texts := map[string]string{"record": string(rec), "history": string(hist), "health": string(health), "log": logs.String()}
	secrets := []string{creds, clientID + ":" + secret, secret, url.QueryEscape(secret), srv.issued, "refresh-" + srv.issued}
	for what, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds secret %q:\n%s", what, s, text)
			}
		}
	}
	if !strings.Contains(r.Reason, "[redacted]") || !strings.Contains(r.Reason, "400") {
		t.Errorf("reason %q: want the refusal with its secrets masked", r.Reason)
	}
	if !strings.Contains(logs.String(), "[redacted]") {
		t.Errorf("no masked echo in the log: the failures were not logged at all?\n%s", logs.String())
	}
	if len(r.LastError) > 1024 {
		t.Errorf("last error is %d bytes: the body is not capped", len(r.LastError))
	}
}
