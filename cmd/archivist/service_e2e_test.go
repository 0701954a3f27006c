package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
)

func TestE2EReloadAddsAWatchAndRejectsABadConfig(t *testing.T) {
	e := newEnv(t)
	d := e.start()
	await(t, 10*time.Second, "started", func() bool { return d.logCount("archivist started") == 1 })

	// A bad config is rejected; the daemon keeps running on the old one.
	good, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, append(append([]byte{}, good...), []byte("bogus_key: 1\n")...), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	await(t, 10*time.Second, "bad reload rejected", func() bool { return d.logCount("reload rejected; the running configuration is kept") == 1 })
	e.write("still.txt", []byte("still served"))
	await(t, 20*time.Second, "old watch still served", func() bool { return e.archived("still.txt", []byte("still served")) })

	// A new watch is added without a restart.
	second := filepath.Join(e.dir, "second")
	os.Mkdir(second, 0o755)
	added := string(good) + `  - name: second
    path: second
    settle: 200ms
    sender: {name: "Second export", email: "second@example.com"}
`
	os.WriteFile(e.config, []byte(added), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	await(t, 10*time.Second, "reloaded", func() bool { return d.logCount("configuration reloaded") == 1 })
	os.WriteFile(filepath.Join(second, "new-watch.txt"), []byte("in the added watch"), 0o644)
	await(t, 20*time.Second, "file of the added watch archived", func() bool {
		for _, f := range e.sb.Files() {
			if strings.HasPrefix(f.Key, "default/second/") && strings.HasSuffix(f.Key, "/new-watch.txt") {
				return true
			}
		}
		return false
	})
	d.stop()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape returns the metrics as name{labels} -> value.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

func TestE2EMetricsMove(t *testing.T) {
	addr := freePort(t)
	e := newEnv(t, func(_ *sandbox.Options, vars map[string]string) {
		vars["extra"] = "metrics: {listen: \"" + addr + "\"}\n"
	})
	d := e.start()
	var before map[string]float64
	await(t, 10*time.Second, "metrics served", func() bool { before = scrape(t, addr); return before != nil })
	if before[`archivist_files{state="posted"}`] != 0 {
		t.Fatalf("posted before anything was dropped: %v", before[`archivist_files{state="posted"}`])
	}
	e.write("m.txt", []byte("measured"))
	await(t, 20*time.Second, "metrics move", func() bool {
		m := scrape(t, addr)
		return m[`archivist_files{state="posted"}`] == 1 &&
			m[`archivist_request_duration_seconds_count{destination="globalrelay",operation="put",outcome="ok"}`] >= 1 &&
			m[`archivist_request_duration_seconds_count{destination="globalrelay",operation="post",outcome="ok"}`] >= 1 &&
			m[`archivist_sent_bytes_total{destination="globalrelay"}`] == float64(len("measured")) &&
			m[`archivist_destination_up{destination="globalrelay"}`] == 1
	})
	out := e.cli("reconcile")
	if !strings.Contains(out, "0 unexplained") {
		t.Fatalf("reconcile: %s", out)
	}
	await(t, 10*time.Second, "reconciliation metrics", func() bool {
		m := scrape(t, addr)
		return m[`archivist_last_reconciliation_files{kind="archived"}`] == 1 && m["archivist_last_reconciliation_timestamp_seconds"] > 0
	})
	d.stop()
}

func TestE2ERunOnceExitsWhenIdle(t *testing.T) {
	e := newEnv(t)
	for i := range 20 {
		e.write(fmt.Sprintf("backfill/%02d.txt", i), []byte(fmt.Sprintf("old export %d", i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--once", "--config", e.config)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Run(); err != nil {
		t.Fatalf("run --once: %v", err)
	}
	for i := range 20 {
		if !e.archived(fmt.Sprintf("%02d.txt", i), []byte(fmt.Sprintf("old export %d", i))) {
			t.Fatalf("%02d.txt not archived when run --once exited", i)
		}
	}
}
