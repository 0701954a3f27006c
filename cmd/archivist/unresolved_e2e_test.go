package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/journal"
)

// seedUnresolved writes people into the ledger of the journal at path (no daemon running).
func seedUnresolved(t *testing.T, path string, people []journal.Unresolved, at time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.NoteUnresolved(people, at); err != nil {
		t.Fatal(err)
	}
}

func (e *env) unresolvedCount() int {
	e.t.Helper()
	var st struct {
		Unresolved *int `json:"unresolvedParticipants"`
	}
	out := e.cli("status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Unresolved == nil {
		e.t.Fatalf("status --json without unresolvedParticipants (%v):\n%s", err, out)
	}
	return *st.Unresolved
}

// The unresolved participants the journal holds are counted by status (text and JSON) and
// listed as identity directory rows; a reload with a directory that resolves one counts it no
// more; a reload with a bad directory is refused, naming the file and the line, and the count
// stays; check-config and the start refuse the bad file with exit 78.
func TestE2EUnresolvedParticipantsFollowTheDirectory(t *testing.T) {
	addr := freePort(t)
	e := newEnv(t, func(_ *sandbox.Options, v map[string]string) {
		v["extra"] = "identities: people.csv\nmetrics: {listen: \"" + addr + "\"}\n"
	})
	people := filepath.Join(e.dir, "people.csv")
	os.WriteFile(people, []byte("source,id,email,name\nslack,U9,nine@example.com,Nine\n"), 0o644)
	seedUnresolved(t, e.journal, []journal.Unresolved{
		{Source: "slack", ID: "U1", Name: "Ann Lee", Watch: "teams", Events: 4},
		{Source: "slack", ID: "U2", Name: "Bob, Jr.", Watch: "teams"},
		{Source: "whatsapp", ID: "+441234567", Watch: "teams"},
	}, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	d := e.start()
	await(t, 20*time.Second, "the daemon to answer", func() bool {
		return exec.Command(binary, "status", "--config", e.config).Run() == nil
	})
	if n := e.unresolvedCount(); n != 3 {
		t.Fatalf("status --json: %d unresolved, want 3", n)
	}
	await(t, 10*time.Second, "the metric", func() bool { return scrape(t, addr)["archivist_unresolved_participants"] == 3 })
	if out := e.cli("status"); !strings.Contains(out, "3 unresolved participants") || !strings.Contains(out, "archivist identities unresolved") {
		t.Errorf("status text does not count them:\n%s", out)
	}
	wantCSV := "source,id,email,name\nslack,U1,,Ann Lee\nslack,U2,,\"Bob, Jr.\"\nwhatsapp,+441234567,,\n"
	if out := e.cli("identities", "unresolved", "--csv"); out != wantCSV {
		t.Errorf("identities unresolved --csv:\n%s\nwant:\n%s", out, wantCSV)
	}
	if out := e.cli("identities", "unresolved"); !strings.Contains(out, "Ann Lee") || !strings.Contains(out, "3 unresolved participants") {
		t.Errorf("identities unresolved:\n%s", out)
	}

	// The admin fills in U1's address and reloads: U1 is resolved.
	os.WriteFile(people, []byte("source,id,email,name\nslack,U9,nine@example.com,Nine\nslack,U1,ann@example.com,Ann Lee\n"), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	await(t, 10*time.Second, "the reload", func() bool { return d.logCount("configuration reloaded") == 1 })
	if n := e.unresolvedCount(); n != 2 {
		t.Fatalf("after the reload: %d unresolved, want 2", n)
	}
	if m := scrape(t, addr)["archivist_unresolved_participants"]; m != 2 {
		t.Errorf("metric after the reload: %v, want 2", m)
	}

	// A bad directory: the reload is refused, naming the file and line; nothing changes.
	os.WriteFile(people, []byte("source,id,email,name\nslack,U1,ann@example.com,Ann\nslack,U2,not-an-address,Bob\n"), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	await(t, 10*time.Second, "the reload refused", func() bool { return d.logCount("reload rejected; the running configuration is kept") == 1 })
	if !strings.Contains(d.output(), "people.csv:3: email") {
		t.Errorf("the refusal does not name the file and line:\n%s", d.output())
	}
	if n := e.unresolvedCount(); n != 2 || d.logCount("configuration reloaded") != 1 {
		t.Errorf("after a refused reload: %d unresolved (want 2), %d reloads (want 1)", n, d.logCount("configuration reloaded"))
	}
	out, err := exec.Command(binary, "check-config", "--config", e.config).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exConfig || !strings.Contains(string(out), "identities: "+people+":3: email") {
		t.Errorf("check-config of a bad directory: %v, want exit %d naming the line\n%s", err, exConfig, out)
	}
	d.stop()

	out2, err := e.runBriefly(10 * time.Second)
	if !errors.As(err, &exit) || exit.ExitCode() != exConfig || !strings.Contains(out2, "people.csv:3: email") {
		t.Errorf("start with a bad directory: %v, want exit %d naming the line\n%s", err, exConfig, out2)
	}
}
