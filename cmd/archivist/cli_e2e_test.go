package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runSplit runs the real binary and returns its exit code, standard output and standard error.
func runSplit(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("archivist %s did not exit within 20s", strings.Join(args, " "))
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	code := 0
	if exit != nil {
		code = exit.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}

// Help goes to standard output with exit 0, for the root and every command, and lists the
// flags with two dashes; --version and `version` print the version.
func TestE2EHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"}, {"help", "status"}, {"status", "--help"}, {"show", "4", "--help"},
		{"journal", "compact", "--help"}, {"identities", "unresolved", "-h"}, {"run", "--help"}, {"sandbox", "ls", "--help"},
		{"journal", "help"}, {"identities", "--help"}, {"dismiss", "--help"}, {"completion", "--help"},
	} {
		code, stdout, stderr := runSplit(t, nil, args...)
		if code != 0 || !strings.Contains(stdout, "Usage:") || stderr != "" {
			t.Errorf("archivist %v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	if _, stdout, _ := runSplit(t, nil, "status", "--help"); !strings.Contains(stdout, "--config file") || !strings.Contains(stdout, "--json") {
		t.Errorf("status --help does not list --config and --json:\n%s", stdout)
	}
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, stdout, stderr := runSplit(t, nil, args...)
		if code != 0 || stdout != "archivist dev\n" || stderr != "" {
			t.Errorf("archivist %v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// Wrong usage exits 2 with the reason on standard error and nothing on standard output.
func TestE2EUsageErrorsExit2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "name a command"},
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"status", "--nope"}, "unknown flag: --nope"},
		{[]string{"show", "4", "--nope"}, "unknown flag: --nope"}, // a flag after an argument is parsed
		{[]string{"show"}, "name one record"},
		{[]string{"show", "1", "2"}, "name one record"},
		{[]string{"status", "extra"}, `unexpected argument "extra"`},
		{[]string{"status", "--timeout", "soon"}, "invalid argument"},
		{[]string{"journal"}, "want 'journal check"},
		{[]string{"journal", "nope"}, `unknown command "nope"`},
		{[]string{"identities"}, "want 'identities unresolved"},
		{[]string{"identities", "unresolved", "--csv", "--json"}, "[csv json]"},
		{[]string{"retry"}, "name one record id, or --all-held"},
		{[]string{"retry", "x"}, `"x" is not a record id`},
		{[]string{"queue", "--state", "lost"}, `--state "lost"`},
		{[]string{"report", "--format", "xml"}, `--format "xml"`},
		{[]string{"keygen"}, "keygen needs --out"},
		{[]string{"verify-report", "a"}, "verify-report needs"},
		{[]string{"sandbox", "ls", "--url", "http://x", "--dir", "d"}, "[url dir]"},
		{[]string{"sandbox", "--unhashed"}, "--unhashed needs --memory"},
		{[]string{"completion", "tcsh"}, "tcsh"},
	} {
		code, stdout, stderr := runSplit(t, nil, c.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "--help' for usage") {
			t.Errorf("archivist %v: exit %d, stdout %q, stderr %q; want exit 2 and %q on stderr", c.args, code, stdout, stderr, c.want)
		}
	}
}

// Flags anywhere, in both spellings of earlier versions: `show 4 --config X`, `-config X`.
func TestE2EFlagsAfterArguments(t *testing.T) {
	e := newEnv(t)
	e.write("a.txt", []byte("flags anywhere"))
	d := e.start()
	await(t, 20*time.Second, "a.txt archived", func() bool { return e.archived("a.txt", []byte("flags anywhere")) })
	for _, args := range [][]string{
		{"show", "1", "--config", e.config}, {"show", "--config=" + e.config, "1"}, {"show", "1", "-config", e.config},
		{"journal", "--config", e.config, "check"},
	} {
		if args[0] == "journal" {
			d.stop()
		}
		code, stdout, stderr := runSplit(t, nil, args...)
		if code != 0 || stderr != "" {
			t.Errorf("archivist %v: exit %d, stderr %q", args, code, stderr)
		}
		if args[0] == "show" && !strings.Contains(stdout, "a.txt") {
			t.Errorf("archivist %v: %s", args, stdout)
		}
	}
}

// `archivist completion bash|zsh|fish` writes a completion script for that shell, and the
// bash one completes command names through the binary itself.
func TestE2ECompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -o default -F __start_archivist archivist",
		"zsh": "#compdef archivist", "fish": "complete -c archivist"} {
		code, stdout, stderr := runSplit(t, nil, "completion", shell)
		if code != 0 || !strings.Contains(stdout, want) || stderr != "" {
			t.Errorf("completion %s: exit %d, stderr %q, no %q in the script", shell, code, stderr, want)
		}
	}
	code, stdout, _ := runSplit(t, nil, "__complete", "jo")
	if code != 0 || !strings.Contains(stdout, "journal") {
		t.Errorf("__complete jo: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runSplit(t, nil, "__complete", "journal", "")
	if code != 0 || !strings.Contains(stdout, "check") || !strings.Contains(stdout, "compact") {
		t.Errorf("__complete journal: exit %d, %q", code, stdout)
	}
}

// `archivist man DIR` (make man) writes a man page per command, with its flags.
func TestE2EManPages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man1")
	if code, _, stderr := runSplit(t, nil, "man", dir); code != 0 {
		t.Fatalf("man: exit %d: %s", code, stderr)
	}
	for _, page := range []string{"archivist.1", "archivist-status.1", "archivist-journal-compact.1", "archivist-identities-unresolved.1", "archivist-run.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Contains(b, []byte(".TH \"ARCHIVIST\" \"1\"")) {
			t.Errorf("%s is not a man page:\n%.300s", page, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "archivist-journal-compact.1")); !bytes.Contains(b, []byte(`older-than`)) {
		t.Errorf("archivist-journal-compact.1 does not document --older-than:\n%s", b)
	}
}
