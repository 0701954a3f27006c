package systemd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnsupportedSocket is returned by every Notifier method when $NOTIFY_SOCKET is set but is
// neither an absolute path nor an abstract socket name ("@..."), such as the "vsock:" form
// that systemd uses for virtual machines.
var ErrUnsupportedSocket = errors.New("unsupported NOTIFY_SOCKET address")

// Notifier talks to the service manager via $NOTIFY_SOCKET; every method is a no-op
// (returning nil) when the daemon does not run under systemd.
//
// A Notifier is safe for concurrent use: each message is one datagram sent on its own
// connection, and the fields are not changed after NewNotifier.
type Notifier struct {
	socket   string        // $NOTIFY_SOCKET; "" when not under systemd; a leading '@' names an abstract socket
	watchdog time.Duration // WATCHDOG_USEC, if it is meant for this process; 0 when there is no watchdog
}

// NewNotifier reads the environment systemd sets for a Type=notify service: NOTIFY_SOCKET
// (a path, or an abstract socket name starting with '@'), and WATCHDOG_USEC with WATCHDOG_PID
// (the watchdog is ignored when WATCHDOG_PID names another process). The variables are left
// in the environment.
func NewNotifier() *Notifier {
	n := &Notifier{socket: os.Getenv("NOTIFY_SOCKET")}
	usec, err := strconv.ParseUint(os.Getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || usec == 0 || usec > uint64(time.Duration(1<<63-1)/time.Microsecond) {
		return n
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return n
	}
	n.watchdog = time.Duration(usec) * time.Microsecond
	return n
}

// Ready tells systemd that start-up (or a reload) has finished: READY=1.
func (n *Notifier) Ready() error { return n.send("READY=1") }

// Status sets the free-form status line that `systemctl status` shows: STATUS=s. Line breaks
// in s become spaces, since a line break would end the assignment.
func (n *Notifier) Status(s string) error {
	return n.send("STATUS=" + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}

// Reloading tells systemd that a configuration reload has begun: RELOADING=1 with the
// CLOCK_MONOTONIC time of the request (MONOTONIC_USEC, which newer systemd versions expect).
// Call Ready once the new configuration is in effect, or the old one was kept.
func (n *Notifier) Reloading() error {
	if n.socket == "" {
		return nil
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("sd_notify RELOADING=1: read monotonic clock: %w", err)
	}
	return n.send("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10))
}

// Stopping tells systemd that the daemon has begun to shut down: STOPPING=1.
func (n *Notifier) Stopping() error { return n.send("STOPPING=1") }

// WatchdogInterval is how often to ping: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
// recommends; 0 if systemd expects no pings from this process.
func (n *Notifier) WatchdogInterval() time.Duration { return n.watchdog / 2 }

// Watchdog tells systemd that the daemon is alive: WATCHDOG=1.
func (n *Notifier) Watchdog() error { return n.send("WATCHDOG=1") }

// RunWatchdog pings at WatchdogInterval while healthy() returns true, until ctx is done (so a
// stuck pipeline stops the pings and systemd restarts the service). The first check is made at
// once. A tick on which healthy returns false, or on which healthy has not returned, sends
// nothing; pings resume if it turns true again before systemd's deadline. RunWatchdog returns
// at once when there is no watchdog. A ping that cannot be sent is not retried: missed pings
// are exactly what the service manager acts on.
func (n *Notifier) RunWatchdog(ctx context.Context, healthy func() bool) {
	interval := n.WatchdogInterval()
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if healthy() {
			_ = n.Watchdog()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// send writes state as one datagram to $NOTIFY_SOCKET.
func (n *Notifier) send(state string) error {
	if n.socket == "" {
		return nil
	}
	// Go's net package maps a leading '@' to the abstract namespace itself.
	if !strings.HasPrefix(n.socket, "/") && !strings.HasPrefix(n.socket, "@") {
		return fmt.Errorf("sd_notify %s: %q: %w", firstLine(state), n.socket, ErrUnsupportedSocket)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", firstLine(state), err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", firstLine(state), err)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
