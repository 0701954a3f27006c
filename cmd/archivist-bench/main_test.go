package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the raw-put child, as the real program does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "raw-put" {
		if err := rawPutCommand(os.Args[2:]); err != nil {
			os.Stderr.WriteString("raw-put: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
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
		work: t.TempDir(), workers: 2, rounds: 2, sandboxDir: sandboxes, settle: 100 * time.Millisecond,
		files: 20, fileSize: 512, big: 1 << 20, latencyFiles: 3, latencyInterval: 20 * time.Millisecond,
		rescanFiles: 200, rescanPerDir: 50, journalRecords: 1000,
	}
	var out, progress bytes.Buffer
	if _, err := run(o, &out, &progress); err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	for _, want := range []string{"20 files of 512 bytes", "one file of 1 MiB", "latency at idle, 3 files",
		"rescan of 200 files", "start-up, 1000 journal records", "Machine: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table has no %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(progress.String(), "small 2/2: daemon") {
		t.Errorf("no second round:\n%s", progress.String())
	}
	if left, _ := os.ReadDir(sandboxes); len(left) != 0 {
		t.Errorf("%d sandbox folders left behind in --sandbox-dir", len(left))
	}
}
