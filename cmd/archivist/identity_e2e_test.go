package main

import (
	"encoding/json"
	"fmt"
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

// rewriteInPlace writes content over p (same inode, same size) and sets its mtime back, as
// touch -d does after an export tool corrected a file.
func rewriteInPlace(t *testing.T, p string, content []byte, mtime time.Time) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != int64(len(content)) {
		t.Fatalf("test setup: %d bytes over %d", len(content), fi.Size())
	}
	// The next change time must differ from the last one, even on coarse timestamps.
	ctime := time.Unix(fi.Sys().(*syscall.Stat_t).Ctim.Unix())
	await(t, 5*time.Second, "the clock past the change time", func() bool { return time.Now().After(ctime.Add(10 * time.Millisecond)) })
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(content, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// replaceKeeping removes p and writes content under its name with mtime, as cp -p and tar x
// do; ext4 often gives the new file the inode just freed.
func replaceKeeping(t *testing.T, p string, content []byte, mtime time.Time) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	ctime := time.Unix(fi.Sys().(*syscall.Stat_t).Ctim.Unix())
	await(t, 5*time.Second, "the clock past the change time", func() bool { return time.Now().After(ctime.Add(10 * time.Millisecond)) })
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

var (
	v1Trades = []byte("1000 shares at 10.00")
	v2Trades = []byte("9000 shares at 99.99")
	tradeDay = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
)

// The case of the report: v1 archived, then v2 of the same size written in place with the
// mtime set back (or put in its place by cp -p), with after: delete. Before, v2 looked like v1
// to every check: it was never archived, and v1's disposal deleted it. Now v2 reaches the
// archive, and the file is deleted only as v2, once v2 is archived.
func TestE2ERewriteKeepingSizeAndMtimeIsArchivedBeforeDelete(t *testing.T) {
	t.Run("in place", func(t *testing.T) { testArchivedBeforeDelete(t, rewriteInPlace) })
	t.Run("cp -p", func(t *testing.T) { testArchivedBeforeDelete(t, replaceKeeping) })
}

func testArchivedBeforeDelete(t *testing.T, change func(t *testing.T, p string, content []byte, mtime time.Time)) {
	e := newEnv(t, func(_ *sandbox.Options, vars map[string]string) {
		vars["extra"] = "    after: delete\n    retention: 3s\n"
	})
	p := filepath.Join(e.inbox, "trades.csv")
	e.write("trades.csv", v1Trades)
	if err := os.Chtimes(p, tradeDay, tradeDay); err != nil {
		t.Fatal(err)
	}
	d := e.start()
	await(t, 20*time.Second, "v1 archived", func() bool { return e.archived("trades.csv", v1Trades) })
	change(t, p, v2Trades, tradeDay)
	await(t, 30*time.Second, "v2 archived and then deleted", func() bool {
		_, err := os.Lstat(p)
		if os.IsNotExist(err) && !e.archived("trades.csv", v2Trades) {
			t.Fatal("the file was deleted while v2 was not archived")
		}
		return os.IsNotExist(err)
	})
	if !e.archived("trades.csv", v2Trades) {
		t.Fatal("v2 is not in the archive")
	}
	out := e.cli("queue", "--all")
	d.stop()
	if !strings.Contains(out, "trades.csv") {
		t.Fatalf("queue does not list the file:\n%s", out)
	}
}

// The same rewrite made while the daemon is stopped: the start-up scan finds the file
// changed although its size, mtime and inode are those the journal recorded.
func TestE2ERewriteWhileStoppedIsArchived(t *testing.T) {
	e := newEnv(t)
	p := filepath.Join(e.inbox, "trades.csv")
	e.write("trades.csv", v1Trades)
	if err := os.Chtimes(p, tradeDay, tradeDay); err != nil {
		t.Fatal(err)
	}
	d := e.start()
	await(t, 20*time.Second, "v1 archived", func() bool { return e.archived("trades.csv", v1Trades) })
	d.stop()
	rewriteInPlace(t, p, v2Trades, tradeDay)
	d = e.start()
	await(t, 20*time.Second, "v2 archived", func() bool { return e.archived("trades.csv", v2Trades) })
	if out := e.cli("reconcile"); !strings.Contains(out, "0 unexplained") {
		t.Errorf("reconcile after v2 was archived:\n%s", out)
	}
	d.stop()
}

// archivist reconcile --verify reads every archived file again: one whose bytes are not the
// archived ones (here the journal is made to say so, as when bytes change without a trace in
// the metadata) is unexplained and archived again as a new version.
func TestE2EReconcileVerify(t *testing.T) {
	e := newEnv(t)
	e.write("a.csv", []byte("first file"))
	e.write("b.csv", []byte("second file"))
	d := e.start()
	await(t, 20*time.Second, "files archived and recorded as posted", func() bool {
		var st struct{ Counts map[string]int }
		return e.archived("a.csv", []byte("first file")) && e.archived("b.csv", []byte("second file")) &&
			json.Unmarshal([]byte(e.cli("status", "--json")), &st) == nil && st.Counts["posted"] == 2
	})
	if out := e.cli("reconcile", "--verify"); !strings.Contains(out, "2 hash to the archived SHA-256, 0 do not") || !strings.Contains(out, "0 unexplained") {
		t.Fatalf("reconcile --verify with everything archived:\n%s", out)
	}
	d.stop()

	j, err := journal.Open(e.journal, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fp, ok, err := j.Current("teams", "b.csv")
	if err != nil || !ok {
		t.Fatal("b.csv not recorded")
	}
	if err := j.Update(fp.ID, func(r *journal.Record) ([]journal.Entry, error) {
		r.SHA256 = strings.Repeat("0", 64)
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	j.Close()

	d = e.start()
	await(t, 20*time.Second, "start-up scan", func() bool { return d.logCount("scan done") >= 1 })
	out := e.cli("reconcile", "--verify")
	if !strings.Contains(out, "1 hash to the archived SHA-256, 1 do not") || !strings.Contains(out, "1 unexplained") || !strings.Contains(out, "teams:b.csv") {
		t.Fatalf("reconcile --verify with b.csv's bytes not the archived ones:\n%s", out)
	}
	await(t, 20*time.Second, "b.csv archived again as a new version", func() bool {
		// Until the new version is recorded, no record claims the path and show fails.
		out, _ := exec.Command(binary, "show", "--config", e.config, "teams:b.csv").Output()
		return strings.Contains(string(out), "state      posted") && !strings.Contains(string(out), fmt.Sprintf("record     #%d\n", fp.ID))
	})
	d.stop()
}
