package stage

import (
	"testing"
	"time"
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
