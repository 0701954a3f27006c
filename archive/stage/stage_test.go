package stage

import (
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/gate"
)

func TestRateLimiterBoundsRepeatedLogs(t *testing.T) {
	var rl rateLimiter
	now := time.Unix(1700000000, 0)
	logged := 0
	for i := range 100000 {
		if ok, _ := rl.allow("load record", now.Add(time.Duration(i)*time.Millisecond)); ok {
			logged++
		}
	}
	// 100 s of one error every millisecond: one line per logEvery.
	if want := int(100*time.Second/logEvery) + 1; logged > want {
		t.Fatalf("logged %d times in 100 s, want at most %d", logged, want)
	}
	ok, suppressed := rl.allow("load record", now.Add(200*time.Second))
	if !ok || suppressed == 0 {
		t.Fatalf("after a quiet spell: allowed %v, suppressed count %d", ok, suppressed)
	}
	if ok, _ := rl.allow("another message", now); !ok {
		t.Fatal("a different message is limited by the first")
	}
}

// A commit of work admitted before the journal's pause began shares the failure that paused
// it: it must not count as a failed probe (which would end the probe and start another).
func TestLateCommitOfWorkAdmittedBeforeThePauseIsNotAProbe(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	now := t0
	j := &Journal{Gate: gate.New(failure.Backoff{Min: time.Second, Max: time.Minute}), Log: logrus.New(), Now: func() time.Time { return now }}
	j.Log.(*logrus.Logger).SetOutput(io.Discard)
	now = t0.Add(10 * time.Millisecond)
	j.ResultAt(t0, syscall.EROFS) // the first failure pauses the journal
	now = t0.Add(20 * time.Millisecond)
	j.ResultAt(t0, syscall.EROFS) // the rest of that batch, admitted at the same time
	if f, _ := j.Gate.Pause(); f != 1 {
		t.Fatalf("%d failures counted for one cause, want 1", f)
	}
	now = t0.Add(2 * time.Second)
	if n, probe, _ := j.Gate.Allowance(now, 4); n != 1 || !probe.Probing() {
		t.Fatalf("after the pause: %d admitted (probe %v), want one probe", n, probe.Probing())
	}
	j.ResultAt(t0, syscall.EROFS) // a straggler of the first batch, during the probe
	if n, _, _ := j.Gate.Allowance(now, 4); n != 0 {
		t.Fatalf("a straggler's failure ended the probe: %d more admitted", n)
	}
	j.ResultAt(now, syscall.EROFS) // the probe's own failure
	if f, _ := j.Gate.Pause(); f != 2 {
		t.Fatalf("%d failures after the failed probe, want 2", f)
	}
}
