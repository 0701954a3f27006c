package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/journal"
)

func openJournal(t *testing.T) *journal.DB {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// Reconciliation is a function of the journal and the watches: no pipeline, no client.
// Without requeue, an unexplained file is counted and named, never handed on.
func TestRunOverAJournalAndWatchesOnly(t *testing.T) {
	j := openJournal(t)
	root := t.TempDir()
	missed := filepath.Join(root, "sub", "missed.txt")
	if err := os.MkdirAll(filepath.Dir(missed), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(missed, []byte("missed"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(missed, old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, ".ignored"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	rechecked := 0
	s, err := Run(context.Background(), Options{Journal: j, Watches: []Watch{{Name: "teams", Root: root, Ignore: []string{".*"}}},
		StaleAfter: time.Hour, Recheck: func(string, string) { rechecked++ }})
	if err != nil {
		t.Fatal(err)
	}
	if s.OnDisk != 1 || s.Unexplained != 1 || len(s.Examples) != 1 || s.Examples[0] != "teams:sub/missed.txt" {
		t.Fatalf("summary %+v", s)
	}
	if rechecked != 0 {
		t.Fatalf("%d files handed on without requeue", rechecked)
	}
	last, err := Last(j)
	if err != nil || last == nil || last.Unexplained != 1 {
		t.Fatalf("last reconciliation %+v, %v", last, err)
	}
}

// A stored summary that does not decode is an error, not "never run". (It read as never
// run before.)
func TestCorruptSummaryIsAnError(t *testing.T) {
	j := openJournal(t)
	if s, err := Last(j); s != nil || err != nil {
		t.Fatalf("before any reconciliation: %+v, %v", s, err)
	}
	if err := j.SetMeta(metaLastReconcile, `{"time":"not a time"`); err != nil {
		t.Fatal(err)
	}
	if s, err := Last(j); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt summary: %+v, %v", s, err)
	}
}
