package systemd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/testwait"
)

// listenNotify stands in for the service manager: a unixgram socket in a temporary folder,
// set as $NOTIFY_SOCKET. Watchdog variables are cleared so the test sees only its own.
func listenNotify(t *testing.T) *net.UnixConn {
	t.Helper()
	return listenNotifyAt(t, filepath.Join(t.TempDir(), "notify.sock"))
}

func listenNotifyAt(t *testing.T, addr string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", addr)
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	return conn
}

// recv returns the next datagram, failing the test if none arrives within a few seconds.
func recv(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

// pending returns the datagrams already queued on conn without waiting for more.
func pending(t *testing.T, conn *net.UnixConn) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 4096)
	for {
		if err := conn.SetReadDeadline(time.Now()); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 5*time.Second, what, cond)
}

func TestNotifierSendsExactDatagrams(t *testing.T) {
	conn := listenNotify(t)
	n := NewNotifier()
	for _, tc := range []struct {
		send func() error
		want string
	}{
		{n.Ready, "READY=1"},
		{func() error { return n.Status("queue: 3 due, 1 in flight, 0 held") }, "STATUS=queue: 3 due, 1 in flight, 0 held"},
		{func() error { return n.Status("two\nlines\r\nthree") }, "STATUS=two lines three"},
		{n.Stopping, "STOPPING=1"},
		{n.Watchdog, "WATCHDOG=1"},
	} {
		if err := tc.send(); err != nil {
			t.Fatalf("send %q: %v", tc.want, err)
		}
		if got := recv(t, conn); got != tc.want {
			t.Errorf("datagram = %q, want %q", got, tc.want)
		}
	}
}

func TestNotifierReloadingCarriesMonotonicTime(t *testing.T) {
	conn := listenNotify(t)
	if err := NewNotifier().Reloading(); err != nil {
		t.Fatal(err)
	}
	got := recv(t, conn)
	m := regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=([1-9][0-9]*)$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("datagram = %q, want RELOADING=1 and MONOTONIC_USEC", got)
	}
	// Go's own monotonic clock is CLOCK_MONOTONIC too, but without an exposed origin; the
	// sent value must at least be a plausible uptime, not wall-clock microseconds.
	usec, _ := strconv.ParseInt(m[1], 10, 64)
	if wall := time.Now().UnixMicro(); usec >= wall/2 {
		t.Errorf("MONOTONIC_USEC=%d looks like wall-clock time (%d)", usec, wall)
	}
}

func TestNotifierAbstractSocket(t *testing.T) {
	conn := listenNotifyAt(t, fmt.Sprintf("@archivist-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := NewNotifier().Ready(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, conn); got != "READY=1" {
		t.Errorf("datagram = %q, want READY=1", got)
	}
}

func TestNotifierWithoutSystemdIsNoOp(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	os.Unsetenv("NOTIFY_SOCKET") // t.Setenv restores it afterwards
	n := NewNotifier()
	for name, send := range map[string]func() error{
		"Ready":     n.Ready,
		"Status":    func() error { return n.Status("x") },
		"Reloading": n.Reloading,
		"Stopping":  n.Stopping,
		"Watchdog":  n.Watchdog,
	} {
		if err := send(); err != nil {
			t.Errorf("%s: %v, want nil", name, err)
		}
	}
	if d := n.WatchdogInterval(); d != 0 {
		t.Errorf("WatchdogInterval = %v, want 0", d)
	}
	done := make(chan struct{})
	go func() { n.RunWatchdog(context.Background(), func() bool { return true }); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog without a watchdog did not return")
	}
}

func TestNotifierErrors(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "vsock:2:1234")
	if err := NewNotifier().Ready(); !errors.Is(err, ErrUnsupportedSocket) {
		t.Errorf("Ready with a vsock address: %v, want ErrUnsupportedSocket", err)
	}
	missing := filepath.Join(t.TempDir(), "gone.sock")
	t.Setenv("NOTIFY_SOCKET", missing)
	err := NewNotifier().Status("queue: 1 due")
	if err == nil {
		t.Fatal("Status to a missing socket: nil error")
	}
	if want := "sd_notify STATUS=queue: 1 due: "; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
}

func TestWatchdogInterval(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
	}{
		{"60000000", "", 30 * time.Second},
		{"60000000", self, 30 * time.Second},
		{"60000000", "1", 0}, // meant for another process
		{"", "", 0},
		{"0", "", 0},
		{"-5", "", 0},
		{"60s", "", 0},
		{"99999999999999999999", "", 0},
	} {
		t.Run(tc.usec+"/"+tc.pid, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", tc.usec)
			t.Setenv("WATCHDOG_PID", tc.pid)
			if got := NewNotifier().WatchdogInterval(); got != tc.want {
				t.Errorf("WatchdogInterval = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunWatchdogStopsPingingWhenUnhealthy(t *testing.T) {
	conn := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "10000") // pings every 5ms
	n := NewNotifier()
	if got := n.WatchdogInterval(); got != 5*time.Millisecond {
		t.Fatalf("WatchdogInterval = %v, want 5ms", got)
	}

	var ok atomic.Bool
	var checks atomic.Int64
	ok.Store(true)
	healthy := func() bool { checks.Add(1); return ok.Load() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.RunWatchdog(ctx, healthy); close(done) }()

	for range 3 {
		if got := recv(t, conn); got != "WATCHDOG=1" {
			t.Fatalf("datagram = %q, want WATCHDOG=1", got)
		}
	}

	ok.Store(false)
	// A check that started before the switch may still ping; drain it, then require several
	// later checks to have sent nothing.
	after := checks.Load() + 1
	waitFor(t, "a check after the switch", func() bool { return checks.Load() > after })
	pending(t, conn)
	quiet := checks.Load() + 3
	waitFor(t, "three more checks", func() bool { return checks.Load() > quiet })
	if got := pending(t, conn); len(got) != 0 {
		t.Fatalf("pinged while unhealthy: %q", got)
	}

	ok.Store(true)
	if got := recv(t, conn); got != "WATCHDOG=1" {
		t.Fatalf("after recovery: datagram = %q, want WATCHDOG=1", got)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog did not return after ctx was cancelled")
	}
}
