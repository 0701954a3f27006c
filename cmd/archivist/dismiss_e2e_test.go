package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/cmd/archivist/control"
)

// heldIDs lists the held records by path, as queue --state held --json says.
func (e *env) heldIDs() map[string]uint64 {
	e.t.Helper()
	var items []control.Item
	if err := json.Unmarshal([]byte(e.cli("queue", "--state", "held", "--json")), &items); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, it := range items {
		out[it.Path] = it.ID
	}
	return out
}

// An operator dismisses a held file with a reason: through the daemon while it runs, on the
// journal when it does not (as retry does). The record ends dismissed, its history says who
// and why, the audit chain still verifies, the file is not recorded again, and run --once no
// longer exits 3 for it. Only a held record can be dismissed.
func TestE2EDismiss(t *testing.T) {
	e := newEnv(t)
	e.write("a.txt", []byte("archived next to two pipes"))
	for _, p := range []string{"pipe1", "pipe2"} {
		if err := syscall.Mkfifo(filepath.Join(e.inbox, p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, stderr := e.runCLI("run", "--once"); code != exitHeld {
		t.Fatalf("run --once with two pipes: exit %d, want %d\n%s", code, exitHeld, stderr)
	}
	held := e.heldIDs()
	if len(held) != 2 {
		t.Fatalf("held: %v, want pipe1 and pipe2", held)
	}
	archived := fmt.Sprint(6 - held["pipe1"] - held["pipe2"]) // a.txt has the remaining id of 1..3

	// Offline: no daemon runs.
	if code, stdout, stderr := e.runCLI("dismiss", fmt.Sprint(held["pipe1"]), "--reason", "a pipe left by the export tool"); code != 0 ||
		!strings.Contains(stdout, "dismissed") {
		t.Fatalf("dismiss (offline): exit %d\n%s%s", code, stdout, stderr)
	}

	// Online: the daemon runs and holds the journal, so this goes through its socket.
	d := e.start()
	await(t, 20*time.Second, "the daemon to answer", func() bool {
		code, stdout, _ := e.runCLI("status", "--timeout", "2s")
		return code == 0 && strings.Contains(stdout, "running since")
	})
	if code, stdout, stderr := e.runCLI("dismiss", "--reason", "not a chat export", fmt.Sprint(held["pipe2"])); code != 0 {
		t.Fatalf("dismiss (daemon running): exit %d\n%s%s", code, stdout, stderr)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dismiss", fmt.Sprint(held["pipe2"]), "--reason", "again"}, 1, "dismissed, which is final"},
		{[]string{"dismiss", archived, "--reason", "x"}, 1, "is archived"},
		{[]string{"dismiss", fmt.Sprint(held["pipe2"])}, 2, "--reason TEXT is required"},
		{[]string{"dismiss", fmt.Sprint(held["pipe2"]), "--reason", "  "}, 2, "--reason TEXT is required"},
		{[]string{"dismiss", "--reason", "x"}, 2, "name one held record id"},
		{[]string{"dismiss", "pipe", "--reason", "x"}, 2, "not a record id"},
	} {
		if code, _, stderr := e.runCLI(c.args...); code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, want %d and %q:\n%s", c.args, code, c.code, c.want, stderr)
		}
	}
	show := e.cli("show", fmt.Sprint(held["pipe2"]))
	if !strings.Contains(show, "state      dismissed") || !strings.Contains(show, "dismissed  ok") ||
		!strings.Contains(show, "archivist dismiss: not a chat export") {
		t.Errorf("show of the dismissed record:\n%s", show)
	}
	if len(e.heldIDs()) != 0 {
		t.Errorf("still held after both were dismissed: %v", e.heldIDs())
	}
	var st control.Status
	if err := json.Unmarshal([]byte(e.cli("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Counts["held"] != 0 || st.Counts["dismissed"] != 2 {
		t.Errorf("status counts %v, want held 0 and dismissed 2", st.Counts)
	}
	d.stop()

	if out := e.cli("verify"); !strings.Contains(out, "OK") {
		t.Errorf("verify after the dismissals:\n%s", out)
	}
	// The dismissed pipes are not recorded again: the next run has nothing held.
	if code, _, stderr := e.runCLI("run", "--once"); code != 0 {
		t.Errorf("run --once after the dismissals: exit %d, want 0\n%s", code, stderr)
	}
	if n := len(strings.Split(strings.TrimSpace(e.cli("queue", "--all", "--json")), "\"id\"")) - 1; n != 3 {
		t.Errorf("%d records after the second run, want 3 (nothing recorded again)", n)
	}
}
