package watcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sys/unix"

	"github.com/archivist-project/archivist/watcher/beneath"

	"github.com/archivist-project/archivist/archive/testwait"
)

// waitTimeout bounds every wait for a condition; generous because -race on
// a loaded 2-core CI machine is slow, and a passing test never waits it out.
const waitTimeout = 10 * time.Second

// harness runs a Watcher against real directories with a fake journal: an
// in-memory set of reported versions that backs Known, as the real journal
// does.
type harness struct {
	t       *testing.T
	w       *Watcher
	logHook *logtest.Hook
	reports chan report

	mu       sync.Mutex
	journal  map[File]bool // exact versions recorded
	byPath   map[string]int
	failNext int // Settled calls still to fail
	failed   int
}

type report struct {
	File
	at time.Time
}

func versionKey(f File) File {
	f.Nlink = 0 // not part of a version
	f.SHA256, f.MIME = "", ""
	f.ModTime = f.ModTime.UTC()
	f.ChangeTime = f.ChangeTime.UTC()
	f.Birth = f.Birth.UTC()
	return f
}

func newHarness(t *testing.T, roots ...Root) *harness {
	t.Helper()
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	h := &harness{
		t:       t,
		logHook: hook,
		reports: make(chan report, 100000),
		journal: make(map[File]bool),
		byPath:  make(map[string]int),
	}
	w, err := New(roots, Options{
		Logger:  logger,
		Known:   h.known,
		Settled: h.settled,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.pollInterval = 50 * time.Millisecond
	w.fallbackInterval = 100 * time.Millisecond
	w.retryMin = 20 * time.Millisecond
	w.retryMax = 100 * time.Millisecond
	h.w = w
	return h
}

func (h *harness) known(f File) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.journal[versionKey(f)]
}

func (h *harness) settled(ctx context.Context, files []File) error {
	if len(files) == 0 || len(files) > maxBatch {
		h.t.Errorf("Settled called with %d files", len(files))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failNext > 0 {
		h.failNext--
		h.failed++
		return errors.New("journal: disk full")
	}
	now := time.Now()
	for _, f := range files {
		h.journal[versionKey(f)] = true
		h.byPath[f.Watch+"/"+f.RelPath]++
		h.reports <- report{f, now}
	}
	return nil
}

// start runs the watcher until the test ends and waits for the start-up
// scan of every root, so that all watches exist.
func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.w.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run: %v", err)
			}
		case <-time.After(waitTimeout):
			h.t.Error("Run did not return after cancel")
		}
	})
	h.waitFor("start-up scan", func() bool {
		for _, r := range h.w.Stats().Roots {
			if r.Scans == 0 && !r.Missing {
				return false
			}
		}
		return true
	})
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	testwait.For(h.t, waitTimeout, what, cond)
}

// expect waits until every path in want was reported and returns those
// reports by path; reports of other paths fail the test.
func (h *harness) expect(want ...string) map[string]report {
	h.t.Helper()
	need := make(map[string]bool, len(want))
	for _, p := range want {
		need[p] = true
	}
	got := make(map[string]report, len(want))
	deadline := time.After(waitTimeout)
	for len(got) < len(need) {
		select {
		case r := <-h.reports:
			if !need[r.RelPath] {
				h.t.Fatalf("unexpected report of %q (%s)", r.RelPath, r.Kind)
			}
			if _, dup := got[r.RelPath]; dup {
				h.t.Fatalf("%q reported twice", r.RelPath)
			}
			got[r.RelPath] = r
		case <-deadline:
			var missing []string
			for p := range need {
				if _, ok := got[p]; !ok {
					missing = append(missing, p)
				}
			}
			h.t.Fatalf("timed out; %d of %d not reported, e.g. %q", len(missing), len(need), missing[:min(5, len(missing))])
		}
	}
	return got
}

