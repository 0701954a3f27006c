package salesforce_test

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/salesforce"
)

// Private key material, whole or by line, is masked in any error body once the client has
// the key (config parses the file; the client registers what it was given).
func TestPrivateKeyMaterialIsMasked(t *testing.T) {
	k := key(t)
	text := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(t, k)})
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	line := lines[3]
	pkcs1 := strings.Split(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})), "\n")[5]
	if _, err := salesforce.New(salesforce.Options{Name: "sf", URL: "https://example.invalid", TokenURL: "https://example.invalid/token",
		ClientID: "id", Username: "u", Audience: "https://login.salesforce.com", OrgID: "00D000000000001", PrivateKey: k,
		AuthorizationContext: "ctx", ChannelAddress: "addr"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("key line " + line + " pkcs1 line " + pkcs1))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg := failure.NewHTTPError("get", resp).Error()
	if strings.Contains(msg, line) || strings.Contains(msg, pkcs1) {
		t.Fatalf("key material in %q", msg)
	}
}

func mustPKCS8(t *testing.T, k any) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
