package talkdesk

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
	"time"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward/tokencache"
)

// TokenError wraps any failure to obtain a token: a network error, a non-2xx answer of the
// token URL (a *failure.HTTPError inside), or a reply without a token.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "get token: " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

type tokenReply struct {
	AccessToken string          `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
}

func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	tok, lifetime, err := c.requestToken(ctx)
	if err != nil {
		return "", 0, &TokenError{Err: err}
	}
	return tok, tokencache.RenewAhead(lifetime), nil
}

func (c *Client) requestToken(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {tokenScope}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.TokenURL, strings.NewReader(form))
	if err != nil {
		return "", 0, fmt.Errorf("post token url: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.SetBasicAuth(c.opts.ClientID, c.opts.ClientSecret)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer drainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		he := failure.NewHTTPError("post "+redacted(c.opts.TokenURL), resp)
		he.Body = strings.ReplaceAll(he.Body, c.opts.ClientSecret, "[redacted]")
		return "", 0, he
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return "", 0, fmt.Errorf("read token reply: %w", err)
	}
	var r tokenReply
	if err := json.Unmarshal(body, &r); err != nil {
		return "", 0, errors.New("token reply is not the expected JSON object")
	}
	if r.AccessToken == "" {
		return "", 0, errors.New("token reply has no access_token")
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "bearer") {
		return "", 0, fmt.Errorf("token reply has token_type %q, want Bearer", r.TokenType)
	}
	return r.AccessToken, expiresIn(r.ExpiresIn), nil
}

// expiresIn reads expires_in as a number or numeric string of seconds; anything else is
// the documented ten minutes.
func expiresIn(raw json.RawMessage) time.Duration {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || secs <= 0 || secs > 24*3600 {
		return defaultTokenLifetime
	}
	return time.Duration(secs * float64(time.Second))
}

func redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "token url"
	}
	p.User = nil
	p.RawQuery = ""
	return p.String()
}
