package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParsePrivateKey reads the first PEM block of b as an RSA private key, PKCS#1 or PKCS#8: the
// Salesforce connected app's signing key (RS256). Its errors never quote the key material.
// It lives here, not in the Salesforce client, because reading key files is configuration:
// the client is handed a parsed key and config imports no wire client.
func ParsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block: want an RSA private key in PEM (PKCS#1 or PKCS#8)")
	}
	if _, encrypted := block.Headers["DEK-Info"]; encrypted {
		return nil, errors.New("the private key is encrypted; store it unencrypted with restrictive permissions")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("RSA PRIVATE KEY block is not a valid PKCS#1 key")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("PRIVATE KEY block is not a valid PKCS#8 key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PRIVATE KEY holds a %T, want an RSA key (RS256)", k)
		}
		return rk, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the private key is encrypted; store it unencrypted with restrictive permissions")
	}
	return nil, fmt.Errorf("PEM block %q: want RSA PRIVATE KEY (PKCS#1) or PRIVATE KEY (PKCS#8)", block.Type)
}

// ValidOrgID reports whether id looks like a Salesforce org id: 15 (case-sensitive) or 18
// (case-insensitive) letters and digits.
func ValidOrgID(id string) bool {
	if len(id) != 15 && len(id) != 18 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
