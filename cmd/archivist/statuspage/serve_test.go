package statuspage_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/cmd/archivist/control"
	"github.com/archivist-project/archivist/cmd/archivist/statuspage"
	"github.com/archivist-project/archivist/config"
	"github.com/archivist-project/archivist/journal"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "archivist test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "page.crt"), filepath.Join(dir, "page.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// With a certificate the page is served over HTTPS only; Listen binds at once, so a port
// in use fails it; an open address without authentication is refused before binding.
func TestListenTLSAndRefusals(t *testing.T) {
	db, err := journal.Open(filepath.Join(t.TempDir(), "j.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	o := statuspage.Options{Source: &control.Service{J: db}, Records: db}
	srv, err := statuspage.Listen(config.StatusPage{Listen: "127.0.0.1:0", TLSCertFile: certFile, TLSKeyFile: keyFile, Location: time.UTC}, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("url %s", srv.URL())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(srv.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("https: %d", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + srv.Addr().String() + "/"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP was answered with the page")
	}
	if _, err := statuspage.Listen(config.StatusPage{Listen: srv.Addr().String(), Location: time.UTC}, o); err == nil {
		t.Error("a second page on the same port was started")
	}
	if _, err := statuspage.Listen(config.StatusPage{Listen: "0.0.0.0:0", Location: time.UTC}, o); !errors.Is(err, statuspage.ErrNoAuth) {
		t.Errorf("an open address without authentication: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}
