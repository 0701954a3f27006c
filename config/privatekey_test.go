package config

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func TestParsePrivateKey(t *testing.T) {
	k := testRSAKey(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	good := map[string][]byte{
		"pkcs1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}),
		"pkcs8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}
	for name, b := range good {
		got, err := ParsePrivateKey(b)
		if err != nil || !got.Equal(k) {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string][]byte{
		"certificate": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}),
		"junk":        []byte("not pem"),
		"encrypted":   pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("x")}),
		"bad pkcs1":   pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("x")}),
	}
	for name, b := range bad {
		if _, err := ParsePrivateKey(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestValidOrgID(t *testing.T) {
	for id, want := range map[string]bool{
		"00D000000000001":    true,
		"00D000000000001AAA": true,
		"00D00000000000":     false,
		"00D-00000000001":    false,
		"":                   false,
	} {
		if got := ValidOrgID(id); got != want {
			t.Errorf("ValidOrgID(%q) = %v", id, got)
		}
	}
}
