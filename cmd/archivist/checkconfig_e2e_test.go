package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// check-config says OK (exit 0) for a config run would start with, and lists every problem
// with exit 78 otherwise, touching no journal.
func TestE2ECheckConfig(t *testing.T) {
	e := newEnv(t)
	out, err := exec.Command(binary, "check-config", "--config", e.config).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK (1 watches, 0 destinations)") {
		t.Fatalf("a good config: %v\n%s", err, out)
	}
	if _, err := os.Stat(e.journal); err == nil {
		t.Error("check-config created the journal")
	}

	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(cfg), "credentials_file: gr.credentials", "credentials_file: missing.credentials", 1) +
		"status_page: {listen: '0.0.0.0:8788'}\n"
	badPath := filepath.Join(e.dir, "bad.yml")
	if err := os.WriteFile(badPath, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(binary, "check-config", "--config", badPath).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exConfig {
		t.Fatalf("a bad config: %v, want exit %d\n%s", err, exConfig, out)
	}
	for _, want := range []string{"globalrelay.credentials_file", "status_page.listen"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the report does not name %s:\n%s", want, out)
		}
	}
}
