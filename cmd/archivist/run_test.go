package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/config"
)

// projectGoroutines lists the goroutines, other than the caller's, running code of this
// project other than the sandbox and the tests: those still at work when they are listed.
func projectGoroutines() []string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		// Its frames only: "created by" names who started it, and a goroutine that has
		// returned from our code (runtime.goexit1, after its WaitGroup's Done) is not at work.
		frames, _, _ := strings.Cut(g, "\ncreated by ")
		if i == 0 || !strings.Contains(frames, "archivist-project/archivist/") {
			continue // the caller, or nothing of ours
		}
		if strings.Contains(g, "archive/sandbox.") || strings.Contains(g, "cmd/archivist.Test") || strings.Contains(g, "testwait.") {
			continue
		}
		out = append(out, g)
	}
	return out
}

// run awaits every goroutine it starts before the journal closes (issue 12): the control
// server, metrics, watchdog, status reporter, reload watch, the watcher, the journal's size
// guard and damage watch. Before, several ran on after the journal closed and could read it.
func TestRunAwaitsItsGoroutinesBeforeTheJournalCloses(t *testing.T) {
	e := newEnv(t)
	cfg, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	var left []string
	beforeJournalClose = func() { left = projectGoroutines() }
	t.Cleanup(func() { beforeJournalClose = func() {} })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, e.config, cfg, log, nil, false) }()
	await(t, 20*time.Second, "the daemon to answer on its control socket", func() bool {
		cmd := exec.Command(binary, "status", "--config", e.config)
		var out bytes.Buffer
		cmd.Stdout = &out
		return cmd.Run() == nil && strings.Contains(out.String(), "running since")
	})
	cancel()
	select {
	case err := <-done:
		if err != nil && err != context.Canceled {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return within 30s of its context ending")
	}
	if len(left) > 0 {
		t.Fatalf("%d goroutines still at work when the journal closed:\n\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// A SIGHUP as soon as the daemon says it started (systemctl reload right after start) is
// applied, never lost, and never ends the process (SIGHUP's default action). Before, the
// reload watch caught SIGHUP only once it ran, well after "archivist started".
func TestReloadRightAfterTheStartIsApplied(t *testing.T) {
	e := newEnv(t)
	cfg, err := config.Load(e.config)
	if err != nil {
		t.Fatal(err)
	}
	alive := make(chan os.Signal, 1) // the test process survives a SIGHUP whoever catches it
	signal.Notify(alive, syscall.SIGHUP)
	defer signal.Stop(alive)
	log := logrus.New()
	var out lockedBuffer
	log.SetOutput(&out)
	log.AddHook(hupOnStart{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, e.config, cfg, log, nil, false) }()
	await(t, 20*time.Second, "the reload of the SIGHUP sent at start", func() bool {
		return strings.Contains(out.String(), "configuration reloaded")
	})
	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Fatalf("run: %v", err)
	}
}

// hupOnStart sends this process SIGHUP the moment the daemon logs that it started.
type hupOnStart struct{}

func (hupOnStart) Levels() []logrus.Level { return logrus.AllLevels }
func (hupOnStart) Fire(e *logrus.Entry) error {
	if e.Message == "archivist started" {
		return syscall.Kill(os.Getpid(), syscall.SIGHUP)
	}
	return nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
