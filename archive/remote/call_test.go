package remote_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/remote"
)

func TestNewJSONRequestCanBeSentAgain(t *testing.T) {
	body, err := remote.JSONBody(map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	req, err := remote.NewJSONRequest(t.Context(), http.MethodPost, "http://127.0.0.1/x", body)
	if err != nil {
		t.Fatal(err)
	}
	if req.ContentLength != int64(len(`{"a":"b"}`)) || req.Header.Get("Content-Type") != "application/json" ||
		req.Header.Get("Accept") != "application/json" || req.Header.Get("User-Agent") != remote.UserAgent {
		t.Errorf("length %d, headers %v", req.ContentLength, req.Header)
	}
	for range 2 {
		rc, err := req.GetBody()
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(rc); string(b) != `{"a":"b"}` {
			t.Errorf("GetBody reads %q", b)
		}
	}
	open := remote.Body{Open: func() (io.ReadCloser, error) { return nil, errors.New("gone") }}
	if _, err := remote.NewRequest(t.Context(), http.MethodPut, "http://127.0.0.1/x", open); err == nil || err.Error() != "open: gone" {
		t.Errorf("a body that does not open: %v", err)
	}
}

func TestExchange(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refused" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		io.WriteString(w, strings.Repeat("x", remote.MaxReply+10))
	}))
	defer srv.Close()
	get := func(path string) *http.Request {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	refused := errors.New("refused")
	refuse := func(resp *http.Response) error {
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("refuse sees %d", resp.StatusCode)
		}
		return refused
	}
	resp, body, err := remote.Exchange(srv.Client(), get("/ok"), "get ok", refuse)
	if err != nil || len(body) != remote.MaxReply {
		t.Fatalf("2xx: %d bytes, %v; want MaxReply bytes", len(body), err)
	}
	if again, _ := io.ReadAll(resp.Body); len(again) != remote.MaxReply {
		t.Errorf("resp.Body reads %d bytes again, want %d", len(again), remote.MaxReply)
	}
	if _, _, err := remote.Exchange(srv.Client(), get("/refused"), "get refused", refuse); !errors.Is(err, refused) {
		t.Errorf("non-2xx: %v, want what refuse returned", err)
	}
}

func TestExchangeDropsTheQueryFromATransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	target := srv.URL + "/upload?X-Signature=secret"
	srv.Close() // nothing listens any more
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = remote.Exchange(&http.Client{}, req, "put upload", func(*http.Response) error { return nil })
	var ue *url.Error
	if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "put upload: ") || strings.Contains(err.Error(), "secret") {
		t.Errorf("transport error %v: want a *url.Error after the op, without the query", err)
	}
}

func TestBasicCredentialIsWhatSetBasicAuthSends(t *testing.T) {
	r := &http.Request{Header: http.Header{}}
	r.SetBasicAuth("user", "pa:ss")
	if got, want := "Basic "+remote.BasicCredential("user", "pa:ss"), r.Header.Get("Authorization"); got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