// rescanAndCheckQuiet forces a full scan and then checks that nothing is
// pending and nothing else was reported. A file that should have been
// ignored, or a duplicate, would be pending after the scan (it is not in the
// journal), so no time window has to be waited out.
func (h *harness) rescanAndCheckQuiet(watch string) {
	h.t.Helper()
	before := h.scans()
	h.w.Rescan(watch)
	h.waitFor("rescan", func() bool { return h.scans() > before })
	if p := h.w.Stats().Pending; p != 0 {
		h.t.Fatalf("%d entries pending after rescan, want 0", p)
	}
	select {
	case r := <-h.reports:
		h.t.Fatalf("unexpected report of %q", r.RelPath)
	default:
	}
}

func (h *harness) scans() uint64 {
	var n uint64
	for _, r := range h.w.Stats().Roots {
		n += r.Scans
	}
	return n
}

func (h *harness) reportCount(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byPath[path]
}

func (h *harness) logged(substr string) int {
	n := 0
	for _, e := range h.logHook.AllEntries() {
		if strings.Contains(e.Message, substr) {
			n++
		}
	}
	return n
}

func (h *harness) noErrorLogs() {
	h.t.Helper()
	for _, e := range h.logHook.AllEntries() {
		if e.Level <= logrus.WarnLevel {
			h.t.Errorf("unexpected log: %s: %s %v", e.Level, e.Message, e.Data)
		}
	}
}

