package oauth

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/failure"
)

// A token endpoint that echoes what it was sent (the Basic credential decoded, the secret
// part, a signed assertion) gets none of it into the error; the tokens it issues are masked
// in every later error body.
func TestTokenEndpointEchoesAreMasked(t *testing.T) {
	const id, secret, assertion = "oauth-echo-client", "OAuth/Echo+Secret=1", "eyJhbGciOiJSUzI1NiJ9.claims.signature-oauth-echo"
	creds := base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
	const access, refresh = "oauth-echo-access-token-123456", "oauth-echo-refresh-token-654321"
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fail {
			fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"token_type":"bearer"}`, access, refresh)
			return
		}
		u, p, _ := r.BasicAuth()
		r.ParseForm()
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "client %s secret %s pair %s:%s assertion %s form %s", u, p, u, p, r.PostForm.Get("assertion"), url.QueryEscape(p))
	}))
	defer srv.Close()
	req := Request{URL: srv.URL, Authorization: "Basic " + creds,
		Form: url.Values{"grant_type": {"x"}, "assertion": {assertion}}}
	_, _, err := FetchToken(t.Context(), srv.Client(), req)
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{secret, id + ":" + secret, assertion, url.QueryEscape(secret)} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error holds %q: %v", s, err)
		}
	}
	if !strings.Contains(err.Error(), "client "+id+" ") {
		t.Errorf("error %v: the client id is not a secret and should stay", err)
	}

	fail = false
	if _, _, err := FetchToken(t.Context(), srv.Client(), req); err != nil {
		t.Fatal(err)
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "token %s refresh %s", access, refresh)
	}))
	defer echo.Close()
	resp, err := http.Get(echo.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	he := failure.NewHTTPError("get", resp)
	if strings.Contains(he.Error(), access) || strings.Contains(he.Error(), refresh) {
		t.Fatalf("issued tokens in %v", he)
	}
}
