package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
)

const (
	benchCreds = "YmVuY2g6YmVuY2gtc2VjcmV0LTEyMzQ1"
	benchType  = "bench-type"
	watchName  = "bench"
)

// archiveServer is an in-process sandbox with its own directory, serving on loopback.
type archiveServer struct {
	sb     *sandbox.Server
	url    string // base URL: the API is url+"/v2", the token endpoint url+"/oauth2/token"
	cancel context.CancelFunc

	// seen is the Seq of the last conversation accepted() has read; events and last accumulate.
	seen   int
	events int
	posts  int
	last   time.Time
}

func startArchive(o sandbox.Options) (*archiveServer, error) {
	o.Credentials, o.ConversationType = benchCreds, benchType
	sb, err := sandbox.New(o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	url, err := sb.Start(ctx, "127.0.0.1:0")
	if err != nil {
		cancel()
		return nil, err
	}
	return &archiveServer{sb: sb, url: url, cancel: cancel}, nil
}

func (a *archiveServer) stop() { a.cancel() }

// accepted returns the number of File_transfer events the sandbox accepted and when the last
// request holding some was stored (the sandbox's own clock, which is this process's clock).
// It reads only the conversations accepted since its last call, and only when there are
// some: the bench shares the CPUs with what it measures.
func (a *archiveServer) accepted() (events int, last time.Time) {
	if p := a.sb.Stats().Posts; p != a.posts {
		a.posts = p
		for _, c := range a.sb.ConversationsAfter(a.seen) {
			a.events += c.Events
			if c.Received.After(a.last) {
				a.last = c.Received
			}
			a.seen = c.Seq
		}
	}
	return a.events, a.last
}

// awaitEvents polls until n events were accepted, or timeout; it returns when the last one was.
func (a *archiveServer) awaitEvents(n int, timeout time.Duration, d *daemon) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		got, last := a.accepted()
		if got >= n {
			return last, nil
		}
		if d != nil && d.exited() {
			return time.Time{}, fmt.Errorf("daemon exited with %d of %d events accepted:\n%s", got, n, d.tail())
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("timed out after %s with %d of %d events accepted (sandbox %+v); daemon log:\n%s",
				timeout, got, n, a.sb.Stats(), d.tail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// daemonConfig writes archivist.yml in dir for the sandbox at url, watching dir/inbox.
func daemonConfig(dir, url string, workers int, settle time.Duration) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "inbox"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "gr.credentials"), []byte(benchCreds+"\n"), 0o600); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`# written by archivist-bench
journal: state/journal.db
workers: %d
log: {format: json, level: info}
globalrelay:
  url: %s/v2
  token_url: %s/oauth2/token
  credentials_file: gr.credentials
  conversation_type: %s
retry: {min_delay: 100ms, max_delay: 2s}
watches:
  - name: %s
    path: inbox
    settle: %s
    scan_interval: 1h
    sender: {name: "Bench export", email: "bench@example.com"}
`, workers, url, url, benchType, watchName, settle)
	p := filepath.Join(dir, "archivist.yml")
	return p, os.WriteFile(p, []byte(cfg), 0o644)
}

// daemon is one archivist process, started through the launcher (spawn.go), whose JSON log
// lines are read as they come.
type daemon struct {
	proc    *spawned
	started time.Time // just before exec
	done    chan struct{}
	waitErr error

	mu     sync.Mutex
	first  map[string]logLine // first line of each msg
	last   map[string]logLine // last line of each msg
	counts map[string]int     // lines per msg
	levels map[string]int     // lines per level
	lines  []string           // the last lines, for error reports
	issues []string           // the last warning and error lines, for reports of problems
}

// logLine is one line of the daemon's log as it arrived.
type logLine struct {
	at     time.Time
	fields map[string]any
}

// measure is what a measured process cost, read from outside it.
type measure struct {
	HWM    int64   // VmHWM from /proc while it ran, bytes
	MaxRSS int64   // ru_maxrss from wait4 once it exited, bytes
	CPU    float64 // user + system seconds over its life
}

func (m measure) String() string {
	return fmt.Sprintf("VmHWM %s, maxrss %s, CPU %.2fs", mb(m.HWM), mb(m.MaxRSS), m.CPU)
}

func startDaemon(binary, config string) (*daemon, error) {
	d := &daemon{done: make(chan struct{}), first: map[string]logLine{}, last: map[string]logLine{}, counts: map[string]int{}, levels: map[string]int{}}
	cmd := newSpawn(binary, "run", "--config", config)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = w
	d.started = time.Now()
	d.proc, err = start(cmd)
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	go func() {
		d.read(r)
		r.Close()
		<-d.proc.done
		d.waitErr = d.proc.err
		if d.waitErr == nil && d.proc.usage.ExitCode != 0 {
			d.waitErr = fmt.Errorf("exit status %d", d.proc.usage.ExitCode)
		}
		close(d.done)
	}()
	return d, nil
}

