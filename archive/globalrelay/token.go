package globalrelay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
)

// TokenError wraps any failure to obtain a token: a network error, or a non-2xx answer from
// the token URL (a *failure.HTTPError inside), or a reply without a token. It means the
// destination cannot authenticate at all, as opposed to "this request was refused".
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "get token: " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

const (
	// tokenScope is what Global Relay's example asks for.
	tokenScope = "openid conversation file write"
	// defaultTokenLifetime is assumed when the reply has no usable expires_in.
	defaultTokenLifetime = 5 * time.Minute
	// maxRenewAhead bounds how long before its expiry a token is renewed; shorter lifetimes
	// are renewed a fifth of their lifetime ahead.
	maxRenewAhead = time.Minute
	// tokenFetchTimeout bounds one token request. The fetch is shared by every caller waiting
	// for a token, so it does not run under any one caller's context.
	tokenFetchTimeout = time.Minute
	// maxTokenReply bounds how much of a token reply is read.
	maxTokenReply = 64 << 10
)

// tokenSource caches one bearer token and fetches a new one when it is missing, about to
// expire, or invalidated after a 401. Concurrent callers share a single fetch.
type tokenSource struct {
	url         string
	credentials string
	client      *http.Client
	now         func() time.Time

	mu       sync.Mutex
	token    string
	renewAt  time.Time
	inflight *tokenFetch // non-nil while a fetch runs
}

// tokenFetch is one token request in flight; done is closed when token/err are set.
type tokenFetch struct {
	done  chan struct{}
	token string
	err   error
}

// get returns the cached token or waits for a (shared) fetch. If ctx ends first it returns
// ctx's error unwrapped: a caller going away says nothing about the destination.
func (ts *tokenSource) get(ctx context.Context) (string, error) {
	ts.mu.Lock()
	if ts.token != "" && ts.now().Before(ts.renewAt) {
		tok := ts.token
		ts.mu.Unlock()
		return tok, nil
	}
	f := ts.inflight
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		ts.inflight = f
		go ts.fetch(context.WithoutCancel(ctx), f)
	}
	ts.mu.Unlock()

	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// invalidate forgets tok after the API answered 401 to it. A token fetched meanwhile by
// another caller is kept, so concurrent 401s cause a single renewal.
func (ts *tokenSource) invalidate(tok string) {
	ts.mu.Lock()
	if ts.token == tok {
		ts.token = ""
		ts.renewAt = time.Time{}
	}
	ts.mu.Unlock()
}

func (ts *tokenSource) fetch(ctx context.Context, f *tokenFetch) {
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	started := ts.now()
	tok, lifetime, err := ts.request(ctx)

	ts.mu.Lock()
	if err != nil {
		f.err = &TokenError{Err: err}
	} else {
		f.token = tok
		ts.token = tok
		ts.renewAt = started.Add(lifetime - min(maxRenewAhead, lifetime/5))
	}
	ts.inflight = nil
	ts.mu.Unlock()
	close(f.done)
}

// tokenReply is the JSON Global Relay answers with. expires_in is a string in Global
// Relay's example and a number in RFC 6749; both are read.
type tokenReply struct {
	AccessToken string          `json:"access_token"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
	TokenType   string          `json:"token_type"`
}

func (ts *tokenSource) request(ctx context.Context) (token string, lifetime time.Duration, err error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {tokenScope}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.url, strings.NewReader(form))
	if err != nil {
		return "", 0, fmt.Errorf("post token url: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	// Sent exactly as Global Relay issued it: it already is the Basic credential.
	req.Header.Set("Authorization", "Basic "+ts.credentials)

	resp, err := ts.client.Do(req)
	if err != nil {
		return "", 0, err // *url.Error: names the token URL, never the headers
	}
	defer drainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		he := failure.NewHTTPError("post "+redactedURL(ts.url), resp)
		// An error body should never echo what we sent, but make sure.
		he.Body = strings.ReplaceAll(he.Body, ts.credentials, "[redacted]")
		return "", 0, he
	}
	var reply tokenReply
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenReply))
	if err != nil {
		return "", 0, fmt.Errorf("read token reply: %w", err)
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		// The decoder's message quotes no input values, but the reply holds a token: keep
		// only what kind of problem it was.
		return "", 0, errors.New("token reply is not the expected JSON object")
	}
	if reply.AccessToken == "" {
		return "", 0, errors.New("token reply has no access_token")
	}
	if reply.TokenType != "" && !strings.EqualFold(reply.TokenType, "bearer") {
		return "", 0, fmt.Errorf("token reply has token_type %q, want Bearer", reply.TokenType)
	}
	return reply.AccessToken, parseExpiresIn(reply.ExpiresIn), nil
}

// parseExpiresIn reads expires_in as a JSON number or a numeric string of seconds. Missing,
// zero, negative or unreadable values give defaultTokenLifetime: the token still works, and
// a 401 renews it anyway.
func parseExpiresIn(raw json.RawMessage) time.Duration {
	s := strings.TrimSpace(string(raw))
	if unq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(unq)
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || secs <= 0 || secs > 366*24*3600 {
		return defaultTokenLifetime
	}
	return time.Duration(secs * float64(time.Second))
}

// redactedURL drops any userinfo and query from u for use in an error message.
func redactedURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "token url"
	}
	p.User = nil
	p.RawQuery = ""
	p.Fragment = ""
	return p.String()
}
