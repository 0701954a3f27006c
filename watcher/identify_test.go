package watcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// identifier is a fake Options.Identify that hashes the file as it is on disk.
type identifier struct {
	root  string
	mu    sync.Mutex
	calls []time.Time
	hold  chan struct{} // if set, each call reads the file, then waits for it before returning
}

func (id *identifier) identify(ctx context.Context, f File) (string, string, error) {
	b, err := os.ReadFile(filepath.Join(id.root, f.RelPath))
	id.mu.Lock()
	id.calls = append(id.calls, time.Now())
	hold := id.hold
	id.mu.Unlock()
	if err != nil {
		return "", "", err
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
		}
	}
	return hexSum(b), "text/plain", nil
}

// release lets the held call return, and the next ones not wait.
func (id *identifier) release() {
	id.mu.Lock()
	defer id.mu.Unlock()
	close(id.hold)
	id.hold = nil
}

func (id *identifier) called() []time.Time {
	id.mu.Lock()
	defer id.mu.Unlock()
	return append([]time.Time(nil), id.calls...)
}

func identifyingHarness(t *testing.T, settle time.Duration) (*harness, *identifier, Root) {
	rt := testRoot(t, settle)
	h := newHarness(t, rt)
	id := &identifier{root: rt.Path}
	h.w.identify = id.identify
	h.w.identifyMin = 0
	return h, id, rt
}

// A file is identified while it settles, and reported with what was found once it is quiet
// for all of Settle.
func TestFileIdentifiedWhileItSettles(t *testing.T) {
	const settle = 200 * time.Millisecond
	h, id, rt := identifyingHarness(t, settle)
	h.start()
	content := []byte("quarterly numbers\n")
	write(t, filepath.Join(rt.Path, "q3.txt"), string(content))
	written := time.Now()
	got := h.expect("q3.txt")["q3.txt"]
	if got.SHA256 != hexSum(content) || got.MIME != "text/plain" {
		t.Fatalf("reported sha256 %q mime %q, want the identification", got.SHA256, got.MIME)
	}
	calls := id.called()
	if len(calls) != 1 {
		t.Fatalf("identified %d times, want once", len(calls))
	}
	if d := calls[0].Sub(written); d < settle/2 || !calls[0].Before(got.at) {
		t.Fatalf("identified %v after the write (report %v after): want halfway through the settle, before the report",
			d, got.at.Sub(written))
	}
	if d := got.at.Sub(written); d < settle {
		t.Fatalf("reported %v after the write, before settle %v", d, settle)
	}
}

// A file moved in whole, its mtime older than half its settle, is identified at once rather
// than halfway through its settle, so that the read of a large file overlaps all of it; it is
// still reported only once it has been quiet for all of Settle.
func TestFileMovedInWholeIsIdentifiedAtOnce(t *testing.T) {
	const settle = 2 * time.Second
	h, id, rt := identifyingHarness(t, settle)
	h.start()
	staged := filepath.Join(t.TempDir(), "export.bin")
	write(t, staged, "bytes written long ago")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(staged, old, old); err != nil {
		t.Fatal(err)
	}
	moved := time.Now()
	if err := os.Rename(staged, filepath.Join(rt.Path, "export.bin")); err != nil {
		t.Fatal(err)
	}
	got := h.expect("export.bin")["export.bin"]
	calls := id.called()
	if len(calls) != 1 || got.SHA256 != hexSum([]byte("bytes written long ago")) {
		t.Fatalf("identified %d times, reported sha256 %q: want one identification, reported", len(calls), got.SHA256)
	}
	if d := calls[0].Sub(moved); d >= settle/2 {
		t.Fatalf("identified %v after the move: want at once, not halfway through the settle", d)
	}
	if d := got.at.Sub(moved); d < settle {
		t.Fatalf("reported %v after the move, before settle %v", d, settle)
	}
}

// A quiet file whose identification takes longer than its settle is reported when the
// identification ends, with it.
func TestQuietFileWaitsForItsIdentification(t *testing.T) {
	const settle = 100 * time.Millisecond
	h, id, rt := identifyingHarness(t, settle)
	id.hold = make(chan struct{})
	h.start()
	write(t, filepath.Join(rt.Path, "big.bin"), "many bytes")
	h.waitFor("identification to start", func() bool { return len(id.called()) == 1 })
	// Let it wait past its settle: the file is quiet, its identification is not done.
	deadline := time.Now().Add(3 * settle)
	for time.Now().Before(deadline) {
		select {
		case r := <-h.reports:
			t.Fatalf("reported %q before its identification ended", r.RelPath)
		case <-time.After(10 * time.Millisecond):
		}
	}
	id.release()
	got := h.expect("big.bin")["big.bin"]
	if got.SHA256 != hexSum([]byte("many bytes")) {
		t.Fatalf("reported sha256 %q, want the identification's", got.SHA256)
	}
}

// A rewrite that keeps size and mtime, made while the file was being identified: what the
// identification read is never reported for the new version.
func TestRewriteDuringIdentificationIsNotReportedWithTheOldHash(t *testing.T) {
	const settle = 150 * time.Millisecond
	h, id, rt := identifyingHarness(t, settle)
	id.hold = make(chan struct{})
	h.start()
	p := filepath.Join(rt.Path, "ledger.csv")
	old, rewritten := []byte("a,b,c\n1,2,3\n"), []byte("a,b,c\n9,9,9\n")
	write(t, p, string(old))
	h.waitFor("identification to start", func() bool { return len(id.called()) == 1 })
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, string(rewritten))
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	id.release()
	got := h.expect("ledger.csv")["ledger.csv"]
	if got.SHA256 == hexSum(old) {
		t.Fatal("the rewritten version was reported with the hash of the old bytes")
	}
	if got.SHA256 != "" && got.SHA256 != hexSum(rewritten) {
		t.Fatalf("reported sha256 %q: neither empty nor the new bytes'", got.SHA256)
	}
}

// A small file is not identified while it settles: the upload lane reads it, which costs
// less than opening it twice.
func TestSmallFileNotIdentifiedWhileItSettles(t *testing.T) {
	const settle = 100 * time.Millisecond
	h, id, rt := identifyingHarness(t, settle)
	h.w.identifyMin = identifyMinSize
	h.start()
	write(t, filepath.Join(rt.Path, "small.txt"), "a few bytes")
	big := make([]byte, identifyMinSize)
	write(t, filepath.Join(rt.Path, "large.bin"), string(big))
	got := h.expect("small.txt", "large.bin")
	if got["small.txt"].SHA256 != "" || len(id.called()) != 1 {
		t.Fatalf("small file reported with %q, %d identifications: want only the large file identified",
			got["small.txt"].SHA256, len(id.called()))
	}
	if got["large.bin"].SHA256 != hexSum(big) {
		t.Fatalf("large file reported with %q", got["large.bin"].SHA256)
	}
}
