package talkdesk_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/talkdesk"
)

// The client secret echoed by the token endpoint and the token echoed by the API reach no
// error.
func TestEchoedSecretAndTokenAreMasked(t *testing.T) {
	const secret, token = "Talkdesk-Echo/Secret+1", "talkdesk-issued-token-0123456789"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth/token") {
			if _, p, _ := r.BasicAuth(); r.URL.Query().Get("fail") == "" && p == secret && r.Header.Get("X-Second") == "" {
				fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":600}`, token)
				return
			}
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"code":"x","message":"seen %q and %s"}`, r.Header.Get("Authorization"), url.QueryEscape(token))
	}))
	defer ts.Close()
	c, err := talkdesk.New(talkdesk.Options{Name: "talkdesk", URL: ts.URL, TokenURL: ts.URL + "/oauth/token", ClientID: "td-client", ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Forward(t.Context(), memFile([]byte("x")))
	if err == nil || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("error %v: want the echo, masked", err)
	}
	for _, s := range []string{secret, token, url.QueryEscape(token)} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error holds %q: %v", s, err)
		}
	}
}
