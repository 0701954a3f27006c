package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archivist-project/archivist/journal"
)

// A token endpoint that echoes the decoded credential and an API that echoes the bearer token:
// no form of either reaches the daemon's log, the journal file, or the output of status,
// queue, show and report.
func TestE2EEchoedSecretsReachNoLogJournalOrCommand(t *testing.T) {
	const issued = "e2e-issued-access-token-4f9c2a7d1b"
	dec, err := base64.StdEncoding.DecodeString(e2eCreds)
	if err != nil {
		t.Fatal(err)
	}
	_, secretPart, _ := strings.Cut(string(dec), ":")
	var tokens atomic.Int32
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if r.URL.Path == "/oauth2/token" {
			if tokens.Add(1) == 1 {
				d, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, `{"error":"unavailable","got":%q,"decoded":%q,"escaped":%q}`, auth, d, url.QueryEscape(string(d)))
				return
			}
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":300}`, issued)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "refused %s (token %s)", auth, strings.TrimPrefix(auth, "Bearer "))
	}))
	defer echo.Close()

	e := newEnv(t)
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.config, bytes.ReplaceAll(cfg, []byte(e.url), []byte(echo.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.write("a.txt", []byte("a"))
	d := e.start()
	await(t, 20*time.Second, "the refused file held", func() bool { return d.logCount("file held") >= 1 })

	var held []struct{ ID uint64 }
	if err := json.Unmarshal([]byte(e.cli("queue", "--state", "held", "--json")), &held); err != nil || len(held) != 1 {
		t.Fatalf("held %v: %v", held, err)
	}
	outputs := map[string]string{
		"status": e.cli("status") + e.cli("status", "--json"),
		"queue":  e.cli("queue", "--state", "held") + e.cli("queue", "--state", "held", "--json"),
		"show":   e.cli("show", fmt.Sprint(held[0].ID)),
		"report": e.cli("report", "--format", "csv"),
	}
	if !strings.Contains(outputs["show"], "[redacted]") {
		t.Errorf("show does not give the refusal, masked:\n%s", outputs["show"])
	}
	d.stop()
	outputs["log"] = d.output()
	raw, err := os.ReadFile(e.journal)
	if err != nil {
		t.Fatal(err)
	}
	outputs["journal"] = string(raw)
	if counts := e.checkJournal(); counts[journal.Held] != 1 {
		t.Fatalf("counts %v", counts)
	}
	for what, out := range outputs {
		for _, s := range []string{e2eCreds, string(dec), secretPart, url.QueryEscape(string(dec)), issued} {
			if i := strings.Index(out, s); i >= 0 {
				t.Errorf("%s holds %q: %q", what, s, out[max(0, i-200):min(len(out), i+len(s)+50)])
			}
		}
	}
}
