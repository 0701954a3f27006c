package main

// End-to-end tests: the real binary, built once, run against the sandbox on loopback, with real
// directories and a real journal. They are what a new user does: write a config, run the
// daemon, drop files, stop it, start it again.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/journal"

	"github.com/archivist-project/archivist/archive/testwait"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "archivist-e2e-")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755) // a test may run the binary as an unprivileged user
	binary = filepath.Join(dir, "archivist")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build archivist: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	e2eCreds = "ZTJlOnNlY3JldC12YWx1ZS0xMjM0NQ=="
	e2eType  = "e2e-type"
)

// env is one test's world: a sandbox, a drop folder, a config file.
type env struct {
	t       *testing.T
	dir     string
	inbox   string
	config  string
	sb      *sandbox.Server
	url     string
	journal string
}

// (newEnv substitutes nothing in vars["extra"]; a test that needs the sandbox's URL there
// rewrites the config file after newEnv.)

type envOpt func(*sandbox.Options, map[string]string)

func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, inbox: filepath.Join(dir, "inbox"), config: filepath.Join(dir, "archivist.yml"), journal: filepath.Join(dir, "state", "journal.db")}
	if err := os.MkdirAll(e.inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	so := sandbox.Options{Dir: filepath.Join(dir, "sandbox"), Credentials: e2eCreds, ConversationType: e2eType}
	vars := map[string]string{"settle": "300ms", "scan_interval": "1m", "extra": ""}
	for _, o := range opts {
		o(&so, vars)
	}
	var err error
	if e.sb, err = sandbox.New(so); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if e.url, err = e.sb.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gr.credentials"), []byte(e2eCreds+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`journal: state/journal.db
log: {format: json, level: debug}
globalrelay:
  url: %s/v2
  token_url: %s/oauth2/token
  credentials_file: gr.credentials
  conversation_type: %s
retry: {min_delay: 50ms, max_delay: 1s}
watches:
  - name: teams
    path: inbox
    settle: %s
    scan_interval: %s
    sender: {name: "Teams export", email: "archive@example.com"}
%s`, e.url, e.url, e2eType, vars["settle"], vars["scan_interval"], vars["extra"])
	if err := os.WriteFile(e.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// daemon is one running archivist process.
type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs bytes.Buffer
	done chan error
}

func (e *env) start() *daemon {
	e.t.Helper()
	return e.startAs(nil)
}

// startAs starts the daemon, as the user cred names if not nil, with extra environment.
func (e *env) startAs(cred *syscall.Credential, environ ...string) *daemon {
	e.t.Helper()
	d := &daemon{t: e.t, done: make(chan error, 1)}
	d.cmd = exec.Command(binary, "run", "--config", e.config)
	d.cmd.Env = append(os.Environ(), environ...)
	if cred != nil {
		d.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			d.mu.Lock()
			d.logs.Write(sc.Bytes())
			d.logs.WriteByte('\n')
			d.mu.Unlock()
		}
	}()
	go func() { <-copied; d.done <- d.cmd.Wait() }()
	e.t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
		if e.t.Failed() {
			e.t.Logf("daemon logs:\n%s", d.output())
		}
	})
	return d
}

func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.String()
}

// stop sends SIGTERM and expects a clean exit 0.
func (d *daemon) stop() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Fatalf("daemon exit after SIGTERM: %v\n%s", err, d.output())
		}
	case <-time.After(20 * time.Second):
		d.t.Fatal("daemon did not stop within 20s of SIGTERM")
	}
}

// logCount counts log lines whose msg is msg.
func (d *daemon) logCount(msg string) int {
	n := 0
	for _, line := range strings.Split(d.output(), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(line), &v) == nil && v["msg"] == msg {
			n++
		}
	}
	return n
}

func await(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, timeout, what, cond)
}

func (e *env) write(rel string, content []byte) {
	e.t.Helper()
	p := filepath.Join(e.inbox, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// archived reports whether content is stored in the sandbox under a key naming base and
// referenced by an accepted event.
func (e *env) archived(base string, content []byte) bool {
	for _, f := range e.sb.Files() {
		if !strings.HasSuffix(f.Key, "/"+base) {
			continue
		}
		got, err := os.ReadFile(e.sb.FilePath(f.Key))
		if err == nil && bytes.Equal(got, content) && e.referenced(f.Key) {
			return true
		}
	}
	return false
}

func (e *env) referenced(key string) bool {
	for _, c := range e.sb.Conversations() {
		if bytes.Contains(c.Raw, []byte(`"`+key+`"`)) {
			return true
		}
	}
	return false
}

// checkJournal opens the journal after the daemon stopped and verifies its indexes.
func (e *env) checkJournal() map[journal.State]int64 {
	e.t.Helper()
	j, err := journal.Open(e.journal, journal.Options{ReadOnly: true})
	if err != nil {
		e.t.Fatal(err)
	}
	defer j.Close()
	if err := j.Check(); err != nil {
		e.t.Fatal(err)
	}
	counts, err := j.Counts()
	if err != nil {
		e.t.Fatal(err)
	}
	return counts
}

func TestE2EArchiveRestartAndNothingNew(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{
		"report.pdf":              []byte("%PDF-1.4\nfirst report\n"),
		"a/b/c/ünïcødé notes.txt": []byte("nested unicode"),
		"empty.txt":               nil,
		"ignored.part":            []byte("partial download"),
		".hidden":                 []byte("dotfile"),
		"Q3/~$lock.docx":          []byte("office lock file"),
	}
	for rel, c := range files {
		e.write(rel, c)
	}
	d := e.start()
	await(t, 20*time.Second, "first files archived", func() bool {
		return e.archived("report.pdf", files["report.pdf"]) && e.archived("_n_c_d_notes.txt", files["a/b/c/ünïcødé notes.txt"]) &&
			e.archived("empty.txt", nil)
	})
	d.stop()

	// Dropped while stopped: archived on the next start.
	e.write("while-stopped.txt", []byte("dropped while the daemon was down"))
	d = e.start()
	await(t, 20*time.Second, "file dropped while stopped", func() bool {
		return e.archived("while-stopped.txt", []byte("dropped while the daemon was down"))
	})
	d.stop()
	before := e.sb.Stats()

	// A second restart finds everything known: nothing is sent.
	d = e.start()
	await(t, 20*time.Second, "start-up scan", func() bool { return d.logCount("scan done") >= 1 })
	// The scan found every file known: nothing was recorded, so nothing settles or comes due
	// later, and the journal has no pending work.
	if n := d.logCount("file discovered"); n != 0 {
		t.Fatalf("restart recorded %d files again", n)
	}
	var st struct {
		Lanes    map[string]int
		Settling int
	}
	if err := json.Unmarshal([]byte(e.cli("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Settling != 0 {
		t.Fatalf("%d files settling after a restart with nothing new", st.Settling)
	}
	for lane, n := range st.Lanes {
		if n != 0 {
			t.Fatalf("work pending after a restart with nothing new: lane %s has %d", lane, n)
		}
	}
	d.stop()
	after := e.sb.Stats()
	if after.Puts != before.Puts || after.Posts != before.Posts {
		t.Fatalf("restart sent again: puts %d -> %d, posts %d -> %d", before.Puts, after.Puts, before.Posts, after.Posts)
	}
	for _, f := range e.sb.Files() {
		for _, bad := range []string{"ignored.part", "hidden", "lock.docx"} {
			if strings.Contains(f.Key, bad) {
				t.Errorf("temporary file archived: %s", f.Key)
			}
		}
	}
	counts := e.checkJournal()
	if counts[journal.Posted] != 4 || counts[journal.Held] != 0 {
		t.Fatalf("journal counts %v, want 4 posted", counts)
	}
}

func TestE2ESlowWriterAndRewrite(t *testing.T) {
	e := newEnv(t)
	d := e.start()
	p := filepath.Join(e.inbox, "slow.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i := range 12 { // a write every 100ms for 1.2s, well over the 300ms settle only in total
		line := []byte(fmt.Sprintf("line %d of a slow export\n", i))
		f.Write(line)
		want = append(want, line...)
		time.Sleep(100 * time.Millisecond)
	}
	f.Close()
	await(t, 20*time.Second, "slow file archived whole", func() bool { return e.archived("slow.log", want) })
	for _, sf := range e.sb.Files() {
		if sf.Size != int64(len(want)) {
			t.Fatalf("a partial version was archived: %s (%d bytes of %d)", sf.Key, sf.Size, len(want))
		}
	}

	// In-place rewrite: a new key for the new bytes, the old key keeps the old ones.
	oldKeys := len(e.sb.Files())
	rewritten := []byte("completely new content\n")
	if err := os.WriteFile(p, rewritten, 0o644); err != nil {
		t.Fatal(err)
	}
	await(t, 20*time.Second, "rewrite archived", func() bool { return e.archived("slow.log", rewritten) })
	if !e.archived("slow.log", want) || len(e.sb.Files()) != oldKeys+1 {
		t.Fatal("the old version's key lost its bytes")
	}
	d.stop()
}

func TestE2EHostileEntries(t *testing.T) {
	e := newEnv(t)
	outside := filepath.Join(e.dir, "outside-secret.txt")
	os.WriteFile(outside, []byte("TOP SECRET outside the watch"), 0o644)
	os.Mkdir(filepath.Join(e.dir, "outside-dir"), 0o755)
	os.WriteFile(filepath.Join(e.dir, "outside-dir", "inner.txt"), []byte("also outside"), 0o644)
	os.Symlink(outside, filepath.Join(e.inbox, "link-out.txt"))
	os.Symlink(filepath.Join(e.dir, "outside-dir"), filepath.Join(e.inbox, "dir-link"))
	syscall.Mkfifo(filepath.Join(e.inbox, "pipe"), 0o644)
	big, _ := os.Create(filepath.Join(e.inbox, "huge.bin"))
	big.Truncate(1<<30 + 1)
	big.Close()
	e.write("normal.txt", []byte("a normal file"))

	d := e.start()
	await(t, 20*time.Second, "normal file archived", func() bool { return e.archived("normal.txt", []byte("a normal file")) })
	await(t, 10*time.Second, "held entries logged", func() bool { return d.logCount("file held") >= 4 })
	d.stop()
	for _, f := range e.sb.Files() {
		b, _ := os.ReadFile(e.sb.FilePath(f.Key))
		if bytes.Contains(b, []byte("outside")) || strings.Contains(f.Key, "huge") {
			t.Fatalf("sent what must never leave: %s", f.Key)
		}
	}
	if n := len(e.sb.Files()); n != 1 {
		t.Fatalf("%d files archived, want 1", n)
	}
	counts := e.checkJournal()
	if counts[journal.Held] != 4 {
		t.Fatalf("held = %d, want 4 (two symlinks, a FIFO, an oversize file): %v", counts[journal.Held], counts)
	}
}

func TestE2EShortLivedTokens(t *testing.T) {
	e := newEnv(t, func(so *sandbox.Options, _ map[string]string) { so.TokenTTL = 2 * time.Second })
	d := e.start()
	deadline := time.Now().Add(5 * time.Second) // spans more than two token lifetimes
	for i := 0; time.Now().Before(deadline); i++ {
		name := fmt.Sprintf("tick-%03d.txt", i)
		e.write(name, []byte(name))
		time.Sleep(250 * time.Millisecond)
	}
	await(t, 20*time.Second, "all ticks archived", func() bool {
		for i := 0; ; i++ {
			name := fmt.Sprintf("tick-%03d.txt", i)
			if _, err := os.Stat(filepath.Join(e.inbox, name)); err != nil {
				return true
			}
			if !e.archived(name, []byte(name)) {
				return false
			}
		}
	})
	d.stop()
	st := e.sb.Stats()
	if st.TokensIssued < 3 {
		t.Errorf("only %d tokens issued over 5s with a 2s lifetime", st.TokensIssued)
	}
	if strings.Contains(d.output(), e2eCreds) {
		t.Fatal("the credential appears in the logs")
	}
}

func TestE2EBurstIntoNewFolders(t *testing.T) {
	if testing.Short() {
		t.Skip("burst test in -short mode")
	}
	e := newEnv(t)
	d := e.start()
	const dirs, per = 40, 50
	for i := range dirs {
		for j := range per {
			e.write(fmt.Sprintf("export-%02d/sub/file-%03d.txt", i, j), []byte(fmt.Sprintf("burst %d %d", i, j)))
		}
	}
	await(t, 3*time.Minute, "burst archived", func() bool { return e.sb.Stats().Puts >= dirs*per && e.eventCount() >= dirs*per })
	d.stop()
	if st := e.sb.Stats(); st.Puts != dirs*per {
		t.Fatalf("%d PUTs for %d files", st.Puts, dirs*per)
	}
	if n := e.eventCount(); n != dirs*per {
		t.Fatalf("%d events for %d files", n, dirs*per)
	}
	counts := e.checkJournal()
	if counts[journal.Posted] != dirs*per {
		t.Fatalf("journal: %v", counts)
	}
}

func (e *env) eventCount() int {
	n := 0
	for _, c := range e.sb.Conversations() {
		var v struct {
			Events []json.RawMessage `json:"conversationEvents"`
		}
		json.Unmarshal(c.Raw, &v)
		n += len(v.Events)
	}
	return n
}

func TestE2EBadConfigs(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "inbox"), 0o755)
	os.WriteFile(filepath.Join(dir, "not-a-dir"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "creds"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "unreadable"), []byte("x"), 0o000)
	base := func(gr, watches string) string {
		return "journal: j.db\nglobalrelay:\n  url: http://127.0.0.1:1/v2\n  token_url: http://127.0.0.1:1/t\n" + gr + "watches:\n" + watches
	}
	okGR := "  credentials_file: creds\n  conversation_type: t\n"
	okWatch := "  - {name: teams, path: inbox, settle: 1s, sender: {name: n, email: a@b.c}}\n"
	cases := map[string]struct{ yaml, want string }{
		"unknown key":       {strings.Replace(base(okGR, okWatch), "  url:", "  urll:", 1), "globalrelay.urll: unknown key"},
		"missing key":       {base("  credentials_file: creds\n", okWatch), "globalrelay.conversation_type"},
		"bad duration":      {base(okGR, strings.Replace(okWatch, "1s", "5x", 1)), "watches[0].settle"},
		"missing watch dir": {base(okGR, strings.Replace(okWatch, "path: inbox", "path: nope", 1)), "watches[0].path"},
		"watch not a dir":   {base(okGR, strings.Replace(okWatch, "path: inbox", "path: not-a-dir", 1)), "not a directory"},
		"duplicate watch":   {base(okGR, okWatch+okWatch), "duplicate watch name"},
		"unreadable secret": {base("  credentials_file: unreadable\n  conversation_type: t\n", okWatch), "globalrelay.credentials_file"},
		"bad watch name":    {base(okGR, strings.Replace(okWatch, "name: teams", "name: Teams!", 1)), "watches[0].name"},
		"not yaml":          {"{{{", "config"},
	}
	if os.Getuid() == 0 {
		delete(cases, "unreadable secret") // root reads everything
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yml")
			os.WriteFile(cfg, []byte(c.yaml), 0o644)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, binary, "run", "--config", cfg).CombinedOutput()
			if ctx.Err() != nil {
				t.Fatal("did not exit within 5s")
			}
			if err == nil {
				t.Fatalf("exit 0 for a bad config; output:\n%s", out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Fatalf("message does not name %q:\n%s", c.want, out)
			}
		})
	}
}

func TestE2ESecondDaemonOnTheSameJournalFailsFast(t *testing.T) {
	e := newEnv(t)
	d := e.start()
	await(t, 10*time.Second, "first daemon started", func() bool { return d.logCount("archivist started") == 1 })
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang must not outlive the test
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "run", "--config", e.config).CombinedOutput()
	if err == nil {
		t.Fatal("second daemon on the same journal exited 0")
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("second daemon took %s to fail", time.Since(start))
	}
	if !strings.Contains(string(out), "in use by another process") || !strings.Contains(string(out), "another archivist") {
		t.Fatalf("unclear message:\n%s", out)
	}
	d.stop()
}

func TestE2EDeepTreesAndDirectoryReplacedByFile(t *testing.T) {
	e := newEnv(t)
	deep := strings.Repeat("level/", 60) + "bottom.txt"
	e.write(deep, []byte("at the bottom"))
	e.write("swap/inner.txt", []byte("inside a directory"))
	d := e.start()
	await(t, 20*time.Second, "deep file and inner file archived", func() bool {
		return e.archived("bottom.txt", []byte("at the bottom")) && e.archived("inner.txt", []byte("inside a directory"))
	})
	// The directory becomes a file of the same name.
	os.RemoveAll(filepath.Join(e.inbox, "swap"))
	e.write("swap", []byte("now a file"))
	e.write("after.txt", []byte("still served"))
	await(t, 20*time.Second, "replacement file archived", func() bool {
		return e.archived("swap", []byte("now a file")) && e.archived("after.txt", []byte("still served"))
	})
	d.stop()
	e.checkJournal()
}

func TestE2EHeldFilesReleasedAfterConfigChange(t *testing.T) {
	e := newEnv(t)
	// A conversation type the archive does not accept: every event is refused, so files are
	// uploaded but held at the event step.
	good, _ := os.ReadFile(e.config)
	bad := strings.Replace(string(good), "conversation_type: "+e2eType, "conversation_type: not-enrolled", 1)
	os.WriteFile(e.config, []byte(bad), 0o644)
	e.write("report.txt", []byte("needs a config fix"))
	d := e.start()
	await(t, 20*time.Second, "file held", func() bool { return d.logCount("file held") >= 1 })
	d.stop()
	if counts := e.checkJournal(); counts[journal.Held] != 1 {
		t.Fatalf("counts %v, want 1 held", counts)
	}

	// Restart with the same (bad) config: nothing is retried.
	d = e.start()
	await(t, 10*time.Second, "start-up scan", func() bool { return d.logCount("scan done") >= 1 })
	d.stop()
	if counts := e.checkJournal(); counts[journal.Held] != 1 {
		t.Fatalf("held file retried without a config change: %v", counts)
	}

	os.WriteFile(e.config, good, 0o644)
	d = e.start()
	await(t, 20*time.Second, "held file archived after the fix", func() bool {
		return e.archived("report.txt", []byte("needs a config fix"))
	})
	d.stop()
	if puts := e.sb.Stats().Puts; puts != 1 {
		t.Errorf("%d PUTs: the release re-uploaded a file whose upload had succeeded", puts)
	}
}

// TestE2EUnreadableFileHeld runs the daemon as an unprivileged user (nobody, when the tests
// run as root) so that a file only root can read is really unreadable to it.
func TestE2EUnreadableFileHeld(t *testing.T) {
	e := newEnv(t)
	e.write("secret.txt", []byte("only root reads this"))
	e.write("public.txt", []byte("anyone reads this"))
	if err := os.Chmod(filepath.Join(e.inbox, "secret.txt"), 0o000); err != nil {
		t.Fatal(err)
	}
	cred := e.unprivileged()
	d := e.startAs(cred)
	await(t, 20*time.Second, "readable file archived", func() bool { return e.archived("public.txt", []byte("anyone reads this")) })
	await(t, 10*time.Second, "unreadable file held", func() bool { return d.logCount("file held") >= 1 })
	d.stop()
	if !strings.Contains(d.output(), "permission denied") {
		t.Fatalf("the log does not say why:\n%s", d.output())
	}
	if counts := e.checkJournal(); counts[journal.Held] != 1 || counts[journal.Posted] != 1 {
		t.Fatalf("counts %v", counts)
	}
}

func TestE2ENoSecretInLogsOrJournal(t *testing.T) {
	e := newEnv(t)
	os.Chmod(filepath.Join(e.dir, "gr.credentials"), 0o644) // also provokes the permissions warning
	e.write("a.txt", []byte("a"))
	d := e.start()
	await(t, 20*time.Second, "file archived", func() bool { return e.archived("a.txt", []byte("a")) })
	d.stop()
	if strings.Contains(d.output(), e2eCreds) {
		t.Fatal("the credential appears in the logs")
	}
	if !strings.Contains(d.output(), "readable by group or others") {
		t.Errorf("no warning about the credentials file's permissions:\n%s", d.output())
	}
	raw, err := os.ReadFile(e.journal)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(e2eCreds)) {
		t.Fatal("the credential is stored in the journal")
	}
}

func TestE2ENotifiesSystemd(t *testing.T) {
	e := newEnv(t)
	sock := filepath.Join(e.dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	next := func(prefix string) string {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case m := <-msgs:
				if strings.HasPrefix(m, prefix) {
					return m
				}
			case <-timeout:
				t.Fatalf("no %s message from the daemon", prefix)
			}
		}
	}
	d := e.startAs(nil, "NOTIFY_SOCKET="+sock)
	next("READY=1")
	if st := next("STATUS="); !strings.Contains(st, "pending") || !strings.Contains(st, "archive up") {
		t.Errorf("status line %q lacks the queue figures", st)
	}
	d.stop()
	next("STOPPING=1")
}

// unprivileged prepares the env for a daemon that runs as nobody when the tests run as root
// (so that a mode-000 file is really unreadable to it) and returns its credential, or nil.
func (e *env) unprivileged() *syscall.Credential {
	if os.Getuid() != 0 {
		return nil
	}
	const nobody = 65534
	// nobody must reach its config, journal folder and drop folder.
	for p := e.dir; strings.HasPrefix(p, os.TempDir()+"/"); p = filepath.Dir(p) {
		os.Chmod(p, 0o755) // the test's own temp folders, never the system's
	}
	os.MkdirAll(filepath.Dir(e.journal), 0o755)
	os.Chown(filepath.Dir(e.journal), nobody, nobody)
	os.Chown(filepath.Join(e.dir, "gr.credentials"), nobody, nobody)
	return &syscall.Credential{Uid: nobody, Gid: nobody}
}

// cli runs an archivist command against the env's config and returns its standard output.
func (e *env) cli(args ...string) string {
	e.t.Helper()
	cmd := exec.Command(binary, append(args[:1:1], append([]string{"--config", e.config}, args[1:]...)...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		e.t.Fatalf("archivist %v: %v\n%s%s", args, err, out, stderr.String())
	}
	return string(out)
}

func TestE2EOperatorCommands(t *testing.T) {
	e := newEnv(t)
	e.write("secret.txt", []byte("readable only after the fix"))
	e.write("public.txt", []byte("anyone reads this"))
	os.Chmod(filepath.Join(e.inbox, "secret.txt"), 0o000)
	d := e.startAs(e.unprivileged())
	await(t, 20*time.Second, "public file archived", func() bool { return e.archived("public.txt", []byte("anyone reads this")) })
	await(t, 10*time.Second, "unreadable file held", func() bool { return d.logCount("file held") >= 1 })

	// queue --state held lists it, with the reason.
	var held []struct {
		ID     uint64
		Path   string
		Reason string
	}
	if err := json.Unmarshal([]byte(e.cli("queue", "--state", "held", "--json")), &held); err != nil {
		t.Fatal(err)
	}
	if len(held) != 1 || held[0].Path != "secret.txt" || !strings.Contains(held[0].Reason, "permission denied") {
		t.Fatalf("held queue: %+v", held)
	}
	if out := e.cli("queue", "--state", "held"); !strings.Contains(out, "secret.txt") || !strings.Contains(out, "-- 1 records") {
		t.Errorf("queue table:\n%s", out)
	}
	if out := e.cli("show", fmt.Sprint(held[0].ID)); !strings.Contains(out, "permission denied") || !strings.Contains(out, "discovered") {
		t.Errorf("show:\n%s", out)
	}
	var st struct {
		Running bool
		Counts  map[string]int
	}
	json.Unmarshal([]byte(e.cli("status", "--json")), &st)
	if !st.Running || st.Counts["held"] != 1 || st.Counts["posted"] != 1 {
		t.Errorf("status: %+v", st)
	}

	// The operator fixes the permissions and retries: it is archived. The chmod moved the
	// file's change time, so the watcher may have recorded it as a new version, superseding
	// the held one, before the retry.
	os.Chmod(filepath.Join(e.inbox, "secret.txt"), 0o644)
	if out := e.cli("retry", fmt.Sprint(held[0].ID)); !strings.Contains(out, "1 records put back") && !strings.Contains(out, "0 records put back") {
		t.Fatalf("retry: %s", out)
	}
	await(t, 20*time.Second, "retried file archived", func() bool { return e.archived("secret.txt", []byte("readable only after the fix")) })
	// The archive has the post before the journal records it: the report reads the journal.
	await(t, 10*time.Second, "both files posted in the journal", func() bool {
		var st struct{ Counts map[string]int }
		return json.Unmarshal([]byte(e.cli("status", "--json")), &st) == nil && st.Counts["posted"] == 2
	})

	// The report's rows match what the archive received; the held version was superseded by
	// the version archived, and the report says so.
	rows, err := csv.NewReader(strings.NewReader(e.cli("report", "--format", "csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("report has %d rows, want header + 2 archived + 1 superseded", len(rows))
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	for _, row := range rows[1:] {
		if row[col["state"]] == "superseded" && row[col["path"]] == "secret.txt" &&
			(strings.Contains(row[col["reason"]], "change time") || strings.Contains(row[col["reason"]], "newer version")) {
			continue
		}
		f, ok := e.sb.File(row[col["file_key"]])
		if !ok || f.SHA256 != row[col["sha256"]] || fmt.Sprint(f.Size) != row[col["size"]] || row[col["state"]] != "posted" || row[col["posted_at"]] == "" {
			t.Errorf("report row %v does not match the archive (%+v)", row, f)
		}
	}
	if out := e.cli("reconcile"); !strings.Contains(out, "0 unexplained") || !strings.Contains(out, "2 archived") {
		t.Errorf("reconcile with everything archived:\n%s", out)
	}
	d.stop()

	// Without the daemon: read-only commands read the journal; reconcile counts what it missed.
	e.write("dropped-while-down.txt", []byte("nobody saw this arrive"))
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(e.inbox, "dropped-while-down.txt"), old, old)
	if code, out, _ := e.runCLI("status"); code != exitNotRunning || !strings.Contains(out, "NOT running") {
		t.Errorf("status without daemon: exit %d, want %d:\n%s", code, exitNotRunning, out)
	}
	if out := e.cli("reconcile"); !strings.Contains(out, "1 unexplained") || !strings.Contains(out, "dropped-while-down.txt") {
		t.Errorf("offline reconcile:\n%s", out)
	}
}

func TestE2ETranscriptsMode(t *testing.T) {
	e := newEnv(t, func(_ *sandbox.Options, vars map[string]string) {
		vars["extra"] = "    mode: transcripts\n    attachment_wait: 20s\n"
	})
	report := []byte("%PDF-1.4\nQ3 report\n")
	e.write("c1/attachments/Q3-report-2023.pdf", report)
	e.write("c1/c1.transcript.json", []byte(`{"version":1,
 "conversation":{"id":"c-1","title":"Q3 review","createdAt":"2023-05-24T10:00:00Z"},
 "participants":[{"id":"jordan","displayName":"Jordan Davies","email":"jordan.davies@greenvaultcapital.com"},
                 {"id":"lisa","displayName":"Lisa Holmes","email":"lisa.holmes@greenvaultcapital.com"}],
 "events":[
  {"id":"m1","time":"2023-05-24T10:05:18Z","type":"message","from":"jordan","text":"see attached"},
  {"id":"f1","time":"2023-05-24T10:05:20Z","type":"file","from":"jordan","to":["lisa"],
   "files":[{"path":"attachments/Q3-report-2023.pdf"}],"text":"take a look","systemText":"User shared a file."}]}`))
	d := e.start()
	await(t, 30*time.Second, "conversation archived", func() bool { return e.eventCount() == 2 })
	d.stop()
	if !e.archived("Q3-report-2023.pdf", report) {
		t.Fatal("attachment not archived and referenced")
	}
	raw := string(e.sb.Conversations()[0].Raw)
	for _, want := range []string{`"eventType":"Message"`, `"see attached"`, `"userType":"recipient"`, `"User shared a file."`} {
		if !strings.Contains(raw, want) {
			t.Errorf("request lacks %s: %s", want, raw)
		}
	}
}
