package oauth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	c := New(func(ctx context.Context) (string, time.Duration, error) {
		fetches.Add(1)
		<-release
		return "tok", time.Hour, nil
	})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if tok, err := c.Get(t.Context()); tok != "tok" || err != nil {
				t.Errorf("Get = %q, %v", tok, err)
			}
		})
	}
	close(release)
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

func TestInvalidateAndExpiry(t *testing.T) {
	now := time.Unix(1000, 0)
	n := 0
	c := New(func(ctx context.Context) (string, time.Duration, error) {
		n++
		return string(rune('a' + n - 1)), time.Minute, nil
	})
	c.SetClock(func() time.Time { return now })
	get := func() string {
		tok, err := c.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if get() != "a" || get() != "a" {
		t.Fatal("token not cached")
	}
	c.Invalidate("other") // a stale token: keeps the current one
	if get() != "a" {
		t.Fatal("invalidating another token dropped the current one")
	}
	c.Invalidate("a")
	if get() != "b" {
		t.Fatal("invalidated token still used")
	}
	now = now.Add(time.Minute)
	if get() != "c" {
		t.Fatal("token used past its reuse time")
	}
}

func TestFetchErrorIsNotCached(t *testing.T) {
	fail := true
	c := New(func(ctx context.Context) (string, time.Duration, error) {
		if fail {
			return "", 0, errors.New("down")
		}
		return "tok", time.Hour, nil
	})
	if _, err := c.Get(context.Background()); err == nil {
		t.Fatal("no error")
	}
	fail = false
	if tok, err := c.Get(context.Background()); tok != "tok" || err != nil {
		t.Fatalf("Get = %q, %v", tok, err)
	}
}

func TestRenewAhead(t *testing.T) {
	if got := RenewAhead(10 * time.Minute); got != 9*time.Minute {
		t.Errorf("RenewAhead(10m) = %v", got)
	}
	if got := RenewAhead(time.Minute); got != 48*time.Second {
		t.Errorf("RenewAhead(1m) = %v", got)
	}
}
