package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/systemd/journald"
)

// TestE2EJournalStreamGetsPriorities: with standard error on the stream named by
// $JOURNAL_STREAM, the daemon logs for journald. Without a journal socket (as here) every
// entry is a "<N>" line, so warnings are filed as warnings (`journalctl -p warning`), and the
// fields follow the message as key=value instead of one JSON object.
func TestE2EJournalStreamGetsPriorities(t *testing.T) {
	if _, err := os.Stat(journald.Socket); err == nil {
		t.Skipf("%s exists: the entries would go to this machine's journal", journald.Socket)
	}
	e := newEnv(t)
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	auto := strings.Replace(string(cfg), "log: {format: json, level: debug}", "log: {level: info}", 1)
	auto = strings.Replace(auto, "globalrelay:\n", "globalrelay:\n  insecure_skip_verify: true\n", 1)
	if err := os.WriteFile(e.config, []byte(auto), 0o644); err != nil {
		t.Fatal(err)
	}
	e.write("report.txt", []byte("an export"))

	stream, err := os.Create(filepath.Join(e.dir, "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(stream.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--once", "--config", e.config)
	cmd.Env = append(os.Environ(), fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
	cmd.Stderr = stream
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(stream.Name())
		t.Fatalf("run --once: %v\n%s", err, out)
	}
	out, err := os.ReadFile(stream.Name())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	var warned, archived bool
	for _, l := range lines {
		if !strings.HasPrefix(l, "<") || strings.Contains(l, `"level"`) {
			t.Errorf("not a journal line: %q", l)
		}
		warned = warned || strings.HasPrefix(l, "<4>TLS certificate verification is OFF")
		archived = archived || strings.HasPrefix(l, "<6>file archived") && strings.Contains(l, "report.txt")
	}
	if !warned || !archived {
		t.Errorf("want a <4> warning and a <6> 'file archived' line naming report.txt; got:\n%s", out)
	}
}
