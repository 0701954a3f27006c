package main

import (
	"bytes"
	"context"
	le "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/journal"
)

// runCLI runs an archivist command against the env's config and returns its exit code,
// standard output and standard error, whatever the code.
func (e *env) runCLI(args ...string) (int, string, string) {
	e.t.Helper()
	cmd := exec.Command(binary, append(args[:1:1], append([]string{"--config", e.config}, args[1:]...)...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		if ee.ProcessState.ExitCode() < 0 {
			e.t.Fatalf("archivist %v died: %v\n%s", args, err, stderr.String())
		}
		return ee.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}
	e.t.Fatalf("archivist %v: %v", args, err)
	return 0, "", ""
}

// archiveMany archives n files with the daemon and stops it: the journal then has branch
// pages.
func (e *env) archiveMany(n int) {
	e.t.Helper()
	for i := range n {
		e.write(fmt.Sprintf("batch/f%03d.txt", i), []byte(fmt.Sprintf("file %d of a batch", i)))
	}
	d := e.start()
	await(e.t, 60*time.Second, "the batch archived", func() bool {
		return e.archived("f000.txt", []byte("file 0 of a batch")) && e.archived(fmt.Sprintf("f%03d.txt", n-1), []byte(fmt.Sprintf("file %d of a batch", n-1))) &&
			len(e.sb.Files()) == n
	})
	d.stop()
}

// journalMeta reads the page size, the pages in use and the root page from the journal's
// newer meta page (the one bbolt uses).
func journalMeta(t *testing.T, path string) (pageSize, pages int64) {
	t.Helper()
	m := newestMeta(t, path)
	return int64(le.LittleEndian.Uint32(m[8:])), int64(le.LittleEndian.Uint64(m[40:]))
}

func newestMeta(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m0 := b[16:]
	ps := le.LittleEndian.Uint32(m0[8:])
	m1 := b[ps+16:]
	if le.LittleEndian.Uint64(m1[48:]) > le.LittleEndian.Uint64(m0[48:]) {
		return m1[:64]
	}
	return m0[:64]
}

// refusedAsDamaged runs a read-only command and expects the damage status and a message.
func (e *env) refusedAsDamaged(want string, args ...string) {
	e.t.Helper()
	code, _, stderr := e.runCLI(args...)
	if code != exitDamaged || !strings.Contains(stderr, "damaged") || !strings.Contains(stderr, want) {
		e.t.Fatalf("archivist %v: exit %d, stderr %q; want exit %d saying the journal is damaged (%s)", args, code, stderr, exitDamaged, want)
	}
	if strings.Contains(stderr, "SIGBUS") || strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
		e.t.Fatalf("archivist %v crashed:\n%s", args, stderr)
	}
}

