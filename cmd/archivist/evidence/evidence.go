// Package evidence signs what archivist tells an auditor, so that it can be checked on any
// machine without the journal: a report's detached signature names the period, the
// journal's audit chain head and the counts, and is made with an Ed25519 key the
// organisation holds (archivist keygen).
package evidence

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// SignatureFormat names the signature file's format and version.
const SignatureFormat = "archivist-signature/1"

// Statement is what a signature vouches for. Its JSON encoding is the signed bytes, kept
// verbatim in the signature file, so a verifier checks exactly what was signed.
type Statement struct {
	Format   string    `json:"format"`
	Kind     string    `json:"kind"` // "custody-report", "reconciliation-report"
	File     string    `json:"file"` // the report's base name when it was signed
	SHA256   string    `json:"sha256"`
	Bytes    int64     `json:"bytes"`
	Since    time.Time `json:"since,omitzero"`
	Until    time.Time `json:"until,omitzero"`
	SignedAt time.Time `json:"signedAt"`
	// ChainHead is the hash of the newest entry of the journal's audit chain when the report
	// was made (archivist verify checks the chain up to it), Entries how many it holds.
	ChainHead string           `json:"chainHead"`
	Entries   uint64           `json:"entries"`
	Counts    map[string]int64 `json:"counts"`
	KeyID     string           `json:"keyId"` // the first 16 hex digits of the public key's SHA-256
}

// Signature is the detached signature file.
type Signature struct {
	// Statement is the signed bytes, the JSON of a Statement, kept as a string so that no
	// reformatting of the file can change them.
	Statement string `json:"statement"`
	Signature string `json:"signature"` // base64 Ed25519 signature of Statement
}

// KeyID names a public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// GenerateKey writes a new Ed25519 private key to path (PKCS#8 PEM, mode 0600, never over an
// existing file) and its public key to path+".pub" (PKIX PEM).
func GenerateKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := writeNew(path+".pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, errors.Join(err, os.Remove(path))
	}
	return pub, nil
}

func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errors.Join(err, f.Sync(), f.Close())
}

// LoadPrivateKey reads an Ed25519 private key written by GenerateKey.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	block, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(block)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T, want an Ed25519 key (archivist keygen)", path, k)
	}
	return priv, nil
}

// LoadPublicKey reads an Ed25519 public key (PKIX PEM).
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	block, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(block)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T, want an Ed25519 public key", path, k)
	}
	return pub, nil
}

func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("%s: no %q PEM block", path, typ)
	}
	return block.Bytes, nil
}

// Sign signs st (its KeyID and Format are set here) and returns the signature file's bytes.
func Sign(priv ed25519.PrivateKey, st Statement) ([]byte, error) {
	st.Format = SignatureFormat
	st.KeyID = KeyID(priv.Public().(ed25519.PublicKey))
	msg, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	sig := Signature{Statement: string(msg), Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg))}
	out, err := json.MarshalIndent(sig, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// Hash returns the SHA-256 (hex) and length of what r yields.
func Hash(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// ErrMismatch is wrapped by every verification failure.
var ErrMismatch = errors.New("verification failed")

// Verify checks that sigFile is a valid signature by pub of exactly report's bytes, and
// returns what it vouches for.
func Verify(pub ed25519.PublicKey, report io.Reader, sigFile []byte) (*Statement, error) {
	var sig Signature
	if err := json.Unmarshal(sigFile, &sig); err != nil {
		return nil, fmt.Errorf("%w: the signature file is not JSON: %v", ErrMismatch, err)
	}
	raw, err := base64.StdEncoding.DecodeString(sig.Signature)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: the signature is not a base64 Ed25519 signature", ErrMismatch)
	}
	if !ed25519.Verify(pub, []byte(sig.Statement), raw) {
		return nil, fmt.Errorf("%w: the signature does not match the statement and this public key (key %s)", ErrMismatch, KeyID(pub))
	}
	var st Statement
	if err := json.Unmarshal([]byte(sig.Statement), &st); err != nil {
		return nil, fmt.Errorf("%w: statement: %v", ErrMismatch, err)
	}
	if st.Format != SignatureFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrMismatch, st.Format, SignatureFormat)
	}
	sum, n, err := Hash(report)
	if err != nil {
		return nil, err
	}
	if sum != st.SHA256 || n != st.Bytes {
		return nil, fmt.Errorf("%w: the report is not the one signed: SHA-256 %s (%d bytes), the signature names %s (%d bytes)",
			ErrMismatch, sum, n, st.SHA256, st.Bytes)
	}
	return &st, nil
}
