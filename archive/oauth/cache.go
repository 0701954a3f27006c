// Package oauth is how every client of archivist obtains bearer tokens: FetchToken makes the
// token request (client credentials or a JWT bearer assertion) and reads the reply, and Cache
// keeps one token per destination, renewed before it is due and after the API rejects it, with
// concurrent callers sharing a single fetch. Every failure to get a token is a *TokenError.
//
// It never logs a token or puts one (or a credential) into an error.
package oauth

import (
	"context"
	"sync"
	"time"
)

// FetchTimeout bounds one fetch. A fetch is shared by every caller waiting for a token, so
// it does not run under any one caller's context.
const FetchTimeout = time.Minute

// Fetch obtains a new token and says how long it may be used before asking again.
type Fetch func(ctx context.Context) (token string, reuse time.Duration, err error)

// Cache holds one token. The zero value is not usable; use New.
type Cache struct {
	fetch Fetch
	now   func() time.Time

	mu       sync.Mutex
	token    string
	renewAt  time.Time
	inflight *call // non-nil while a fetch runs
}

type call struct {
	done  chan struct{}
	token string
	err   error
}

// New returns a cache that gets its tokens from fetch.
func New(fetch Fetch) *Cache { return &Cache{fetch: fetch, now: time.Now} }

// SetClock replaces the clock, for tests.
func (c *Cache) SetClock(now func() time.Time) {
	c.mu.Lock()
	c.now = now
	c.mu.Unlock()
}

// Get returns the cached token, or waits for a (shared) fetch. If ctx ends first it returns
// ctx's error: a caller going away says nothing about the destination. A fetch error is
// returned as Fetch returned it.
func (c *Cache) Get(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.token != "" && c.now().Before(c.renewAt) {
		tok := c.token
		c.mu.Unlock()
		return tok, nil
	}
	f := c.inflight
	if f == nil {
		f = &call{done: make(chan struct{})}
		c.inflight = f
		go c.run(context.WithoutCancel(ctx), f)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Invalidate forgets tok after the API rejected it. A token fetched meanwhile by another
// caller is kept, so concurrent rejections cause a single renewal.
func (c *Cache) Invalidate(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
		c.renewAt = time.Time{}
	}
	c.mu.Unlock()
}

func (c *Cache) run(ctx context.Context, f *call) {
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	c.mu.Lock()
	started := c.now()
	c.mu.Unlock()
	tok, reuse, err := c.fetch(ctx)

	c.mu.Lock()
	if err != nil {
		f.err = err
	} else {
		f.token = tok
		c.token = tok
		c.renewAt = started.Add(reuse)
	}
	c.inflight = nil
	c.mu.Unlock()
	close(f.done)
}

// RenewAhead returns how long a token of the given lifetime may be reused: its lifetime
// less a fifth of it, at most a minute less.
func RenewAhead(lifetime time.Duration) time.Duration {
	return lifetime - min(time.Minute, lifetime/5)
}
