// Package remote is the HTTP plumbing every client of archivist shares: Bearer, the one
// http.RoundTripper that authorizes requests with a bearer token and renews a rejected token
// once, DrainClose, the one way an answer's body is given back to the connection pool, and
// NewRequest and Exchange, which build a request and read its answer for a client.
//
// It imports no other package of archivist, so every client and every other piece of
// plumbing may use it.
package remote

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
)

// MaxDrain bounds how much of an unread body DrainClose reads before closing it. A longer
// body costs the connection, not a long read.
const MaxDrain = 64 << 10

// DrainClose reads a bounded rest of body so the keep-alive connection can be reused, then
// closes it. Nothing of the body is wanted any more, so its read and close errors say
// nothing to the caller: at worst the connection is not reused.
func DrainClose(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, MaxDrain))
	_ = body.Close()
}

// Tokens is what Bearer needs of a token cache (an *oauth.Cache has both).
type Tokens interface {
	// Get returns the current token, fetching one if there is none.
	Get(ctx context.Context) (string, error)
	// Invalidate forgets token after the API rejected it.
	Invalidate(token string)
}

// Bearer adds "Authorization: Bearer <token>" to every request. When the answer rejects the
// token (a 401, or what Rejects says), it forgets the token, gets a new one and sends the
// request once more with a body from GetBody; a second rejection is returned as it came. A
// request without GetBody (and with a body) is not sent again.
//
// A request the client makes because of a redirect to another host carries no token.
// A failure to get a token is returned as Tokens returned it (the http.Client wraps it in a
// *url.Error, which errors.As sees through).
type Bearer struct {
	Base   http.RoundTripper // nil means http.DefaultTransport
	Tokens Tokens
	// Rejects, if set, says whether a 4xx answer other than 401 rejects the token too (an
	// API that says "invalid token" with a 403 and a code in the body). It sees at most
	// MaxDrain bytes of the body; the caller still reads the whole answer.
	Rejects func(status int, body []byte) bool
}

// Authorize returns a client like hc whose requests go through b (b.Base, if nil, becomes
// hc's transport).
func Authorize(hc *http.Client, b *Bearer) *http.Client {
	if b.Base == nil {
		b.Base = hc.Transport
	}
	return &http.Client{Transport: b, CheckRedirect: hc.CheckRedirect, Jar: hc.Jar, Timeout: hc.Timeout}
}

// RoundTrip implements http.RoundTripper.
func (b *Bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	if redirectedElsewhere(req) {
		return b.base().RoundTrip(req)
	}
	tok, err := b.Tokens.Get(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on failure; unread, nothing is lost
		}
		return nil, err
	}
	resp, err := b.send(req, tok)
	if err != nil || !b.rejected(resp) {
		return resp, err
	}
	again, err := rewind(req)
	if err != nil || again == nil {
		return resp, nil // the answer as it came: the request cannot be sent again
	}
	DrainClose(resp.Body)
	b.Tokens.Invalidate(tok)
	if tok, err = b.Tokens.Get(req.Context()); err != nil {
		if again.Body != nil {
			_ = again.Body.Close() // unsent, nothing is lost
		}
		return nil, err
	}
	return b.send(again, tok)
}

func (b *Bearer) base() http.RoundTripper {
	if b.Base == nil {
		return http.DefaultTransport
	}
	return b.Base
}

// send sends a copy of req with tok (a RoundTripper may not change the caller's request).
func (b *Bearer) send(req *http.Request, tok string) (*http.Response, error) {
	r := req.Clone(req.Context()) // the same body
	r.Header.Set("Authorization", "Bearer "+tok)
	return b.base().RoundTrip(r)
}

// rejected says whether resp rejects the token. A body it looks at is put back in front of
// the rest, so the caller reads the answer whole.
func (b *Bearer) rejected(resp *http.Response) bool {
	if resp.StatusCode == http.StatusUnauthorized {
		return true
	}
	if b.Rejects == nil || resp.StatusCode < 400 || resp.StatusCode > 499 {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, MaxDrain))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), errReader{err}, resp.Body), resp.Body}
	return err == nil && b.Rejects(resp.StatusCode, head)
}

// errReader returns err, once the head before it was read, or EOF for none, so the rest of
// the body follows.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// rewind returns a copy of req with a fresh body, or nil if its body cannot be read again.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	if req.GetBody == nil {
		return nil, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r.Body = body
	return r, nil
}

// redirectedElsewhere says whether req follows a redirect to a host other than the one the
// caller asked for.
func redirectedElsewhere(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return !strings.EqualFold(first.URL.Host, req.URL.Host)
}
