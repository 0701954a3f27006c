package gate

import (
	"errors"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
)

func TestGateCountsProbesOnly(t *testing.T) {
	g := New(failure.Backoff{Min: time.Second, Max: time.Hour})
	t0 := time.Now()
	down := errors.New("down")
	u1 := g.Failed(t0, t0.Add(time.Millisecond), down)
	// Others admitted before the pause, reported during it (one with a long Retry-After):
	// the pause stays as it is.
	slowDown := &failure.HTTPError{StatusCode: 503, Status: "503", RetryAfter: 30 * time.Minute}
	for i, err := range []error{down, slowDown, down} {
		if u := g.Failed(t0, t0.Add(time.Duration(i+2)*time.Millisecond), err); !u.Equal(u1) {
			t.Fatalf("a failure during the pause moved it from %s to %s", u1, u)
		}
	}
	if g.failures != 1 {
		t.Fatalf("failures = %d, want 1", g.failures)
	}
	// The probe, admitted after the pause, fails: one more step.
	n, probe, _ := g.Allowance(u1, 5)
	if n != 1 || !probe.Probing() {
		t.Fatalf("after the pause: %d admitted, probe %v", n, probe.Probing())
	}
	if u := g.Failed(u1, u1.Add(time.Millisecond), down); !u.After(u1) || g.failures != 2 || g.probing {
		t.Fatalf("failed probe: failures %d, pause until %s (was %s), probing %v", g.failures, u, u1, g.probing)
	}
	// An unknown admission time counts as now.
	if g.Failed(time.Time{}, time.Now().Add(time.Hour), down); g.failures != 3 {
		t.Fatalf("failures = %d, want 3", g.failures)
	}
}

// A probe that failed makes way for the next one; the end of its job, reported after that
// next probe was let through (its journal commit took longer than the pause), ends nothing.
func TestLateEndOfAFailedProbeLetsNoSecondProbeThrough(t *testing.T) {
	g := New(failure.Backoff{Min: 10 * time.Millisecond, Max: time.Second})
	t0 := time.Now()
	down := errors.New("down")
	u1 := g.Failed(t0, t0, down)
	_, first, _ := g.Allowance(u1, 4)
	u2 := g.Failed(u1, u1.Add(time.Millisecond), down) // the first probe fails
	n, second, _ := g.Allowance(u2, 4)
	if n != 1 || !second.Probing() {
		t.Fatalf("after the second pause: %d admitted, probe %v; want one probe", n, second.Probing())
	}
	first.End() // the first probe's job ends late
	if n, _, _ := g.Allowance(u2, 4); n != 0 {
		t.Fatalf("the late end of a failed probe let %d more through beside the probe in flight", n)
	}
	second.End()
	if n, third, _ := g.Allowance(u2, 4); n != 1 || !third.Probing() {
		t.Fatalf("after the probe in flight ended: %d admitted; want the next probe", n)
	}
}
