package salesforce

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/archivist-project/archivist/archive/redact"
)

// registerKey registers the key's material with package redact, in the encodings a key file
// holds (PKCS#1 and PKCS#8), whether or not it was read by ParsePrivateKey.
func registerKey(k *rsa.PrivateKey) {
	der := [][]byte{x509.MarshalPKCS1PrivateKey(k)}
	if b, err := x509.MarshalPKCS8PrivateKey(k); err == nil {
		der = append(der, b)
	}
	redact.PrivateKey(nil, der...)
}

// maxKeyFile bounds a private key file: an RSA key in PEM is a few KiB.
const maxKeyFile = 64 << 10

// LoadPrivateKey reads the connected app's RSA private key from a PEM file, PKCS#1
// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY").
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxKeyFile {
		return nil, fmt.Errorf("%s: larger than %d KiB, not a private key", path, maxKeyFile>>10)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParsePrivateKey reads the first PEM block of b as an RSA private key, PKCS#1 or PKCS#8.
// Its errors never quote the key material.
func ParsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block: want an RSA private key in PEM (PKCS#1 or PKCS#8)")
	}
	redact.PrivateKey(b, block.Bytes) // its text can never be echoed, in whole or by line
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
