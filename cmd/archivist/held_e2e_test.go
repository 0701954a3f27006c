package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive"
	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/cmd/archivist/control"
)

// One count of held files everywhere: status (text and JSON), queue --state held, reconcile,
// the metrics and the status page say the same number, also when a held file is no longer on
// disk (its record still waits for an operator: reconcile used to leave it out).
func TestE2EOneHeldCount(t *testing.T) {
	addr := freePort(t)
	e := newEnv(t, func(_ *sandbox.Options, v map[string]string) {
		v["extra"] = "metrics: {listen: \"" + addr + "\"}\nstatus_page: {listen: '127.0.0.1:0', timezone: UTC}\n"
	})
	for _, p := range []string{"pipe1", "pipe2"} {
		if err := syscall.Mkfifo(filepath.Join(e.inbox, p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := e.start()
	await(t, 20*time.Second, "both pipes held", func() bool {
		code, out, _ := e.runCLI("queue", "--state", "held")
		return code == 0 && strings.Contains(out, "-- 2 records")
	})
	if err := os.Remove(filepath.Join(e.inbox, "pipe1")); err != nil { // gone, but never archived
		t.Fatal(err)
	}
	var sum archive.Summary
	if err := json.Unmarshal([]byte(e.cli("reconcile", "--json")), &sum); err != nil {
		t.Fatal(err)
	}
	var st control.Status
	if err := json.Unmarshal([]byte(e.cli("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	text := e.cli("status")
	var page string
	await(t, 20*time.Second, "the status page's address in the log", func() bool {
		page = logField(d.output(), "status page", "url")
		return page != ""
	})
	metrics := scrape(t, addr)
	counts := map[string]float64{
		"queue --state held": float64(len(e.heldIDs())),
		"status --json":      float64(st.Counts["held"]),
		"reconcile --json":   float64(sum.Held),
		"metrics":            metrics[`archivist_files{state="held"}`],
		"status page":        boolTo(strings.Contains(get(t, page+"/"), "2 file(s) held")) * 2,
		"status":             boolTo(strings.Contains(text, " held 2 ")) * 2,
		"status (reconcile)": boolTo(strings.Contains(text, ", 2 held,")) * 2,
	}
	for where, n := range counts {
		if n != 2 {
			t.Errorf("%s: %v held, want 2 (the two held pipes, one of them gone)", where, n)
		}
	}
	if t.Failed() {
		t.Logf("status:\n%s", text)
	}
	d.stop()
}

func boolTo(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// status, queue, show and report --json speak one dialect: camelCase names, the same name
// for the same value (fileKey, discoveredAt), every state in the counts, an array for an
// empty queue.
func TestE2EJSONConsistent(t *testing.T) {
	e := newEnv(t)
	d := e.start()
	await(t, 20*time.Second, "the daemon to answer", func() bool {
		code, stdout, _ := e.runCLI("status", "--timeout", "2s")
		return code == 0 && strings.Contains(stdout, "running since")
	})
	if out := strings.TrimSpace(e.cli("queue", "--json")); out != "[]" {
		t.Errorf("queue --json of an empty queue: %s, want []", out)
	}
	e.write("a.txt", []byte("json dialect"))
	await(t, 20*time.Second, "a.txt archived", func() bool { return e.archived("a.txt", []byte("json dialect")) })
	var status map[string]any
	if err := json.Unmarshal([]byte(e.cli("status", "--json")), &status); err != nil {
		t.Fatal(err)
	}
	counts, _ := status["counts"].(map[string]any)
	for _, s := range []string{"discovered", "uploaded", "posted", "held", "vanished", "superseded", "dismissed"} {
		if _, ok := counts[s].(float64); !ok {
			t.Errorf("status --json counts has no number for %s: %v", s, counts)
		}
	}
	gr, _ := status["destinations"].(map[string]any)["globalrelay"].(map[string]any)
	if _, ok := gr["up"].(bool); !ok {
		t.Errorf("status --json destinations.globalrelay: %v, want an \"up\" boolean", gr)
	}
	var show struct{ Record map[string]any }
	if err := json.Unmarshal([]byte(e.cli("show", "--json", "1")), &show); err != nil {
		t.Fatal(err)
	}
	var report []map[string]any
	if err := json.Unmarshal([]byte(e.cli("report", "--format", "json")), &report); err != nil {
		t.Fatal(err)
	}
	var queue []map[string]any
	if err := json.Unmarshal([]byte(e.cli("queue", "--all", "--json")), &queue); err != nil {
		t.Fatal(err)
	}
	if len(report) != 1 || len(queue) != 1 {
		t.Fatalf("report %v, queue %v: want one row each", report, queue)
	}
	for _, key := range []string{"id", "watch", "path", "size", "state", "fileKey", "discoveredAt"} {
		want := show.Record[key]
		if want == nil || report[0][key] != want || queue[0][key] != want {
			t.Errorf("%s: show %v, report %v, queue %v", key, want, report[0][key], queue[0][key])
		}
	}
	d.stop()
}
