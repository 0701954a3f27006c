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

var (
	v1Trades = []byte("1000 shares at 10.00")
	v2Trades = []byte("9000 shares at 99.99")
	tradeDay = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
)

// The case of the report: v1 archived, then v2 of the same size written in place with the
// mtime set back, with after: delete. Before, v2 looked like v1 to every check: it was never
// archived, and v1's disposal deleted it. Now v2 reaches the archive, and the file is deleted
// only as v2, once v2 is archived.
func TestE2ERewriteKeepingSizeAndMtimeIsArchivedBeforeDelete(t *testing.T) {
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
	rewriteInPlace(t, p, v2Trades, tradeDay)
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
