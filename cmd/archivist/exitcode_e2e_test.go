package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runExit runs the real binary and returns its exit code and output.
func runExit(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("archivist %s did not exit within 10s:\n%s", strings.Join(args, " "), out)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	if exit != nil {
		return exit.ExitCode(), string(out)
	}
	return 0, string(out)
}

// TestE2EConfigErrorExitsEXCONFIG: a configuration that does not load ends run with 78
// (EX_CONFIG), which the unit's RestartPreventExitStatus= keeps systemd from restarting; a
// failure after the configuration loaded stays 1, so systemd restarts that one.
func TestE2EConfigErrorExitsEXCONFIG(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "inbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "creds"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := func(journal string) string {
		return "journal: " + journal + "\nglobalrelay:\n  url: http://127.0.0.1:1/v2\n  token_url: http://127.0.0.1:1/t\n" +
			"  credentials_file: creds\n  conversation_type: t\n" +
			"watches:\n  - {name: teams, path: inbox, settle: 1s, sender: {name: n, email: a@b.c}}\n"
	}
	cases := []struct {
		name, yaml string
		code       int
		want       string
	}{
		{"missing file", "", exConfig, "no-such.yml"},
		{"not yaml", "{{{", exConfig, "config"},
		{"unknown key", strings.Replace(good("j.db"), "  url:", "  urll:", 1), exConfig, "globalrelay.urll: unknown key"},
		{"bad log level", good("j.db") + "log: {level: loud}\n", exConfig, "log.level"},
		// The configuration is fine; the journal cannot be created under a regular file.
		{"journal fails to open", good("a-file/j.db"), 1, "a-file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := filepath.Join(dir, "no-such.yml")
			if c.yaml != "" {
				cfg = filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".yml")
				if err := os.WriteFile(cfg, []byte(c.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out := runExit(t, "run", "--config", cfg)
			if code != c.code {
				t.Errorf("exit code %d, want %d; output:\n%s", code, c.code, out)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("message does not name %q:\n%s", c.want, out)
			}
		})
	}
}
