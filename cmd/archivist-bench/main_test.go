package main

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the launcher and the baseline children, as the real
// program does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		if child, ok := children[os.Args[1]]; ok {
			if err := child(os.Args[2:]); err != nil {
				os.Stderr.WriteString(os.Args[1] + ": " + err.Error() + "\n")
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

// TestSmoke runs every workload at a tiny size: the harness works end to end. The figures
// mean nothing at this size and are not checked.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon several times")
	}
	sandboxes := t.TempDir()
	o := options{
		work: t.TempDir(), workers: 2, rounds: 2, unhashedRounds: 1, diskRounds: 1, sandboxDir: sandboxes, settle: 100 * time.Millisecond, bigSettle: 100 * time.Millisecond,
		files: 20, fileSize: 512, big: 1 << 20, latencyFiles: 3, latencyInterval: 20 * time.Millisecond,
		rescanFiles: 200, rescanPerDir: 50, journalRecords: 1000,
	}
	var out, progress bytes.Buffer
	if _, err := run(o, &out, &progress); err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	for _, want := range []string{"20 files of 512 bytes dropped at once, memory sandbox", "one file of 1 MiB, memory sandbox",
		"20 files of 512 bytes dropped at once, disk sandbox", "one file of 1 MiB, disk sandbox", "sink share", "CPU per file", "floor: the invariants' work alone", "beyond the floor", "CPU per GB", "latency at idle, 3 files",
		"rescan of 200 files", "start-up, 1000 journal records", "Machine: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table has no %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(progress.String(), "small 2/2: floor") {
		t.Errorf("no floor in the second round:\n%s", progress.String())
	}
	if !strings.Contains(progress.String(), "small 2/2: null") {
		t.Errorf("no second round:\n%s", progress.String())
	}
	if left, _ := os.ReadDir(sandboxes); len(left) != 0 {
		t.Errorf("%d sandbox folders left behind in --sandbox-dir", len(left))
	}
}

// The launcher reports its child's maxrss without the parent's memory in it: this test
// process touches 128 MiB first, which a child started directly would report as its own.
func TestLauncherMaxRSS(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	launcher = self
	ballast := make([]byte, 128<<20)
	for i := range ballast {
		ballast[i] = byte(i)
	}
	cmd := newSpawn("sh", "-c", "exit 3")
	p, err := start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	if p.err != nil || p.usage.ExitCode != 3 || p.pid <= 0 {
		t.Fatalf("launcher: %v, usage %+v, pid %d", p.err, p.usage, p.pid)
	}
	if p.usage.MaxRSS <= 0 || p.usage.MaxRSS > 64<<20 {
		t.Errorf("maxrss of sh = %d bytes: want the child's own few MB, not this process's 128 MiB", p.usage.MaxRSS)
	}
	runtime.KeepAlive(ballast)
}

// TestProblemLinesOutliveTheTail: a warning logged before hundreds of info lines is still
// what a report of problems shows, and no info line is in it.
func TestProblemLinesOutliveTheTail(t *testing.T) {
	var log strings.Builder
	log.WriteString(`{"level":"warning","msg":"watches[0].timezone: not set"}` + "\n")
	for range 500 {
		log.WriteString(`{"level":"info","msg":"file archived"}` + "\n")
	}
	log.WriteString("panic: not JSON\n")
	d := &daemon{first: map[string]logLine{}, last: map[string]logLine{}, counts: map[string]int{}, levels: map[string]int{}}
	d.read(strings.NewReader(log.String()))
	if n := d.problems(); n != 2 {
		t.Errorf("problems() = %d, want 2", n)
	}
	got := d.problemLines()
	if !strings.Contains(got, "timezone: not set") || !strings.Contains(got, "panic: not JSON") || strings.Contains(got, "file archived") {
		t.Errorf("problemLines() = %q, want the warning and the non-JSON line and no info line", got)
	}
	if strings.Contains(d.tail(), "timezone: not set") {
		t.Errorf("the tail still holds the warning; the test no longer shows problemLines is needed")
	}
}
