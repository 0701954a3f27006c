package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
	"github.com/archivist-project/archivist/watcher/beneath"
)

const (
	testCreds = "dGVzdDpzZWNyZXQ="
	testType  = "test-type"
)

// harness is a pipeline over a real journal, talking real HTTP to the sandbox on loopback.
type harness struct {
	t       *testing.T
	po      Options // what the pipeline was built with (a test may rebuild it before start)
	url     string  // the sandbox's base URL
	root    string
	sb      *sandbox.Server
	client  *globalrelay.Client
	j       *journal.DB
	p       *Pipeline
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	recheck []string
}

type harnessOpt func(*Options, *sandbox.Options)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	return newHarnessAt(t, "", opts...)
}

// newHarnessAt is newHarness with the journal at journalPath ("" for the test's temp dir).
func newHarnessAt(t *testing.T, journalPath string, opts ...harnessOpt) *harness {
	t.Helper()
	dir := t.TempDir()
	if journalPath == "" {
		journalPath = filepath.Join(dir, "journal.db")
	}
	h := &harness{t: t, root: filepath.Join(dir, "drop"), done: make(chan struct{})}
	if err := os.Mkdir(h.root, 0o755); err != nil {
		t.Fatal(err)
	}
	so := sandbox.Options{Dir: filepath.Join(dir, "sandbox"), Credentials: testCreds, ConversationType: testType}
	po := Options{
		Watches:          []Watch{{Name: "teams", Root: h.root, SenderName: "Teams export", SenderEmail: "archive@example.com", InlineImages: true}},
		ConversationType: testType,
		Backoff:          failure.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Recheck: func(w, rel string) {
			h.mu.Lock()
			h.recheck = append(h.recheck, w+":"+rel)
			h.mu.Unlock()
		},
	}
	for _, o := range opts {
		o(&po, &so)
	}
	var err error
	if h.sb, err = sandbox.New(so); err != nil {
		t.Fatal(err)
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	url, err := h.sb.Start(h.ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url = url
	h.client, err = globalrelay.New(globalrelay.Options{BaseURL: url + "/v2", TokenURL: url + "/oauth2/token", Credentials: testCreds})
	if err != nil {
		t.Fatal(err)
	}
	if h.j, err = journal.Open(journalPath, journal.Options{}); err != nil {
		t.Fatal(err)
	}
	h.po = po
	h.p = New(h.j, h.client, po)
	t.Cleanup(func() {
		h.cancel()
		<-h.done
		if err := h.j.Check(); err != nil {
			t.Errorf("journal inconsistent: %v", err)
		}
		h.j.Close()
	})
	return h
}

// start runs the pipeline (separately from newHarness so a test can change files first).
func (h *harness) start(archive Archive) {
	if archive != nil {
		h.p.gr = archive
	}
	go func() {
		defer close(h.done)
		h.p.Run(h.ctx)
	}()
}

// drop writes a file under the root and hands it to Intake as the watcher would.
func (h *harness) drop(rel string, content []byte) watcher.File {
	h.t.Helper()
	path := filepath.Join(h.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		h.t.Fatal(err)
	}
	f := h.stat(rel)
	if err := h.p.Intake(h.ctx, []watcher.File{f}); err != nil {
		h.t.Fatal(err)
	}
	return f
}

func (h *harness) stat(rel string) watcher.File {
	h.t.Helper()
	fi, err := os.Lstat(filepath.Join(h.root, filepath.FromSlash(rel)))
	if err != nil {
		h.t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	kind := "file"
	if fi.Mode()&os.ModeSymlink != 0 {
		kind = "symlink"
	} else if fi.Mode()&os.ModeNamedPipe != 0 {
		kind = "named pipe (FIFO)"
	}
	bfi, err := beneath.Lstat(h.root, rel)
	if err != nil {
		h.t.Fatal(err)
	}
	return watcher.File{Watch: "teams", RelPath: rel, Kind: kind, Size: fi.Size(), ModTime: fi.ModTime(), Inode: st.Ino, Dev: uint64(st.Dev), Nlink: uint64(st.Nlink),
		ChangeTime: beneath.ChangeTime(bfi), Birth: beneath.BirthTime(bfi)}
}

// await polls cond until it holds or the deadline passes.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// record returns the newest record of rel.
func (h *harness) record(rel string) *journal.Record {
	h.t.Helper()
	fp, ok := current(h.t, h.j, "teams", rel)
	if !ok {
		h.t.Fatalf("no record for %s", rel)
	}
	r, err := h.j.Get(fp.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) awaitState(id uint64, want journal.State) *journal.Record {
	h.t.Helper()
	var r *journal.Record
	await(h.t, fmt.Sprintf("record #%d to be %s", id, want), func() bool {
		var err error
		r, err = h.j.Get(id)
		return err == nil && r.State == want
	})
	return r
}

// events returns every accepted File_transfer event in the sandbox, decoded.
func (h *harness) events() []globalrelay.Event {
	var out []globalrelay.Event
	for _, c := range h.sb.Conversations() {
		var conv globalrelay.Conversation
		if err := json.Unmarshal(c.Raw, &conv); err != nil {
			h.t.Fatal(err)
		}
		if conv.Overview.ConversationType != testType {
			h.t.Errorf("conversationType = %q", conv.Overview.ConversationType)
		}
		out = append(out, conv.Events...)
	}
	return out
}

var (
	pdf  = append([]byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"), bytes.Repeat([]byte("x"), 5000)...)
	png  = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"), make([]byte, 64)...)
	jpeg = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"), make([]byte, 64)...)
	zip  = []byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
)

func TestArchivesExactBytesWithSniffedTypes(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	cases := []struct {
		rel     string
		content []byte
		mime    string
		inline  bool
	}{
		{"reports/Q3 report.pdf", pdf, "application/pdf", false},
		{"img/photo.png", png, "image/png", true},
		{"img/deep/er/photo.jpg", jpeg, "image/jpeg", true},
		{"notes.txt", []byte("hello archive\n"), "text/plain; charset=utf-8", false},
		{"bundle.zip", zip, "application/zip", false},
		{"empty.dat", nil, "text/plain", false},
		{"ünïcødé/日本語 ファイル.txt", []byte("unicode name"), "text/plain; charset=utf-8", false},
	}
	for _, c := range cases {
		h.drop(c.rel, c.content)
	}
	for _, c := range cases {
		r := h.awaitState(h.record(c.rel).ID, journal.Posted)
		if r.MIME != c.mime {
			t.Errorf("%s: MIME %q, want %q", c.rel, r.MIME, c.mime)
		}
		if want := filekey.Build("teams", r.SHA256, c.rel); r.FileKey != want {
			t.Errorf("%s: key %q, want %q", c.rel, r.FileKey, want)
		}
		f, ok := h.sb.File(r.FileKey)
		if !ok {
			t.Fatalf("%s: key %s not in the sandbox", c.rel, r.FileKey)
		}
		got, err := os.ReadFile(h.sb.FilePath(r.FileKey))
		if err != nil || !bytes.Equal(got, c.content) {
			t.Errorf("%s: stored bytes differ (%d vs %d bytes, %v)", c.rel, len(got), len(c.content), err)
		}
		if f.ContentType != c.mime {
			t.Errorf("%s: sandbox content type %q, want %q", c.rel, f.ContentType, c.mime)
		}
	}
	events := h.events()
	if len(events) != len(cases) {
		t.Fatalf("%d events, want %d", len(events), len(cases))
	}
	byName := map[string]globalrelay.Event{}
	for _, e := range events {
		byName[e.Files[0].Filename] = e
	}
	for _, c := range cases {
		e, ok := byName[filepath.Base(c.rel)]
		if !ok {
			t.Errorf("no event for %s", c.rel)
			continue
		}
		r := h.record(c.rel)
		if e.EventType != "File_transfer" || e.Files[0].FileKey != r.FileKey || e.Files[0].IsInlined != c.inline {
			t.Errorf("%s: event %+v", c.rel, e)
		}
		if e.EventTime != r.ModTime.UnixMilli() {
			t.Errorf("%s: eventTime %d, want mtime %d", c.rel, e.EventTime, r.ModTime.UnixMilli())
		}
		if len(e.Participants) != 1 || e.Participants[0].UserType != "initiator" || e.Participants[0].CorporateEmail != "archive@example.com" {
			t.Errorf("%s: participants %+v", c.rel, e.Participants)
		}
	}
}

func TestTouchedFileIsNotSentAgainRewrittenFileIs(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	h.drop("a.txt", []byte("version one"))
	first := h.awaitState(h.record("a.txt").ID, journal.Posted)

	// Touch: same bytes, new mtime.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(h.root, "a.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("a.txt")}); err != nil {
		t.Fatal(err)
	}
	touched := h.awaitState(h.record("a.txt").ID, journal.Posted)
	if touched.ID == first.ID || touched.DuplicateOf != first.ID {
		t.Fatalf("touched version: %+v", touched)
	}
	if f, _ := h.sb.File(first.FileKey); f.Puts != 1 {
		t.Fatalf("touched file PUT again: %d puts", f.Puts)
	}
	if n := len(h.events()); n != 1 {
		t.Fatalf("touched file posted again: %d events", n)
	}

	// Rewrite: new bytes, new key; the old key keeps the old bytes.
	h.drop("a.txt", []byte("version two, longer"))
	second := h.awaitState(h.record("a.txt").ID, journal.Posted)
	if second.FileKey == first.FileKey {
		t.Fatal("new content reused the old key")
	}
	old, _ := os.ReadFile(h.sb.FilePath(first.FileKey))
	if string(old) != "version one" {
		t.Fatalf("old key now holds %q", old)
	}
	if n := len(h.events()); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

func TestSameBytesElsewhereGetAnEventButNoSecondPut(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	h.drop("x/report.pdf", pdf)
	a := h.awaitState(h.record("x/report.pdf").ID, journal.Posted)
	h.drop("y/report.pdf", pdf)
	b := h.awaitState(h.record("y/report.pdf").ID, journal.Posted)
	if b.FileKey != a.FileKey || b.DuplicateOf != a.ID {
		t.Fatalf("copy: %+v", b)
	}
	if f, _ := h.sb.File(a.FileKey); f.Puts != 1 {
		t.Fatalf("%d puts of the same bytes", f.Puts)
	}
	if n := len(h.events()); n != 2 {
		t.Fatalf("%d events, want 2 (one per place the file appeared)", n)
	}
}

func TestRefusedFilesAreHeldNeverSent(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	big := filepath.Join(h.root, "huge.mp4")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1<<30 + 1); err != nil { // sparse: costs no disk
		t.Fatal(err)
	}
	f.Close()
	if err := os.Symlink("/etc/passwd", filepath.Join(h.root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(h.root, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("huge.mp4"), h.stat("link"), h.stat("pipe")}); err != nil {
		t.Fatal(err)
	}
	h.drop("ok.txt", []byte("fine"))
	h.awaitState(h.record("ok.txt").ID, journal.Posted)
	for rel, want := range map[string]string{"huge.mp4": "over the archive's limit", "link": "symbolic link", "pipe": "named pipe (FIFO): not a regular file"} {
		r := h.record(rel)
		if r.State != journal.Held || !strings.Contains(r.Reason, want) {
			t.Errorf("%s: state %s reason %q, want held with %q", rel, r.State, r.Reason, want)
		}
	}
	if st := h.sb.Stats(); st.Puts != 1 {
		t.Fatalf("%d PUTs, want only ok.txt's", st.Puts)
	}
}

func TestChangedOrDeletedBeforeUpload(t *testing.T) {
	h := newHarness(t)
	h.drop("grows.log", []byte("first line\n"))
	h.drop("gone.txt", []byte("soon deleted"))
	fh, _ := os.OpenFile(filepath.Join(h.root, "grows.log"), os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString("second line\n")
	fh.Close()
	os.Remove(filepath.Join(h.root, "gone.txt"))
	grows, gone := h.record("grows.log").ID, h.record("gone.txt").ID
	h.start(nil)

	r := h.awaitState(grows, journal.Superseded)
	if !strings.Contains(r.Reason, "size is") {
		t.Errorf("superseded reason %q", r.Reason)
	}
	r = h.awaitState(gone, journal.Vanished)
	if !strings.Contains(r.Reason, "deleted") {
		t.Errorf("vanished reason %q", r.Reason)
	}
	// The supersede is committed first (so the watcher may record the path again), then the
	// watcher is asked to look at it.
	var rechecked string
	await(t, "recheck of the grown file", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		rechecked = strings.Join(h.recheck, ",")
		return rechecked != ""
	})
	if rechecked != "teams:grows.log" {
		t.Errorf("recheck calls %q, want only the grown file", rechecked)
	}
	if st := h.sb.Stats(); st.Puts != 0 || st.Posts != 0 {
		t.Fatalf("changed files were sent: %+v", st)
	}
	// The new version of the grown file is archivable as usual.
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("grows.log")}); err != nil {
		t.Fatal(err)
	}
	h.awaitState(h.record("grows.log").ID, journal.Posted)
}

// mutatingArchive rewrites the file on disk in the middle of the PUT's body.
type mutatingArchive struct {
	Archive
	path string
	once sync.Once
}

func (m *mutatingArchive) PutFile(ctx context.Context, key, ct string, size int64, open func() (io.ReadCloser, error)) error {
	wrapped := func() (io.ReadCloser, error) {
		rc, err := open()
		if err != nil {
			return nil, err
		}
		return &mutateAfterFirstRead{ReadCloser: rc, m: m}, nil
	}
	return m.Archive.PutFile(ctx, key, ct, size, wrapped)
}

type mutateAfterFirstRead struct {
	io.ReadCloser
	m *mutatingArchive
}

func (r *mutateAfterFirstRead) Read(p []byte) (int, error) {
	if len(p) > 1024 {
		p = p[:1024]
	}
	n, err := r.ReadCloser.Read(p)
	r.m.once.Do(func() {
		// Same size and mtime afterwards: only the hash can tell.
		f, _ := os.OpenFile(r.m.path, os.O_WRONLY, 0)
		fi, _ := f.Stat()
		f.WriteAt(bytes.Repeat([]byte("Z"), 1024), fi.Size()-1024)
		f.Close()
		os.Chtimes(r.m.path, fi.ModTime(), fi.ModTime())
	})
	return n, err
}

func TestContentChangedDuringUploadNeverCompletesTheKey(t *testing.T) {
	h := newHarness(t)
	content := bytes.Repeat([]byte("0123456789abcdef"), 64*1024) // 1 MiB
	h.drop("big.bin", content)
	id := h.record("big.bin").ID
	h.start(&mutatingArchive{Archive: h.client, path: filepath.Join(h.root, "big.bin")})
	r := h.awaitState(id, journal.Superseded)
	if !strings.Contains(r.Reason, "content hash changed during upload") {
		t.Fatalf("reason %q", r.Reason)
	}
	if files := h.sb.Files(); len(files) != 0 {
		t.Fatalf("the sandbox stored %v: a key received bytes other than its hash", files)
	}
	if h.sb.Stats().Posts != 0 {
		t.Fatal("an event was posted for an abandoned upload")
	}
}

func TestOutagePausesArchiveAndResumes(t *testing.T) {
	h := newHarness(t)
	h.sb.SetFaults(sandbox.Faults{DownUntil: time.Now().Add(400 * time.Millisecond)})
	h.start(nil)
	var ids []uint64
	for i := range 30 {
		rel := fmt.Sprintf("burst/f%02d.txt", i)
		h.drop(rel, []byte(strings.Repeat("x", i+1)))
		ids = append(ids, h.record(rel).ID)
	}
	for _, id := range ids {
		h.awaitState(id, journal.Posted)
	}
	st := h.sb.Stats()
	// While the archive was down, only probes reached it: with min delay 20ms and max 200ms
	// over 400ms that is a handful, not one per file per retry.
	if st.FaultsInjected > 15 {
		t.Fatalf("%d requests hit the archive while it was down; the pause did not hold", st.FaultsInjected)
	}
	if st.Puts != 30 {
		t.Fatalf("%d accepted PUTs, want 30", st.Puts)
	}
	if got := len(h.events()); got != 30 {
		t.Fatalf("%d events, want 30", got)
	}
}

// holdingArchive blocks event posts until release is closed.
type holdingArchive struct {
	Archive
	release chan struct{}
	posts   atomic.Int32
}

func (a *holdingArchive) PostConversation(ctx context.Context, c *globalrelay.Conversation) (*globalrelay.PostResult, error) {
	a.posts.Add(1)
	<-a.release
	return a.Archive.PostConversation(ctx, c)
}

func TestEventsOfOneFolderAreBatched(t *testing.T) {
	h := newHarness(t, func(po *Options, _ *sandbox.Options) { po.MaxEventsPerRequest = 20 })
	ha := &holdingArchive{Archive: h.client, release: make(chan struct{})}
	h.start(ha)
	var ids []uint64
	for i := range 45 {
		rel := fmt.Sprintf("folder/f%02d.txt", i)
		h.drop(rel, []byte(rel))
		ids = append(ids, h.record(rel).ID)
	}
	await(t, "all uploads committed", func() bool {
		counts, _ := h.j.Counts()
		return counts[journal.Uploaded] == 45
	})
	close(ha.release)
	for _, id := range ids {
		h.awaitState(id, journal.Posted)
	}
	// The first request may have left with the first upload; the other 44 events wait for it
	// and then go in requests of at most 20: at most 1 + 3 requests.
	if n := ha.posts.Load(); n > 4 {
		t.Fatalf("%d event requests for 45 files of one folder, want at most 4", n)
	}
	if got := len(h.events()); got != 45 {
		t.Fatalf("%d events, want 45", got)
	}
}

func TestRefusedEventsAreIsolatedAndHeld(t *testing.T) {
	h := newHarness(t, func(po *Options, so *sandbox.Options) { po.ConversationType = "wrong-type" })
	h.start(nil)
	h.drop("a.txt", []byte("a"))
	h.drop("b.txt", []byte("b"))
	for _, rel := range []string{"a.txt", "b.txt"} {
		r := h.awaitState(h.record(rel).ID, journal.Held)
		if !strings.Contains(r.Reason, "refused the File_transfer event") || !strings.Contains(r.Reason, "400") {
			t.Errorf("%s: reason %q", rel, r.Reason)
		}
		if r.FileKey == "" {
			t.Errorf("%s: the upload itself succeeded and must stay recorded", rel)
		}
	}
}

// TestJournalWriteFailurePausesWork fails every journal write (as a read-only or full disk
// does) and checks that nothing is marked done that was not committed, that no event is posted
// that could not be recorded, that work pauses instead of hammering the archive, and that
// everything is archived once writes succeed again.
func TestJournalWriteFailurePausesWork(t *testing.T) {
	var broken atomic.Bool
	h := newHarness(t)
	h.j.Close()
	j, err := journal.Open(h.j.Path(), journal.Options{WriteFault: func() error {
		if broken.Load() {
			return syscall.EROFS
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	h.j = j
	h.p = New(h.j, h.client, h.po)
	var ids []uint64
	for i := range 5 {
		rel := fmt.Sprintf("f%d.txt", i)
		h.drop(rel, []byte(strings.Repeat(rel, 100)))
		ids = append(ids, h.record(rel).ID)
	}
	broken.Store(true)
	h.start(nil)
	await(t, "the journal gate to close", func() bool { return !h.p.JournalHealth().Up })
	if err := os.WriteFile(filepath.Join(h.root, "late.txt"), []byte("late"), 0o644); err != nil {
		t.Fatal(err)
	}
	late := h.stat("late.txt")
	if err := h.p.Intake(h.ctx, []watcher.File{late}); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("Intake on a failing journal: %v", err)
	}
	// Let the paused pipeline probe a few times (min delay 20ms, max 200ms).
	await(t, "a few failed probes", func() bool { return h.p.JournalHealth().Failures >= 4 })
	for _, id := range ids {
		if r, _ := h.j.Get(id); r.State != journal.Discovered {
			t.Fatalf("record #%d is %s although nothing could be committed", id, r.State)
		}
	}
	st := h.sb.Stats()
	if st.Posts != 0 {
		t.Fatalf("%d event requests posted while the journal could not record them", st.Posts)
	}
	// While paused, only the probes reach the archive: over the next failed probes the PUTs
	// grow by one per probe, plus what was admitted before the pause and still in flight (at
	// most two jobs per worker). A pipeline that did not pause would send every due file again
	// on each retry.
	fA := h.p.JournalHealth().Failures
	await(t, "more failed probes", func() bool { return h.p.JournalHealth().Failures >= fA+4 })
	if puts, probes := h.sb.Stats().Puts-st.Puts, h.p.JournalHealth().Failures-fA; puts > probes+1+2*max(h.po.Workers, 4) {
		t.Fatalf("%d PUTs during %d failed probes: the pipeline did not pause", puts, probes)
	}

	broken.Store(false)
	for _, id := range ids {
		h.awaitState(id, journal.Posted)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{late}); err != nil {
		t.Fatalf("Intake after the journal recovered: %v", err)
	}
	h.awaitState(h.record("late.txt").ID, journal.Posted)
}

// TestJournalOnFullDisk puts the journal on a real 4 MB file system and fills it. Some commits
// may still fit in pages bbolt already owns, so the test asserts what must hold either way:
// every state the journal records was confirmed remotely, and everything ends archived once
// space returns.
func TestJournalOnFullDisk(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (a real full disk under the journal)")
	}
	mnt := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	h := newHarnessAt(t, filepath.Join(mnt, "journal.db"))
	var ids []uint64
	for i := range 20 {
		rel := fmt.Sprintf("f%02d.txt", i)
		h.drop(rel, []byte(strings.Repeat(rel, 100)))
		ids = append(ids, h.record(rel).ID)
	}
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break // ENOSPC
		}
	}
	f.Close()
	h.start(nil)
	check := func() {
		for _, id := range ids {
			r, err := h.j.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if r.State == journal.Uploaded || r.State == journal.Posted {
				if _, ok := h.sb.File(r.FileKey); !ok {
					t.Fatalf("record #%d is %s but its key was never stored", id, r.State)
				}
			}
		}
	}
	await(t, "the pipeline to meet the full disk", func() bool {
		check()
		counts, _ := h.j.Counts()
		return !h.p.JournalHealth().Up || counts[journal.Posted] == int64(len(ids))
	})
	os.Remove(filler)
	for _, id := range ids {
		h.awaitState(id, journal.Posted)
	}
	check()
}

func TestOddNamesAreArchived(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	names := []string{
		"with spaces/and more spaces.txt",
		"line\nbreak.txt",
		"bad\xff\xfeutf8.txt",
		"-leading-dash.txt",
		"ünïcødé/日本語.txt",
		strings.Repeat("long", 60) + ".txt",
	}
	for i, n := range names {
		h.drop(n, []byte(fmt.Sprintf("content %d", i)))
	}
	for i, n := range names {
		r := h.awaitState(h.record(n).ID, journal.Posted)
		if !filekey.Valid(r.FileKey) {
			t.Errorf("%q: key %q has unsafe characters", n, r.FileKey)
		}
		got, _ := os.ReadFile(h.sb.FilePath(r.FileKey))
		if string(got) != fmt.Sprintf("content %d", i) {
			t.Errorf("%q: stored %q", n, got)
		}
		if string(r.Path) != n {
			t.Errorf("journal path %q, want %q byte for byte", r.Path, n)
		}
	}
}

func TestSocketsAndDevicesAreHeldNeverOpened(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	sock := filepath.Join(h.root, "app.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	files := []watcher.File{{Watch: "teams", RelPath: "app.sock", Kind: "socket"}}
	if err := syscall.Mknod(filepath.Join(h.root, "null-dev"), syscall.S_IFCHR|0o644, 1<<8|3); err == nil {
		files = append(files, watcher.File{Watch: "teams", RelPath: "null-dev", Kind: "device"})
	} else {
		t.Logf("no device node test: %v", err)
	}
	if err := h.p.Intake(h.ctx, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		r := h.record(f.RelPath)
		if r.State != journal.Held || !strings.Contains(r.Reason, f.Kind+": not a regular file, never opened") {
			t.Errorf("%s: %s %q", f.RelPath, r.State, r.Reason)
		}
	}
}

// truncatingArchive truncates the file on disk after the first part of the PUT's body.
type truncatingArchive struct {
	Archive
	path string
	once sync.Once
}

func (m *truncatingArchive) PutFile(ctx context.Context, key, ct string, size int64, open func() (io.ReadCloser, error)) error {
	return m.Archive.PutFile(ctx, key, ct, size, func() (io.ReadCloser, error) {
		rc, err := open()
		if err != nil {
			return nil, err
		}
		return &truncateAfterFirstRead{ReadCloser: rc, m: m}, nil
	})
}

type truncateAfterFirstRead struct {
	io.ReadCloser
	m *truncatingArchive
}

func (r *truncateAfterFirstRead) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096]
	}
	n, err := r.ReadCloser.Read(p)
	r.m.once.Do(func() { os.Truncate(r.m.path, 8192) })
	return n, err
}

func TestTruncatedDuringUploadIsNotArchivedInThatState(t *testing.T) {
	h := newHarness(t)
	h.drop("video.mp4", bytes.Repeat([]byte("frame"), 100_000))
	id := h.record("video.mp4").ID
	h.start(&truncatingArchive{Archive: h.client, path: filepath.Join(h.root, "video.mp4")})
	r := h.awaitState(id, journal.Superseded)
	if !strings.Contains(r.Reason, "during upload") {
		t.Fatalf("reason %q", r.Reason)
	}
	if n := len(h.sb.Files()); n != 0 {
		t.Fatalf("%d files stored from a truncated upload", n)
	}
}

func TestHardLinksAreEachArchived(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	// All links exist before the files settle: a link made later changes the change time of
	// the file, which makes it a new version (it is archived again, as a duplicate).
	for _, dir := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(h.root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(h.root, "a/report.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{"b/report.pdf", "b/renamed.pdf"} {
		if err := os.Link(filepath.Join(h.root, "a/report.pdf"), filepath.Join(h.root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("a/report.pdf"), h.stat("b/report.pdf"), h.stat("b/renamed.pdf")}); err != nil {
		t.Fatal(err)
	}
	a := h.awaitState(h.record("a/report.pdf").ID, journal.Posted)
	b := h.awaitState(h.record("b/report.pdf").ID, journal.Posted)
	c := h.awaitState(h.record("b/renamed.pdf").ID, journal.Posted)
	if b.FileKey != a.FileKey || c.FileKey == a.FileKey {
		t.Fatalf("keys: %s %s %s", a.FileKey, b.FileKey, c.FileKey)
	}
	if len(h.events()) != 3 {
		t.Fatalf("%d events, want one per name", len(h.events()))
	}
}

// TestReconcileRequeuesWhatTheWatcherMissed: the harness has no watcher, so a file written
// to disk without Intake is exactly a file whose events were lost.
func TestReconcileRequeuesWhatTheWatcherMissed(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	h.drop("seen.txt", []byte("seen"))
	h.awaitState(h.record("seen.txt").ID, journal.Posted)
	missed := filepath.Join(h.root, "sub/missed.txt")
	os.MkdirAll(filepath.Dir(missed), 0o755)
	os.WriteFile(missed, []byte("missed"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(missed, old, old)
	os.WriteFile(filepath.Join(h.root, ".ignored"), []byte("x"), 0o644)
	h.p.o.Watches[0].Ignore = []string{".*"}
	h.p.SetWatches(h.p.o.Watches)

	s, err := h.p.Reconcile(h.ctx, time.Hour, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.OnDisk != 2 || s.Archived != 1 || s.Unexplained != 1 || len(s.Examples) != 1 || s.Examples[0] != "teams:sub/missed.txt" {
		t.Fatalf("summary %+v", s)
	}
	await(t, "the missed file handed to the watcher", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.recheck) == 1 && h.recheck[0] == "teams:sub/missed.txt"
	})
	last, err := LastReconciliation(h.j)
	if err != nil || last == nil || last.Unexplained != 1 {
		t.Fatalf("last reconciliation not recorded: %+v", last)
	}
}