func testRoot(t *testing.T, settle time.Duration) Root {
	return Root{Name: "drop", Path: t.TempDir(), Settle: settle, Ignore: DefaultIgnore}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReportsWrittenFileOnce(t *testing.T) {
	const settle = 100 * time.Millisecond
	rt := testRoot(t, settle)
	h := newHarness(t, rt)
	h.start()

	p := filepath.Join(rt.Path, "report.pdf")
	write(t, p, "%PDF-1.7 hello")
	written := time.Now()
	got := h.expect("report.pdf")["report.pdf"]

	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if got.Watch != "drop" || got.Kind != "file" || got.Size != fi.Size() ||
		!got.ModTime.Equal(fi.ModTime()) || got.Inode != st.Ino || got.Dev != st.Dev || got.Nlink != 1 ||
		!got.ChangeTime.Equal(time.Unix(st.Ctim.Unix())) {
		t.Fatalf("reported %+v; on disk size %d mtime %v inode %d dev %d", got.File, fi.Size(), fi.ModTime(), st.Ino, st.Dev)
	}
	if d := got.at.Sub(written); d < settle {
		t.Fatalf("reported %v after the write, before settle %v", d, settle)
	}
	h.rescanAndCheckQuiet("")
	if n := h.reportCount("drop/report.pdf"); n != 1 {
		t.Fatalf("reported %d times", n)
	}
	h.noErrorLogs()
}

func TestSlowWriterReportedAfterItStops(t *testing.T) {
	const settle = 100 * time.Millisecond
	rt := testRoot(t, settle)
	h := newHarness(t, rt)
	h.start()

	// The writer pauses 30ms, well under settle: the file is never quiet
	// for settle until the writer stops. On a loaded machine a sleep can
	// overshoot past settle, which makes the file legitimately complete
	// early; such an attempt proves nothing and is repeated.
	for attempt := range 5 {
		name := fmt.Sprintf("slow-%d.log", attempt)
		f, err := os.Create(filepath.Join(rt.Path, name))
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		var lastWrite time.Time
		var maxGap time.Duration
		for i := range 10 {
			if i > 0 {
				time.Sleep(30 * time.Millisecond)
			}
			n, err := f.WriteString("a line of a slowly written export\n")
			if err != nil {
				t.Fatal(err)
			}
			if i > 0 {
				maxGap = max(maxGap, time.Since(lastWrite))
			}
			lastWrite = time.Now()
			size += int64(n)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}

		// Collect this file's reports up to the one with the final size.
		var got []report
		deadline := time.After(waitTimeout)
		for len(got) == 0 || got[len(got)-1].Size != size {
			select {
			case r := <-h.reports:
				if r.RelPath != name {
					t.Fatalf("unexpected report of %q", r.RelPath)
				}
				got = append(got, r)
			case <-deadline:
				t.Fatalf("%s with size %d not reported; got %v", name, size, got)
			}
		}
		if maxGap >= settle*8/10 {
			t.Logf("attempt %d: writer paused %v, close to settle; repeating", attempt, maxGap)
			continue
		}
		if len(got) != 1 {
			t.Fatalf("reported %d times (sizes %d, %d, ...) while being written", len(got), got[0].Size, got[1].Size)
		}
		if got[0].at.Before(lastWrite.Add(settle)) {
			t.Fatalf("reported %v after the last write, want >= settle", got[0].at.Sub(lastWrite))
		}
		h.rescanAndCheckQuiet("")
		return
	}
	t.Skip("machine too loaded to keep a writer's pauses under settle")
}

func TestTemporaryNamesIgnored(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	h := newHarness(t, rt)
	h.start()

	for _, name := range []string{".x", "a.part", "b.tmp", "c.crdownload", "~$d.docx", ".cache/inside.pdf"} {
		write(t, filepath.Join(rt.Path, name), "temporary")
	}
	if err := os.Rename(filepath.Join(rt.Path, "a.part"), filepath.Join(rt.Path, "a.pdf")); err != nil {
		t.Fatal(err)
	}
	h.expect("a.pdf")
	h.rescanAndCheckQuiet("")
	h.noErrorLogs()
}

func TestBurstOfNestedDirectories(t *testing.T) {
	rt := testRoot(t, 200*time.Millisecond)
	h := newHarness(t, rt)
	h.start()

	var want []string
	for d := range 20 {
		dir := fmt.Sprintf("export-%02d/chats/2024", d)
		if err := os.MkdirAll(filepath.Join(rt.Path, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 25 {
			rel := fmt.Sprintf("%s/msg-%03d.json", dir, f)
			write(t, filepath.Join(rt.Path, rel), rel)
			want = append(want, rel)
		}
	}
	h.expect(want...)
	h.rescanAndCheckQuiet("")
	for _, rel := range want {
		if n := h.reportCount("drop/" + rel); n != 1 {
			t.Fatalf("%s reported %d times", rel, n)
		}
	}
	if got := h.w.Stats().WatchedDirs; got != 1+20*3 {
		t.Fatalf("watching %d directories, want %d", got, 1+20*3)
	}
	h.noErrorLogs()
}

func TestStartScanReportsExistingFiles(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	names := []string{"a.txt", "sub dir/b.txt", "sub dir/deeper/ünïcode ✓.json", "odd\nname\xff.bin"}
	for _, n := range names {
		write(t, filepath.Join(rt.Path, n), n)
	}
	h := newHarness(t, rt)
	h.start()
	got := h.expect(names...)
	if r := got["odd\nname\xff.bin"]; r.Size != int64(len("odd\nname\xff.bin")) {
		t.Fatalf("raw name: %+v", r.File)
	}
	h.rescanAndCheckQuiet("")
}

// A folder is reported in name order, whatever order its directory lists the names in, so
// that the journal's ids, and the uploads that follow them, follow the names too.
func TestFolderReportedInNameOrder(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	const n = 300
	for _, i := range rand.Perm(n) {
		write(t, filepath.Join(rt.Path, "in", fmt.Sprintf("f%04d.txt", i)), "x")
	}
	h := newHarness(t, rt)
	h.start()
	var got []string
	deadline := time.After(waitTimeout)
	for len(got) < n {
		select {
		case r := <-h.reports:
			got = append(got, r.RelPath)
		case <-deadline:
			t.Fatalf("%d of %d files reported", len(got), n)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("reported out of name order: %q after %q", got[i], got[i-1])
		}
	}
}

func TestKnownFilesSkipped(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	for i := range 100 {
		write(t, filepath.Join(rt.Path, "old", fmt.Sprintf("%d.txt", i)), "archived")
	}
	h := newHarness(t, rt)
	// Record every existing file in the journal, as a previous run would have.
	for i := range 100 {
		rel := fmt.Sprintf("old/%d.txt", i)
		h.journal[versionKey(onDisk(t, rt, rel))] = true
	}
	h.start()
	// Known files are skipped at first sighting: nothing even waits to settle.
	if p := h.w.Stats().Pending; p != 0 {
		t.Fatalf("%d known files pending after the start-up scan", p)
	}
	write(t, filepath.Join(rt.Path, "new.txt"), "new")
	h.expect("new.txt")
	h.rescanAndCheckQuiet("")
}

func TestSymlinksReportedNotFollowed(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	outside := t.TempDir()
	write(t, filepath.Join(outside, "secret.txt"), "secret")
	write(t, filepath.Join(outside, "dir", "inner.txt"), "inner")
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(rt.Path, "file-link")); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, rt)
	h.start()
	// One link present at start, one created while running.
	if err := os.Symlink(filepath.Join(outside, "dir"), filepath.Join(rt.Path, "dir-link")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(rt.Path, "real.txt"), "real")
	got := h.expect("file-link", "dir-link", "real.txt")
	for _, l := range []string{"file-link", "dir-link"} {
		if got[l].Kind != "symlink" {
			t.Errorf("%s reported as %q, want symlink", l, got[l].Kind)
		}
	}
	h.rescanAndCheckQuiet("")
	if n := h.w.Stats().WatchedDirs; n != 1 {
		t.Fatalf("watching %d directories, want only the root", n)
	}
	// Writing outside must not produce anything either.
	write(t, filepath.Join(outside, "dir", "later.txt"), "later")
	h.rescanAndCheckQuiet("")
}

func TestFIFOReportedWithoutBlocking(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	if err := unix.Mkfifo(filepath.Join(rt.Path, "pipe-at-start"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, rt)
	h.start()
	if err := unix.Mkfifo(filepath.Join(rt.Path, "pipe-later"), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(rt.Path, "after.txt"), "after")
	got := h.expect("pipe-at-start", "pipe-later", "after.txt")
	for _, p := range []string{"pipe-at-start", "pipe-later"} {
		if got[p].Kind != "named pipe (FIFO)" {
			t.Errorf("%s reported as %q", p, got[p].Kind)
		}
	}
	h.rescanAndCheckQuiet("")
}

func TestPeriodicScanFindsWhatEventsMissed(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	rt.ScanInterval = 100 * time.Millisecond
	h := newHarness(t, rt)
	h.w.addWatch = func(string) error { return nil } // pretend to watch: no events at all
	h.start()
	write(t, filepath.Join(rt.Path, "missed.txt"), "missed")
	write(t, filepath.Join(rt.Path, "new", "dir", "missed too.txt"), "missed")
	h.expect("missed.txt", "new/dir/missed too.txt")
}

func TestWatchLimitFallsBackToPolling(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	h := newHarness(t, rt)
	h.w.addWatch = func(string) error { return unix.ENOSPC }
	h.start()
	if !h.w.Stats().Roots[0].Polling {
		t.Fatal("Stats does not show the fallback to polling")
	}
	write(t, filepath.Join(rt.Path, "a.txt"), "a")
	write(t, filepath.Join(rt.Path, "sub", "b.txt"), "b")
	h.expect("a.txt", "sub/b.txt")
	write(t, filepath.Join(rt.Path, "sub2", "c.txt"), "c")
	h.expect("sub2/c.txt")
	msg := "inotify watch limit reached (fs.inotify.max_user_watches); watch drop falls back to periodic scanning every 100ms"
	if n := h.logged(msg); n != 1 {
		t.Fatalf("limit logged %d times, want once", n)
	}
}

func TestSettledErrorsRetried(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	h := newHarness(t, rt)
	h.failNext = 3
	h.start()
	var want []string
	for i := range 30 {
		rel := fmt.Sprintf("f%02d.txt", i)
		write(t, filepath.Join(rt.Path, rel), rel)
		want = append(want, rel)
	}
	h.expect(want...)
	h.mu.Lock()
	failed := h.failed
	h.mu.Unlock()
	if failed != 3 {
		t.Fatalf("Settled failed %d times, want 3", failed)
	}
	h.rescanAndCheckQuiet("")
}

func TestRecheckSettlesAgain(t *testing.T) {
	const settle = 100 * time.Millisecond
	rt := testRoot(t, settle)
	write(t, filepath.Join(rt.Path, "doc.pdf"), "v1")
	h := newHarness(t, rt)
	h.start()
	first := h.expect("doc.pdf")["doc.pdf"]
	if !h.known(first.File) {
		t.Fatal("journal does not know the reported version")
	}

	asked := time.Now()
	h.w.Recheck("drop", "doc.pdf")
	second := h.expect("doc.pdf")["doc.pdf"]
	if second.at.Sub(asked) < settle {
		t.Fatalf("rechecked file reported %v after Recheck, before settle", second.at.Sub(asked))
	}
	if second.Inode != first.Inode || second.Size != first.Size {
		t.Fatalf("second report %+v differs from first %+v", second.File, first.File)
	}
	h.rescanAndCheckQuiet("")
}

func TestCancelReturnsPromptly(t *testing.T) {
	rt := testRoot(t, 10*time.Millisecond)
	for i := range 200 {
		write(t, filepath.Join(rt.Path, fmt.Sprintf("d%d/f.txt", i)), "x")
	}
	blocked := make(chan struct{})
	var once sync.Once
	w, err := New([]Root{rt}, Options{Settled: func(ctx context.Context, files []File) error {
		once.Do(func() { close(blocked) })
		<-ctx.Done() // a journal that hangs until shutdown
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case <-blocked:
	case <-time.After(waitTimeout):
		t.Fatal("Settled never called")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return promptly after cancel")
	}
	if err := w.Run(context.Background()); err == nil {
		t.Fatal("second Run succeeded")
	}
}

func TestRootRemovedAndRecreated(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	h := newHarness(t, rt)
	h.start()
	write(t, filepath.Join(rt.Path, "before.txt"), "before")
	h.expect("before.txt")

	if err := os.RemoveAll(rt.Path); err != nil {
		t.Fatal(err)
	}
	h.waitFor("root reported missing", func() bool { return h.w.Stats().Roots[0].Missing })
	// The root is marked missing before the line is logged, outside the lock.
	h.waitFor("disappearance logged", func() bool { return h.logged("is gone; polling") > 0 })
	if n := h.logged("is gone; polling"); n != 1 {
		t.Fatalf("disappearance logged %d times, want once", n)
	}
	if n := h.w.Stats().WatchedDirs; n != 0 {
		t.Fatalf("%d directories still watched", n)
	}

	scans := h.scans()
	if err := os.Mkdir(rt.Path, 0o755); err != nil {
		t.Fatal(err)
	}
	h.waitFor("root found again", func() bool {
		s := h.w.Stats().Roots[0]
		return !s.Missing && s.Scans > scans
	})
	// Now watched again: a file written later arrives through events.
	write(t, filepath.Join(rt.Path, "sub", "after.txt"), "after")
	h.expect("sub/after.txt")
	if n := h.w.Stats().WatchedDirs; n != 2 {
		t.Fatalf("watching %d directories, want 2", n)
	}
}

func TestTreeMovedInAndDirectoryReplaced(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	h := newHarness(t, rt)
	h.start()

	staging := t.TempDir()
	write(t, filepath.Join(staging, "batch", "a.json"), "a")
	write(t, filepath.Join(staging, "batch", "x", "y", "b.json"), "b")
	if err := os.Rename(filepath.Join(staging, "batch"), filepath.Join(rt.Path, "batch")); err != nil {
		t.Fatal(err)
	}
	h.expect("batch/a.json", "batch/x/y/b.json")

	// Files landing in the moved-in tree are seen through its new watches.
	write(t, filepath.Join(rt.Path, "batch", "x", "y", "c.json"), "c")
	h.expect("batch/x/y/c.json")

	// Rename a watched directory inside the root: its files show up under
	// the new name, and the old name's watches are gone.
	if err := os.Rename(filepath.Join(rt.Path, "batch", "x"), filepath.Join(rt.Path, "moved")); err != nil {
		t.Fatal(err)
	}
	h.expect("moved/y/b.json", "moved/y/c.json")
	write(t, filepath.Join(rt.Path, "moved", "y", "d.json"), "d")
	h.expect("moved/y/d.json")

	// A directory replaced by a file of the same name.
	if err := os.RemoveAll(filepath.Join(rt.Path, "batch")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(rt.Path, "batch"), "now a file")
	h.expect("batch")

	// A directory moved out of the root is no longer watched.
	if err := os.Rename(filepath.Join(rt.Path, "moved"), filepath.Join(staging, "gone")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(staging, "gone", "y", "outside.json"), "outside")
	h.rescanAndCheckQuiet("")
	if n := h.w.Stats().WatchedDirs; n != 1 {
		t.Fatalf("watching %d directories, want only the root", n)
	}
	h.noErrorLogs()
}

func TestUnreadableDirectoryLogged(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("permission checks do not apply to root")
	}
	rt := testRoot(t, 50*time.Millisecond)
	write(t, filepath.Join(rt.Path, "locked", "hidden.txt"), "x")
	write(t, filepath.Join(rt.Path, "open", "visible.txt"), "y")
	if err := os.Chmod(filepath.Join(rt.Path, "locked"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(rt.Path, "locked"), 0o755) })
	h := newHarness(t, rt)
	h.start()
	h.expect("open/visible.txt")
	found := false
	for _, e := range h.logHook.AllEntries() {
		if strings.Contains(e.Message, "cannot read directory") && e.Data["path"] == "locked" {
			found = true
		}
	}
	if !found {
		t.Fatal("unreadable directory not logged with its path")
	}
}

func TestNewValidates(t *testing.T) {
	ok := func(context.Context, []File) error { return nil }
	dir := t.TempDir()
	good := Root{Name: "a", Path: dir, Settle: time.Second}
	tests := []struct {
		name  string
		roots []Root
		want  string
	}{
		{"no roots", nil, "no roots"},
		{"empty name", []Root{{Path: dir, Settle: time.Second}}, "empty name"},
		{"relative", []Root{{Name: "a", Path: "rel", Settle: time.Second}}, "not absolute"},
		{"unclean", []Root{{Name: "a", Path: dir + "/", Settle: time.Second}}, "not absolute and clean"},
		{"settle", []Root{{Name: "a", Path: dir}}, "settle"},
		{"pattern", []Root{{Name: "a", Path: dir, Settle: time.Second, Ignore: []string{"["}}}, "ignore pattern"},
		{"duplicate", []Root{good, good}, "used twice"},
		{"nested", []Root{good, {Name: "b", Path: dir + "/sub", Settle: time.Second}}, "overlaps"},
	}
	for _, tt := range tests {
		_, err := New(tt.roots, Options{Settled: ok})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want error containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := New([]Root{good}, Options{}); err == nil {
		t.Error("New without Settled succeeded")
	}
}

// BenchmarkRescanKnown measures a periodic scan over already-archived files:
// it must cost one stat and one Known call per file (design target: 100,000
// files in under 5s).
func BenchmarkRescanKnown(b *testing.B) {
	const dirs, perDir = 100, 100
	rt := Root{Name: "bench", Path: b.TempDir(), Settle: time.Second}
	for d := range dirs {
		dir := filepath.Join(rt.Path, fmt.Sprintf("d%03d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range perDir {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.json", f)), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	var calls atomic.Int64
	w, err := New([]Root{rt}, Options{
		Known:   func(File) bool { calls.Add(1); return true },
		Settled: func(context.Context, []File) error { return nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	w.addWatch = func(string) error { return nil }
	r := w.roots[0]
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.scanRoot(ctx, r)
	}
	b.StopTimer()
	if p := w.Stats().Pending; p != 0 {
		b.Fatalf("%d pending", p)
	}
	b.ReportMetric(float64(calls.Load())/b.Elapsed().Seconds(), "files/s")
}

// mkdeep creates, below root, directories whose relative path is longer than PATH_MAX (every
// component within NAME_MAX), with mkdirat relative to each parent's descriptor. It returns
// the relative path and an open descriptor of the deepest directory (closed at cleanup).
func mkdeep(t *testing.T, root string) (string, int) {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for i := 0; len(strings.Join(rel, "/")) <= unix.PathMax+200; i++ {
		name := strings.Repeat(string(rune('a'+i%26)), 200)
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd, rel = next, append(rel, name)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return strings.Join(rel, "/"), fd
}

// writeAt writes name in the directory dirfd.
func writeAt(t *testing.T, dirfd int, name, content string) {
	t.Helper()
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPathsDeeperThanPathMax(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	dir, dirfd := mkdeep(t, rt.Path)
	writeAt(t, dirfd, "at-start.txt", "found by the start-up scan")
	h := newHarness(t, rt)
	h.start()
	got := h.expect(dir + "/at-start.txt")
	if f := got[dir+"/at-start.txt"]; f.Kind != "file" || f.Size != int64(len("found by the start-up scan")) {
		t.Fatalf("reported %+v", f.File)
	}
	f, err := beneath.Open(rt.Path, dir+"/at-start.txt")
	if err != nil {
		t.Fatalf("the upload cannot open what the watcher reported: %v", err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(b) != "found by the start-up scan" {
		t.Fatalf("read %q, %v", b, err)
	}
	// inotify cannot watch a directory this deep: a file written there later is found by the
	// directory's own scan, although the watch has no periodic scan.
	writeAt(t, dirfd, "later.txt", "found by the directory's scan")
	h.expect(dir + "/later.txt")
	if !h.w.Stats().Roots[0].Polling {
		t.Error("Stats does not show that a directory relies on scans")
	}
	if n := h.logged("cannot stat"); n != 0 {
		t.Errorf("%d 'cannot stat' warnings", n)
	}
	h.rescanAndCheckQuiet("")
}

func TestUnwatchableDirectoryScannedOnItsOwn(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond) // ScanInterval 0: no periodic full scan
	if err := os.MkdirAll(filepath.Join(rt.Path, "refused", "below"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, rt)
	var refusals atomic.Int32
	h.w.addWatch = func(p string) error {
		if strings.HasSuffix(p, "/refused") {
			refusals.Add(1)
			return unix.EACCES
		}
		return h.w.fw.Add(p)
	}
	h.start()
	write(t, filepath.Join(rt.Path, "refused", "late.txt"), "late")
	write(t, filepath.Join(rt.Path, "refused", "below", "watched.txt"), "watched")
	write(t, filepath.Join(rt.Path, "elsewhere.txt"), "watched")
	h.expect("refused/late.txt", "refused/below/watched.txt", "elsewhere.txt")
	if n := h.logged("cannot watch directory; scanning it every 100ms instead"); n != 1 {
		t.Errorf("refusal logged %d times, want once", n)
	}
	// The directory's scans keep trying to watch it, and end when it is gone.
	h.waitFor("another attempt to watch", func() bool { return refusals.Load() >= 2 })
	if err := os.RemoveAll(filepath.Join(rt.Path, "refused")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the removed directory to leave the scan list", func() bool { return !h.w.Stats().Roots[0].Polling })
}

func TestUnstatableEntryReportedOnce(t *testing.T) {
	rt := testRoot(t, 50*time.Millisecond)
	write(t, filepath.Join(rt.Path, "locked", "at-start.txt"), "x")
	h := newHarness(t, rt)
	var denied atomic.Bool
	denied.Store(true)
	h.w.statFault = func(rel string) error {
		if denied.Load() && strings.HasPrefix(rel, "locked/") {
			return unix.EACCES
		}
		return nil
	}
	h.start()
	write(t, filepath.Join(rt.Path, "locked", "later.txt"), "y")
	got := h.expect("locked/at-start.txt", "locked/later.txt")
	for p, f := range got {
		if f.Kind != KindUnreadable || !strings.Contains(f.Problem, "permission denied") {
			t.Errorf("%s reported as %q with problem %q", p, f.Kind, f.Problem)
		}
	}
	// Reported once: a rescan finds the journal knows them, and nothing warns in a loop.
	h.rescanAndCheckQuiet("")
	h.noErrorLogs()
	// Once they can be examined they are files again, and reported as such.
	denied.Store(false)
	h.w.Rescan("")
	for p, f := range h.expect("locked/at-start.txt", "locked/later.txt") {
		if f.Kind != "file" {
			t.Errorf("%s reported as %q after the fault cleared", p, f.Kind)
		}
	}
}
