package testwait_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/testwait"
)

func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	testwait.For(t, 5*time.Second, "three looks", func() bool { return n.Add(1) >= 3 })
	if n.Load() != 3 {
		t.Fatalf("looked %d times, want 3", n.Load())
	}
}

// fatal records a failure instead of ending the test.
type fatal struct {
	testing.TB
	msg string
}

func (f *fatal) Helper()               {}
func (f *fatal) Fatalf(string, ...any) { f.msg = "failed"; panic(f) }

func TestForFailsAfterTheDeadline(t *testing.T) {
	f := &fatal{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != f {
				panic(r)
			}
		}()
		testwait.For(f, 20*time.Millisecond, "never", func() bool { return false })
	}()
	if f.msg == "" {
		t.Fatal("For returned without the condition and without failing")
	}
}
