package evidence_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/cmd/archivist/evidence"
)

func TestSignAndVerify(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "report.key")
	pub, err := evidence.GenerateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi.Mode(), err)
	}
	if _, err := evidence.GenerateKey(keyPath); err == nil {
		t.Fatal("a key was written over an existing one")
	}
	priv, err := evidence.LoadPrivateKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := evidence.LoadPublicKey(keyPath + ".pub")
	if err != nil || !pub2.Equal(pub) {
		t.Fatalf("public key: %v", err)
	}
	report := []byte("id,watch,path\n1,trades,a.pdf\n")
	sum, n, err := evidence.Hash(bytes.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sig, err := evidence.Sign(priv, evidence.Statement{Kind: "custody-report", File: "r.csv", SHA256: sum, Bytes: n, Since: since,
		Until: since.AddDate(0, 1, 0), SignedAt: time.Now(), ChainHead: strings.Repeat("ab", 32), Entries: 12, Counts: map[string]int64{"posted": 1}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := evidence.Verify(pub, bytes.NewReader(report), sig)
	if err != nil {
		t.Fatal(err)
	}
	if st.Counts["posted"] != 1 || !st.Since.Equal(since) || st.Entries != 12 || st.KeyID != evidence.KeyID(pub) {
		t.Errorf("statement %+v", st)
	}

	changed := bytes.Replace(report, []byte("a.pdf"), []byte("b.pdf"), 1)
	if _, err := evidence.Verify(pub, bytes.NewReader(changed), sig); !errors.Is(err, evidence.ErrMismatch) || !strings.Contains(err.Error(), "not the one signed") {
		t.Errorf("a changed report: %v", err)
	}
	forged := bytes.Replace(sig, []byte(`\"posted\":1`), []byte(`\"posted\":9`), 1)
	if bytes.Equal(forged, sig) {
		t.Fatal("the test did not change the statement")
	}
	if _, err := evidence.Verify(pub, bytes.NewReader(report), forged); !errors.Is(err, evidence.ErrMismatch) {
		t.Errorf("a changed statement: %v", err)
	}
	other, err := evidence.GenerateKey(filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.Verify(other, bytes.NewReader(report), sig); !errors.Is(err, evidence.ErrMismatch) {
		t.Errorf("another key: %v", err)
	}
}
