package main

// End-to-end tests of what an operator relies on when things go wrong: the control socket,
// commands against a daemon that does not answer, commands without the credentials.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
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

// cliFails runs an archivist command that must fail within limit and returns its stderr.
func (e *env) cliFails(limit time.Duration, args ...string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append(args[:1:1], append([]string{"--config", e.config}, args[1:]...)...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		e.t.Fatalf("archivist %v still waited after %s", args, limit)
	}
	if err == nil {
		e.t.Fatalf("archivist %v succeeded; stderr:\n%s", args, stderr.String())
	}
	return stderr.String()
}

// Operator commands against a stopped (SIGSTOP) daemon give up after --timeout and say the
// daemon does not answer, instead of hanging.
func TestE2ECommandsGiveUpOnAStoppedDaemon(t *testing.T) {
	e := newEnv(t)
	e.write("a.txt", []byte("archived before the stop"))
	d := e.start()
	await(t, 20*time.Second, "a.txt archived", func() bool { return e.archived("a.txt", []byte("archived before the stop")) })
	if err := d.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer d.cmd.Process.Signal(syscall.SIGCONT)
	sock := filepath.Join(filepath.Dir(e.journal), "control.sock")
	for _, args := range [][]string{
		{"status"}, {"queue"}, {"show", "1"}, {"report"}, {"retry", "1"}, {"reconcile"},
	} {
		out := e.cliFails(15*time.Second, append([]string{args[0], "--timeout", "1s"}, args[1:]...)...)
		if !strings.Contains(out, "the daemon at "+sock+" does not answer") {
			t.Errorf("archivist %v: %s", args, out)
		}
	}
	// The default is bounded too.
	if out := e.cliFails(30*time.Second, "status"); !strings.Contains(out, "does not answer (nothing within 10s") {
		t.Errorf("archivist status: %s", out)
	}
	if err := d.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if out := e.cli("reconcile"); !strings.Contains(out, "1 archived") {
		t.Errorf("reconcile after SIGCONT:\n%s", out)
	}
	d.stop()
}

// Commands that only read need no credentials: with the credentials file gone (or not
// readable by the operator), status, queue, show and report still work, with the daemon and
// without it.
func TestE2EReadOnlyCommandsNeedNoCredentials(t *testing.T) {
	e := newEnv(t)
	e.write("a.txt", []byte("archived with the credentials"))
	d := e.start()
	await(t, 20*time.Second, "a.txt archived", func() bool { return e.archived("a.txt", []byte("archived with the credentials")) })
	if err := os.Remove(filepath.Join(e.dir, "gr.credentials")); err != nil {
		t.Fatal(err)
	}
	check := func(running bool) {
		t.Helper()
		want := 0
		if !running {
			want = exitNotRunning
		}
		if code, out, stderr := e.runCLI("status"); code != want || running == strings.Contains(out, "NOT running") {
			t.Errorf("status (daemon running: %v): exit %d\n%s%s", running, code, out, stderr)
		}
		if out := e.cli("queue", "--all"); !strings.Contains(out, "a.txt") {
			t.Errorf("queue --all:\n%s", out)
		}
		if out := e.cli("show", "teams:a.txt"); !strings.Contains(out, "posted") {
			t.Errorf("show:\n%s", out)
		}
		if out := e.cli("report"); !strings.Contains(out, "a.txt") {
			t.Errorf("report:\n%s", out)
		}
	}
	check(true)
	d.stop()
	check(false)
	// Commands that change things still load the whole config.
	if out := e.cliFails(15*time.Second, "retry", "1"); !strings.Contains(out, "credentials_file") {
		t.Errorf("retry without credentials: %s", out)
	}
}

// A reload that removes a watch and one that adds it back: the watch's files that were
// waiting resume at once (they used to wait an hour).
func TestE2EWatchRemovedAndAddedBackResumesAtOnce(t *testing.T) {
	e := newEnv(t)
	e.sb.SetFaults(sandbox.Faults{FailRate: 1}) // nothing reaches the archive yet
	spare := filepath.Join(e.dir, "spare")
	os.Mkdir(spare, 0o755)
	base, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	spareWatch := "  - {name: spare, path: spare, settle: 200ms, sender: {name: Spare, email: spare@example.com}}\n"
	withTeams := string(base) + spareWatch
	withoutTeams := string(base[:strings.Index(string(base), "watches:\n")]) + "watches:\n" + spareWatch
	os.WriteFile(e.config, []byte(withTeams), 0o644)
	e.write("a.txt", []byte("waiting through two reloads"))
	d := e.start()
	await(t, 20*time.Second, "a.txt discovered", func() bool { return d.logCount("file discovered") == 1 })

	os.WriteFile(e.config, []byte(withoutTeams), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	await(t, 10*time.Second, "watch removed", func() bool { return d.logCount("configuration reloaded") == 1 })
	e.sb.SetFaults(sandbox.Faults{})
	await(t, 20*time.Second, "a.txt put off", func() bool {
		return strings.Contains(e.cli("show", "teams:a.txt"), `watch "teams" is not configured`)
	})

	os.WriteFile(e.config, []byte(withTeams), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	await(t, 10*time.Second, "watch added back", func() bool { return d.logCount("configuration reloaded") == 2 })
	await(t, 20*time.Second, "a.txt archived", func() bool { return e.archived("a.txt", []byte("waiting through two reloads")) })
	d.stop()
}

// retry of a record retrying cannot help says why, and fails.
func TestE2ERetrySaysWhyItDidNothing(t *testing.T) {
	e := newEnv(t)
	d := e.start()
	if err := os.Symlink("/etc/hostname", filepath.Join(e.inbox, "latest.pdf")); err != nil {
		t.Fatal(err)
	}
	await(t, 20*time.Second, "the symlink held", func() bool { return d.logCount("file held") >= 1 })
	code, out, stderr := e.runCLI("retry", "1")
	if code != 1 || !strings.Contains(stderr, "never opens") || strings.Contains(out, "put back to work") {
		t.Fatalf("retry of a held symlink: exit %d\n%s%s", code, out, stderr)
	}
	d.stop()
}