func TestE2ETruncatedJournalIsReportedAndRebuilt(t *testing.T) {
	e := newEnv(t)
	e.archiveMany(150)
	ps, pages := journalMeta(t, e.journal)
	if err := os.Truncate(e.journal, ps*pages*2/3); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"status"}, {"queue"}, {"report"}, {"show", "1"}} {
		e.refusedAsDamaged("truncated", cmd...)
	}
	if code, out, _ := e.runCLI("journal", "check"); code != exitDamaged || !strings.Contains(out, "DAMAGE") || !strings.Contains(out, "truncated") {
		t.Fatalf("journal check: exit %d\n%s", code, out)
	}
	d := e.start()
	select {
	case err := <-d.done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitDamaged || !strings.Contains(d.output(), "truncated") {
			t.Fatalf("run on a truncated journal: %v\n%s", err, d.output())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run on a truncated journal did not exit")
	}

	code, out, stderr := e.runCLI("journal", "rebuild")
	if code != 0 {
		t.Fatalf("journal rebuild: exit %d\n%s%s", code, out, stderr)
	}
	aside, _ := filepath.Glob(e.journal + ".damaged-*")
	if len(aside) != 1 || !strings.Contains(out, "kept") {
		t.Fatalf("damaged journal kept as %v\n%s", aside, out)
	}
	if fi, err := os.Stat(aside[0]); err != nil || fi.Size() != ps*pages*2/3 {
		t.Fatalf("the damaged journal was changed: %v %v", fi, err)
	}
	if !strings.Contains(out, "files will be archived again") {
		t.Errorf("rebuild does not say what is archived again:\n%s", out)
	}
	if code, out, stderr := e.runCLI("journal", "check", "--full"); code != 0 {
		t.Fatalf("check of the rebuilt journal: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := e.runCLI("status"); code != exitNotRunning { // it reads the journal: no daemon yet
		t.Fatalf("status on the rebuilt journal: exit %d: %s", code, stderr)
	}
	// The daemon runs on the rebuilt journal; what it lost is archived again.
	d = e.start()
	await(t, 60*time.Second, "every file posted again or still", func() bool {
		var st struct{ Counts map[journal.State]int64 }
		code, out, _ := e.runCLI("status", "--json") // fails until the control socket is up
		return code == 0 && json.Unmarshal([]byte(out), &st) == nil && st.Counts[journal.Posted] == 150
	})
	d.stop()
	counts := e.checkJournal()
	if counts[journal.Posted] != 150 {
		t.Fatalf("after the rebuild and a run: %v, want all 150 posted", counts)
	}
}

func TestE2EFlippedBranchPagesAreReportedNotPanics(t *testing.T) {
	e := newEnv(t)
	e.archiveMany(150)
	ps, _ := journalMeta(t, e.journal)
	b, err := os.ReadFile(e.journal)
	if err != nil {
		t.Fatal(err)
	}
	// The records bucket's root page, from the root bucket's leaf, is a branch page.
	root := b[le.LittleEndian.Uint64(newestMeta(t, e.journal)[16:])*uint64(ps):]
	var records uint64
	for i := range int(le.LittleEndian.Uint16(root[10:])) {
		el := root[16+16*i:]
		pos, ksize := le.LittleEndian.Uint32(el[4:]), le.LittleEndian.Uint32(el[8:])
		if k := el[pos : pos+ksize]; string(k) == "records" {
			records = le.LittleEndian.Uint64(el[pos+ksize:])
		}
	}
	page := b[records*uint64(ps):]
	if records == 0 || le.LittleEndian.Uint16(page[8:]) != 0x01 {
		t.Fatalf("the records bucket's root (page %d) is not a branch page", records)
	}
	for i := 16; i < 32; i++ {
		page[i] ^= 0xff
	}
	if err := os.WriteFile(e.journal, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"queue", "--all"}, {"report"}} {
		e.refusedAsDamaged("reading it failed", cmd...)
	}
	if code, out, _ := e.runCLI("journal", "check", "--full"); code != exitDamaged || !strings.Contains(out, "DAMAGE") {
		t.Fatalf("journal check --full: exit %d\n%s", code, out)
	}
	if code, out, stderr := e.runCLI("journal", "rebuild"); code != 0 || !strings.Contains(out, "150 records") {
		t.Fatalf("journal rebuild: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, _ := e.runCLI("queue", "--all"); code != 0 || !strings.Contains(out, "-- 150 records") {
		t.Fatalf("queue after the rebuild: exit %d\n%s", code, out)
	}
}

func TestE2EEmptiedJournalIsRefusedUnlessNewJournal(t *testing.T) {
	e := newEnv(t)
	e.write("one.txt", []byte("one"))
	d := e.start()
	await(t, 20*time.Second, "archived", func() bool { return e.archived("one.txt", []byte("one")) })
	d.stop()
	if err := os.Truncate(e.journal, 0); err != nil {
		t.Fatal(err)
	}
	d = e.start()
	select {
	case err := <-d.done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitDamaged || !strings.Contains(d.output(), "empty") || !strings.Contains(d.output(), "--new-journal") {
			t.Fatalf("run on an emptied journal: %v\n%s", err, d.output())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run on an emptied journal did not exit")
	}
	if posts := e.sb.Stats().Posts; posts != 1 {
		t.Fatalf("%d posts: the emptied journal was started afresh", posts)
	}
	e.refusedAsDamaged("empty", "status")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang must not outlive the test
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--config", e.config, "--new-journal", "--once")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run --new-journal --once: %v\n%s", err, out)
	}
	if code, _, stderr := e.runCLI("status"); code != exitNotRunning {
		t.Fatalf("status after --new-journal: exit %d: %s", code, stderr)
	}
}

func TestE2EJournalTruncatedUnderTheDaemonStopsIt(t *testing.T) {
	e := newEnv(t)
	e.write("one.txt", []byte("one"))
	d := e.start()
	await(t, 20*time.Second, "archived", func() bool { return e.archived("one.txt", []byte("one")) })
	ps, _ := journalMeta(t, e.journal)
	if err := os.Truncate(e.journal, 3*ps); err != nil {
		t.Fatal(err)
	}
	e.write("two.txt", []byte("two"))
	select {
	case err := <-d.done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitDamaged || d.logCount("JOURNAL DAMAGED: stopping, nothing more is written to it; "+
			"'archivist journal check --full' says more, 'archivist journal rebuild' makes a new journal from what survives") != 1 {
			t.Fatalf("daemon after its journal was truncated: %v\n%s", err, d.output())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("daemon still running 20s after its journal was truncated\n%s", d.output())
	}
	if strings.Contains(d.output(), "SIGBUS") || strings.Contains(d.output(), "goroutine ") {
		t.Fatalf("daemon crashed:\n%s", d.output())
	}
}
