package main

// End-to-end tests of what an operator relies on when things go wrong: the control socket,
// commands against a daemon that does not answer, commands without the credentials.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runBriefly runs the daemon and returns its output and error, failing the test if it is
// still running after timeout.
func (e *env) runBriefly(timeout time.Duration) (string, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "run", "--config", e.config).CombinedOutput()
	if ctx.Err() != nil {
		e.t.Fatalf("the daemon still ran after %s; it must fail at start:\n%s", timeout, out)
	}
	return string(out), err
}

// A daemon whose control socket cannot be made fails at start with the reason, instead of
// running without it.
func TestE2EControlSocketThatCannotBeMadeFailsTheStart(t *testing.T) {
	e := newEnv(t)
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(e.config, append(cfg, "control: {socket: no-such-folder/control.sock}\n"...), 0o644)
	out, err := e.runBriefly(15 * time.Second)
	if err == nil {
		t.Fatalf("exit 0; output:\n%s", out)
	}
	if !strings.Contains(out, "control socket") || !strings.Contains(out, "no such file or directory") {
		t.Fatalf("the message does not say why:\n%s", out)
	}
}

// The default socket path holding a file that is not a socket: the daemon refuses to start
// and leaves the file alone (it used to delete whatever was there).
func TestE2EControlSocketPathHoldingAFileIsLeftAlone(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(filepath.Dir(e.journal), "control.sock")
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := e.runBriefly(15 * time.Second)
	if err == nil {
		t.Fatalf("exit 0; output:\n%s", out)
	}
	if !strings.Contains(out, "not a socket") {
		t.Fatalf("the message does not say why:\n%s", out)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "not a socket" {
		t.Fatalf("the file at the socket's path changed: %q, %v", b, err)
	}
}
