package main

import (
	"bufio"
	be "encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/journal"
)

// flaky is an env whose archive fails half the requests, so archived files have failed
// attempts (audit detail) in their trails.
func flaky(t *testing.T) *env {
	return newEnv(t, func(so *sandbox.Options, vars map[string]string) {
		so.Faults = sandbox.Faults{FailRate: 0.5}
	})
}

// journalFacts is what must survive a compaction: every record, and every audit entry that
// is not detail; detail counts the failed attempts and waits of archived files.
func journalFacts(t *testing.T, path string) (facts string, detail int) {
	t.Helper()
	db, err := journal.Open(path, journal.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	var ids []uint64
	finished := map[uint64]bool{}
	if err := db.Each(func(r *journal.Record) bool {
		fmt.Fprintf(&b, "#%d %s %s %s %s %s\n", r.ID, r.Path, r.State, r.SHA256, r.FileKey, r.RequestID)
		ids = append(ids, r.ID)
		finished[r.ID] = r.State == journal.Posted && len(r.Lanes) == 0
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		trail, err := db.Audit(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range trail {
			if e.Result == "error" || e.Result == "waiting" {
				if finished[id] { // the detail a compaction removes; other records keep theirs
					detail++
					continue
				}
			}
			fmt.Fprintf(&b, "  #%d %s %s %s %d %s\n", id, e.Time.UTC().Format(time.RFC3339Nano), e.Step, e.Result, e.Status, e.RequestID)
		}
	}
	return b.String(), detail
}

var removedRe = regexp.MustCompile(`audit +(\d+) detail entries`)

func removedCount(t *testing.T, out string) int {
	t.Helper()
	m := removedRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no count of removed entries in:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// An auditor's check after a compaction: the trail without its old detail still verifies,
// a report signed before it still verifies, and a changed kept entry or a changed checkpoint
// is named.
func TestE2EJournalCompactOffline(t *testing.T) {
	e := flaky(t)
	e.archiveMany(30)
	key := filepath.Join(e.dir, "custody.key")
	e.run("keygen", "--out", key)
	report := filepath.Join(e.dir, "custody.csv")
	e.cli("report", "--output", report, "--sign", key)
	headBefore := chainHeadOf(t, e.cli("verify"))
	facts, detail := journalFacts(t, e.journal)
	if detail == 0 {
		t.Fatal("no failed attempts to remove: the test proves nothing")
	}

	out := e.cli("journal", "compact", "--older-than", "0")
	if n := removedCount(t, out); n != detail {
		t.Fatalf("removed %d detail entries, the journal had %d:\n%s", n, detail, out)
	}
	if after, left := journalFacts(t, e.journal); after != facts || left != 0 {
		t.Fatalf("the facts changed (%d detail left):\nbefore\n%s\nafter\n%s", left, facts, after)
	}
	verified := e.cli("verify")
	if chainHeadOf(t, verified) != headBefore || !strings.Contains(verified, "OK") || !strings.Contains(verified, fmt.Sprintf("%d detail entries removed", detail)) {
		t.Fatalf("verify after compaction (head was %s):\n%s", headBefore, verified)
	}
	if out := e.run("verify-report", report, report+".sig", "--public-key", key+".pub"); !strings.Contains(out, "OK:") || !strings.Contains(out, headBefore) {
		t.Fatalf("a report signed before the compaction: %s", out)
	}
	if _, err := os.Stat(e.journal + journal.CompactSuffix); !os.IsNotExist(err) {
		t.Fatalf("the copy was left behind: %v", err)
	}

	// One byte of a kept entry, then the checkpoint.
	pristine, err := os.ReadFile(e.journal)
	if err != nil {
		t.Fatal(err)
	}
	var id, seq uint64
	boltEdit(t, e.journal, func(tx *bolt.Tx) error {
		k, v := tx.Bucket([]byte("audit")).Cursor().Last()
		id, seq = be.BigEndian.Uint64(k), be.BigEndian.Uint64(k[8:])
		v = append([]byte(nil), v...)
		v[len(v)-1] ^= 1
		return tx.Bucket([]byte("audit")).Put(append([]byte(nil), k...), v)
	})
	want := fmt.Sprintf("BROKEN     audit entry %d of record #%d was changed", seq, id)
	if code, out, _ := e.runCLI("verify"); code == 0 || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want %q:\n%s", code, want, out)
	}
	if err := os.WriteFile(e.journal, pristine, 0o600); err != nil {
		t.Fatal(err)
	}
	boltEdit(t, e.journal, func(tx *bolt.Tx) error {
		v := append([]byte(nil), tx.Bucket([]byte("meta")).Get([]byte("chain/base"))...)
		v[12] ^= 1
		return tx.Bucket([]byte("meta")).Put([]byte("chain/base"), v)
	})
	if code, out, _ := e.runCLI("verify"); code == 0 || !strings.Contains(out, "BROKEN     the compaction checkpoint was changed") {
		t.Fatalf("exit %d after the checkpoint was changed:\n%s", code, out)
	}
}

func chainHeadOf(t *testing.T, verified string) string {
	t.Helper()
	i := strings.Index(verified, "chain head")
	if i < 0 {
		t.Fatalf("no chain head in:\n%s", verified)
	}
	return strings.Fields(verified[i:])[2]
}

func boltEdit(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// A compaction killed with SIGKILL at any step leaves a journal that opens, verifies and
// holds everything it held; the next compaction finishes the work.
func TestE2EJournalCompactKilled(t *testing.T) {
	for _, step := range []string{"audit", "copied"} {
		t.Run(step, func(t *testing.T) {
			e := flaky(t)
			e.archiveMany(30)
			facts, _ := journalFacts(t, e.journal)
			head := chainHeadOf(t, e.cli("verify"))

			cmd := exec.Command(binary, "journal", "compact", "--config", e.config, "--older-than", "0")
			cmd.Env = append(os.Environ(), "ARCHIVIST_TEST_COMPACT_PAUSE="+step)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			paused := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "compact paused at ") {
						paused <- sc.Text()
					}
				}
			}()
			select {
			case <-paused:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the compaction never reached the step")
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()

			if code, out, errOut := e.runCLI("journal", "check", "--full"); code != 0 {
				t.Fatalf("journal check after the kill: exit %d\n%s%s", code, out, errOut)
			}
			verified := e.cli("verify")
			if chainHeadOf(t, verified) != head {
				t.Fatalf("verify after the kill:\n%s", verified)
			}
			after, _ := journalFacts(t, e.journal)
			if after != facts {
				t.Fatalf("the kill lost facts:\nbefore\n%s\nafter\n%s", facts, after)
			}
			e.cli("journal", "compact", "--older-than", "0")
			if _, left := journalFacts(t, e.journal); left != 0 {
				t.Fatalf("%d detail entries left after the second compaction", left)
			}
			if _, err := os.Stat(e.journal + journal.CompactSuffix); !os.IsNotExist(err) {
				t.Fatalf("the copy of the killed run was left behind: %v", err)
			}
			// The daemon starts on it and archives nothing again.
			puts := e.sb.Stats().Puts
			d := e.start()
			e.write("late.txt", []byte("after the compaction"))
			await(t, 30*time.Second, "the new file archived", func() bool { return e.archived("late.txt", []byte("after the compaction")) })
			d.stop()
			if got := e.sb.Stats().Puts - puts; got < 1 || d.logCount("file discovered") != 1 {
				t.Fatalf("%d PUTs after the restart; discovered %d files", got, d.logCount("file discovered"))
			}
			if out := e.cli("verify"); !strings.Contains(out, "OK") {
				t.Fatalf("verify at the end:\n%s", out)
			}
		})
	}
}

// Online: the running daemon compacts in short transactions and keeps archiving.
func TestE2EJournalCompactOnline(t *testing.T) {
	e := flaky(t)
	e.archiveMany(30)
	_, detail := journalFacts(t, e.journal)
	d := e.start()
	e.write("during-1.txt", []byte("one"))
	await(t, 30*time.Second, "the daemon archiving", func() bool { return e.archived("during-1.txt", []byte("one")) })
	out := e.cli("journal", "compact", "--older-than", "0")
	if !strings.Contains(out, "compacted by the running daemon") || removedCount(t, out) < detail {
		t.Fatalf("online compaction (%d detail before):\n%s", detail, out)
	}
	e.write("during-2.txt", []byte("two"))
	await(t, 30*time.Second, "a file archived after the compaction", func() bool { return e.archived("during-2.txt", []byte("two")) })
	d.stop()
	if out := e.cli("verify"); !strings.Contains(out, "OK") || !strings.Contains(out, "detail entries removed") {
		t.Fatalf("verify after an online compaction:\n%s", out)
	}
	e.checkJournal()
}
