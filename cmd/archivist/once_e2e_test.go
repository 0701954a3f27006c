package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
)

// run --once tells a script how it ended: 0 every file archived, 3 files held, 4 the timeout
// passed with work left, 2 wrong usage.
func TestE2ERunOnceExitCodes(t *testing.T) {
	t.Run("all archived", func(t *testing.T) {
		e := newEnv(t)
		e.write("a.txt", []byte("archived by a cron job"))
		code, _, stderr := e.runCLI("run", "--once", "--timeout", "60s")
		if code != 0 {
			t.Fatalf("exit %d, want 0:\n%s", code, stderr)
		}
		if !e.archived("a.txt", []byte("archived by a cron job")) {
			t.Fatal("a.txt not archived")
		}
	})
	t.Run("held", func(t *testing.T) {
		e := newEnv(t)
		e.write("a.txt", []byte("archived next to a held pipe"))
		if err := syscall.Mkfifo(filepath.Join(e.inbox, "pipe"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := e.runCLI("run", "--once")
		if code != exitHeld || !strings.Contains(stderr, "1 files held") {
			t.Fatalf("exit %d, want %d and the count of held files:\n%s", code, exitHeld, stderr)
		}
		if !e.archived("a.txt", []byte("archived next to a held pipe")) {
			t.Fatal("a.txt not archived")
		}
	})
	t.Run("timed out", func(t *testing.T) {
		e := newEnv(t, func(so *sandbox.Options, _ map[string]string) { so.Faults = sandbox.Faults{FailRate: 1} })
		e.write("a.txt", []byte("never accepted"))
		start := time.Now()
		code, _, stderr := e.runCLI("run", "--once", "--timeout", "2s")
		if code != exitTimedOut || !strings.Contains(stderr, "timed out after 2s") {
			t.Fatalf("exit %d, want %d:\n%s", code, exitTimedOut, stderr)
		}
		if took := time.Since(start); took > 45*time.Second {
			t.Errorf("run --once --timeout 2s took %s", took)
		}
		// What was not done stays due for the next run.
		if _, out, _ := e.runCLI("queue"); !strings.Contains(out, "a.txt") {
			t.Errorf("a.txt is not in the queue after the timeout:\n%s", out)
		}
	})
	t.Run("usage", func(t *testing.T) {
		e := newEnv(t)
		for _, args := range [][]string{{"run", "--timeout", "1s"}, {"run", "--once", "--timeout", "-1s"}, {"run", "--once", "--timeout", "soon"}} {
			code, stdout, stderr := e.runCLI(args...)
			if code != 2 || stdout != "" || stderr == "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 with the reason on stderr", args, code, stdout, stderr)
			}
		}
		if _, err := os.Stat(e.journal); err == nil {
			t.Error("a refused run opened the journal")
		}
	})
}
