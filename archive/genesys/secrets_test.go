package genesys_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/genesys"
)

// A server that echoes the Basic credential, decoded or not, gets none of it into the error.
func TestEchoedPasswordIsMasked(t *testing.T) {
	const pass = "Genesys-Echo/Pa55word"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		dec, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"statusCode":1,"message":"bad %s (%s)"}`, auth, dec)
	}))
	defer ts.Close()
	c, err := genesys.New(genesys.Options{Name: "genesys", URL: ts.URL, Username: "agent", Password: pass, ChatID: testChat})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Forward(t.Context(), memFile([]byte("x"), ""))
	if err == nil {
		t.Fatal("no error")
	}
	basic := base64.StdEncoding.EncodeToString([]byte("agent:" + pass))
	for _, s := range []string{pass, basic} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error holds %q: %v", s, err)
		}
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("error %v: the echo is not there, masked", err)
	}
}
