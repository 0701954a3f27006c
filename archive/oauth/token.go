package oauth

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
	"github.com/archivist-project/archivist/archive/redact"
	"github.com/archivist-project/archivist/archive/remote"
)

// TokenError wraps any failure to obtain a token: a network error, a non-2xx answer of the
// token URL (a *failure.HTTPError inside), or a reply without a token. It means the
// destination cannot authenticate at all, as opposed to "this request was refused".
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return redact.String("get token: " + e.Err.Error()) }
func (e *TokenError) Unwrap() error { return e.Err }

// maxReply bounds how much of a token reply is read.
const maxReply = 64 << 10

// Request is one token request: a form POSTed to URL.
type Request struct {
	URL  string
	Form url.Values
	// Authorization is the whole header value ("Basic ..."), or "" for none.
	Authorization string
	// Secret, if set, is a secret of the request besides Authorization and the form's
	// secretFields; like them, it is registered with package redact, so that no error body
	// and no log line can echo it.
	Secret    string
	UserAgent string
	// DefaultLifetime is assumed when the reply has no usable expires_in.
	DefaultLifetime time.Duration
}

// secretFields are the form fields that carry a credential.
var secretFields = []string{"assertion", "client_secret", "client_assertion", "refresh_token", "password"}

type reply struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	IDToken      string          `json:"id_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
}

// FetchToken makes the request and returns the access token and its lifetime. Errors are
// *TokenError, except the caller's own cancellation.
//
// Every secret of the request and every token of the reply is registered with package redact
// before anything of the answer is read, so an error page that echoes one cannot leak it.
func FetchToken(ctx context.Context, hc *http.Client, r Request) (string, time.Duration, error) {
	registerSecrets(r)
	tok, lifetime, err := fetch(ctx, hc, r)
	if err != nil && ctx.Err() == nil {
		return "", 0, &TokenError{Err: err}
	}
	return tok, lifetime, err
}

func fetch(ctx context.Context, hc *http.Client, r Request) (string, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, strings.NewReader(r.Form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("post token url: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if r.UserAgent != "" {
		req.Header.Set("User-Agent", r.UserAgent)
	}
	if r.Authorization != "" {
		req.Header.Set("Authorization", r.Authorization)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, err // *url.Error: names the token URL, never the headers
	}
	defer remote.DrainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", 0, failure.NewHTTPError("post "+RedactURL(r.URL), resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return "", 0, fmt.Errorf("read token reply: %w", err)
	}
	var rep reply
	err = json.Unmarshal(body, &rep)
	for _, tok := range []string{rep.AccessToken, rep.RefreshToken, rep.IDToken} {
		redact.Issued(tok)
	}
	if err != nil {
		// The decoder's message quotes no input, but the reply holds a token: keep only
		// what kind of problem it was.
		return "", 0, errors.New("token reply is not the expected JSON object")
	}
	if rep.AccessToken == "" {
		return "", 0, errors.New("token reply has no access_token")
	}
	if rep.TokenType != "" && !strings.EqualFold(rep.TokenType, "bearer") {
		return "", 0, fmt.Errorf("token reply has token_type %q, want Bearer", rep.TokenType)
	}
	return rep.AccessToken, ParseExpiresIn(rep.ExpiresIn, r.DefaultLifetime), nil
}

// registerSecrets tells package redact every secret r sends.
func registerSecrets(r Request) {
	redact.Secret(r.Secret)
	if cred, ok := strings.CutPrefix(r.Authorization, "Basic "); ok {
		redact.Credential(cred)
	} else if tok, ok := strings.CutPrefix(r.Authorization, "Bearer "); ok {
		redact.Issued(tok)
	}
	for _, k := range secretFields {
		for _, v := range r.Form[k] {
			redact.Issued(v) // short-lived (an assertion) or issued (a refresh token)
		}
	}
}

// ParseExpiresIn reads expires_in as a JSON number or a numeric string of seconds (Global
// Relay's example sends a string). Missing, zero, negative or unreadable values give def: the
// token still works, and a 401 renews it anyway.
func ParseExpiresIn(raw json.RawMessage, def time.Duration) time.Duration {
	s := strings.TrimSpace(string(raw))
	if unq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(unq)
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || secs <= 0 || secs > 366*24*3600 {
		return def
	}
	return time.Duration(secs * float64(time.Second))
}

// RedactURL drops any userinfo, query and fragment from u for use in an error message.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "token url"
	}
	p.User = nil
	p.RawQuery = ""
	p.Fragment = ""
	return p.String()
}
