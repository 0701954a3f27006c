package archive

import (
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/journal"
)

// cpuTime is the user and system time this process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// An idle pipeline sleeps: the poster and the disposal loop used to wake each other after
// every round, so a daemon with nothing to do spent most of a CPU on read transactions.
func TestIdlePipelineDoesNotSpin(t *testing.T) {
	h := newHarness(t)
	h.drop("done.txt", []byte("archived before the pipeline goes idle"))
	id := h.record("done.txt").ID
	h.start(nil)
	h.awaitState(id, journal.Posted)
	const window = 500 * time.Millisecond
	before, start := cpuTime(t), time.Now()
	time.Sleep(window) // a time window is what is measured: nothing to await
	used, elapsed := cpuTime(t)-before, time.Since(start)
	if used > elapsed/5 {
		t.Fatalf("idle pipeline used %v of CPU in %v", used, elapsed)
	}
}
