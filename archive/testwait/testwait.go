// Package testwait is the one way tests await a condition: poll it until it holds, and fail
// the test with what was awaited when a deadline passes. Only tests import it, and it
// imports no package of archivist.
package testwait

import (
	"testing"
	"time"
)

// Interval is how long For sleeps between two looks at the condition.
const Interval = 5 * time.Millisecond

// For polls cond until it holds, failing t after timeout with what it waited for.
func For(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(Interval)
	}
}