// fullLines is how many lines of each message are decoded with all their fields (the bench
// reads the fields of "scan done" lines); later ones only to their message and level, since
// the bench shares the CPUs with the daemon it measures and a burst logs a line per file.
const fullLines = 4

func (d *daemon) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		now := time.Now()
		line := sc.Bytes()
		var head struct{ Msg, Level string }
		if err := json.Unmarshal(line, &head); err != nil {
			head.Msg, head.Level = "(not a JSON log line)", "error" // a panic's trace, say: a problem
		}
		msg, level := head.Msg, head.Level
		problem := level != "info" && level != "debug"
		d.mu.Lock()
		var v map[string]any
		if d.counts[msg] < fullLines || problem {
			if err := json.Unmarshal(line, &v); err != nil {
				v = nil // the head decoded, so it cannot fail here; if it did, no fields
			}
		}
		if _, ok := d.first[msg]; !ok {
			d.first[msg] = logLine{at: now, fields: v}
		}
		d.last[msg] = logLine{at: now, fields: v} // no fields past the first lines of a message
		d.counts[msg]++
		d.levels[level]++
		if problem || len(d.lines) < 50 {
			d.lines = append(d.lines, string(bytes.Clone(line)))
		}
		if problem {
			d.issues = append(d.issues, d.lines[len(d.lines)-1])
			if len(d.issues) > 10 {
				d.issues = d.issues[1:]
			}
		}
		if len(d.lines) > 200 {
			d.lines = d.lines[len(d.lines)-100:]
		}
		d.mu.Unlock()
	}
}

// await waits for the first log line whose msg is msg.
func (d *daemon) await(msg string, timeout time.Duration) (logLine, error) {
	deadline := time.Now().Add(timeout)
	for {
		d.mu.Lock()
		l, ok := d.first[msg]
		d.mu.Unlock()
		if ok {
			return l, nil
		}
		if d.exited() {
			return logLine{}, fmt.Errorf("daemon exited (%v) before logging %q:\n%s", d.waitErr, msg, d.tail())
		}
		if time.Now().After(deadline) {
			return logLine{}, fmt.Errorf("daemon did not log %q within %s:\n%s", msg, timeout, d.tail())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// awaitCount waits until msg was logged n times and returns the n-th line (or a later one,
// if several arrived between two polls).
func (d *daemon) awaitCount(msg string, n int, timeout time.Duration) (logLine, error) {
	deadline := time.Now().Add(timeout)
	for {
		d.mu.Lock()
		l, got := d.last[msg], d.counts[msg]
		d.mu.Unlock()
		if got >= n {
			return l, nil
		}
		if d.exited() {
			return logLine{}, fmt.Errorf("daemon exited (%v) after logging %q %d times of %d:\n%s", d.waitErr, msg, got, n, d.tail())
		}
		if time.Now().After(deadline) {
			return logLine{}, fmt.Errorf("daemon logged %q %d times of %d within %s:\n%s", msg, got, n, timeout, d.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemon) count(msg string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counts[msg]
}

// problems is the number of warning and error lines logged.
func (d *daemon) problems() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.levels["warning"] + d.levels["error"] + d.levels["fatal"]
}

// problemLines is the last ten warning and error lines: what a report of problems shows
// instead of a tail full of info lines.
func (d *daemon) problemLines() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.issues, "\n")
}

func (d *daemon) tail() string {
	if d == nil {
		return ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	lines := d.lines
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// hwm is the daemon's peak resident set so far (VmHWM), in bytes.
func (d *daemon) hwm() int64 { return vmHWM(d.proc.pid) }

// stop reads the daemon's peak RSS (VmHWM) while it still runs, then sends SIGTERM, waits for
// a clean exit and adds what wait4 reported: maxrss and CPU time.
func (d *daemon) stop() (m measure, err error) {
	m.HWM = d.hwm()
	if !d.exited() {
		_ = syscall.Kill(d.proc.pid, syscall.SIGTERM) // it may have exited since
	}
	select {
	case <-d.done:
	case <-time.After(60 * time.Second):
		d.kill()
		return m, fmt.Errorf("daemon did not stop within 60s of SIGTERM")
	}
	if d.waitErr != nil {
		return m, fmt.Errorf("daemon exit: %v\n%s", d.waitErr, d.tail())
	}
	m.MaxRSS, m.CPU = d.proc.usage.MaxRSS, d.proc.usage.CPU
	return m, nil
}

// kill ends the daemon and its launcher at once (on the error paths).
func (d *daemon) kill() {
	if d != nil && !d.exited() {
		_ = d.proc.cmd.Process.Kill() // the daemon follows through PDEATHSIG
		<-d.done
	}
}

// vmHWM reads VmHWM of pid from /proc, in bytes (0 if it cannot).
func vmHWM(pid int) int64 { return procStatus(pid, "VmHWM") }

// procStatus reads a field in kB of /proc/<pid>/status, in bytes (0 if it cannot).
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
