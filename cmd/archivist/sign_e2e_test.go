package main

import (
	be "encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/archivist-project/archivist/archive/sandbox"
)

// An auditor's check: a report signed on the archive's machine verifies anywhere with only
// the public key, and a report changed by one byte does not.
func TestE2ESignedReport(t *testing.T) {
	e := newEnv(t)
	d := e.start()
	e.write("a.txt", []byte("first"))
	e.write("b.txt", []byte("second"))
	await(t, 20*time.Second, "both archived", func() bool { return e.archived("a.txt", []byte("first")) && e.archived("b.txt", []byte("second")) })
	d.stop()

	key := filepath.Join(e.dir, "custody.key")
	if out := e.run("keygen", "--out", key); !strings.Contains(out, "key id") {
		t.Fatalf("keygen: %s", out)
	}
	report := filepath.Join(e.dir, "custody.csv")
	e.cli("report", "--output", report, "--sign", key)
	asJSON := filepath.Join(e.dir, "custody.json")
	e.cli("report", "--format", "json", "--output", asJSON, "--sign", key)
	if out := e.run("verify-report", asJSON, asJSON+".sig", "--public-key", key+".pub"); !strings.Contains(out, "files 2") {
		t.Fatalf("verify-report of the JSON report: %s", out)
	}

	// Elsewhere: only the report, its signature and the public key; no config, no journal.
	elsewhere := t.TempDir()
	for _, f := range []string{report, report + ".sig", key + ".pub"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(elsewhere, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, sig, pub := filepath.Join(elsewhere, "custody.csv"), filepath.Join(elsewhere, "custody.csv.sig"), filepath.Join(elsewhere, "custody.key.pub")
	out := e.run("verify-report", r, sig, "--public-key", pub)
	if !strings.Contains(out, "OK:") || !strings.Contains(out, "files 2") || !strings.Contains(out, "posted 2") {
		t.Fatalf("verify-report: %s", out)
	}
	// The signature names the journal's chain head, the one archivist verify recomputes.
	verified := e.cli("verify")
	head := strings.Fields(verified[strings.Index(verified, "chain head"):])[2]
	if len(head) != 64 || !strings.Contains(out, "audit chain head "+head) {
		t.Fatalf("the signed head is not the journal's %s:\n%s\n%s", head, out, verified)
	}
	b, _ := os.ReadFile(r)
	b[len(b)-2] ^= 1
	os.WriteFile(r, b, 0o644)
	cmd := exec.Command(binary, "verify-report", r, sig, "--public-key", pub)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "not the one signed") {
		t.Fatalf("a changed report verified (%v): %s", err, out)
	}
}

// run runs the binary with args as they are (no --config).
func (e *env) run(args ...string) string {
	e.t.Helper()
	out, err := exec.Command(binary, args...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("archivist %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// An auditor changes one byte of an audit entry with the daemon stopped: archivist verify
// names the entry and fails.
func TestE2EVerifyNamesAChangedAuditEntry(t *testing.T) {
	e := newEnv(t)
	d := e.start()
	e.write("a.txt", []byte("first"))
	await(t, 20*time.Second, "archived", func() bool { return e.archived("a.txt", []byte("first")) })
	d.stop()
	if out := e.cli("verify"); !strings.Contains(out, "OK") {
		t.Fatalf("verify of an untouched journal: %s", out)
	}
	b, err := bolt.Open(e.journal, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var changed string
	err = b.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte("audit"))
		k, v := bk.Cursor().Last()
		v = append([]byte(nil), v...)
		v[len(v)/2] ^= 0x01
		changed = fmt.Sprintf("audit entry %d of record #%d was changed", be.BigEndian.Uint64(k[8:]), be.BigEndian.Uint64(k))
		return bk.Put(append([]byte(nil), k...), v)
	})
	if err != nil || b.Close() != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "verify", "--config", e.config).CombinedOutput()
	if err == nil || !strings.Contains(string(out), changed) {
		t.Fatalf("verify after a changed byte (%v), want %q:\n%s", err, changed, out)
	}
}

// The daily reconciliation report is written on its schedule, signed, and verifies anywhere.
func TestE2EDailyReconciliationReport(t *testing.T) {
	reports := t.TempDir()
	key := filepath.Join(t.TempDir(), "daily.key")
	if out, err := exec.Command(binary, "keygen", "--out", key).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	e := newEnv(t, func(_ *sandbox.Options, v map[string]string) {
		v["extra"] = "daily_report: {folder: '" + reports + "', schedule: '@every 1s', timezone: UTC, signing_key: '" + key + "'}\n"
	})
	e.write("a.txt", []byte("first"))
	d := e.start()
	await(t, 20*time.Second, "archived", func() bool { return e.archived("a.txt", []byte("first")) })
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	report := filepath.Join(reports, "reconciliation-"+yesterday+".json")
	await(t, 20*time.Second, "the daily report and its signature", func() bool {
		_, err1 := os.Stat(report)
		_, err2 := os.Stat(report + ".sig")
		return err1 == nil && err2 == nil
	})
	d.stop()
	out := e.run("verify-report", report, report+".sig", "--public-key", key+".pub")
	if !strings.Contains(out, "OK:") || !strings.Contains(out, "reconciliation-report") {
		t.Fatalf("verify-report: %s", out)
	}
	b, err := os.ReadFile(report)
	if err != nil || !strings.Contains(string(b), `"onDisk": 1`) || !strings.Contains(string(b), `"unexplained": 0`) {
		t.Fatalf("report %s (%v)", b, err)
	}
}
