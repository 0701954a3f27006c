package remote

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// UserAgent is what every request of archivist's clients says it comes from.
const UserAgent = "archivist"

// MaxReply bounds how much of a successful answer a client reads.
const MaxReply = 64 << 10

// Body is a request body that can be opened again, for a resend after a renewed token or a
// redirect.
type Body struct {
	Type   string // Content-Type
	Length int64  // exact Content-Length
	Open   func() (io.ReadCloser, error)
}

// JSONBody is v encoded as JSON. An encoding error is returned as it came.
func JSONBody(v any) (Body, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Body{}, err
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return Body{Type: "application/json", Length: int64(len(b)), Open: open}, nil
}

// NewRequest builds a request with body (opened once now, again by GetBody), its exact
// Content-Length, its Content-Type and the User-Agent. A failure to open the body is
// "open: <cause>".
func NewRequest(ctx context.Context, method, target string, body Body) (*http.Request, error) {
	rc, err := body.Open()
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	req.ContentLength = body.Length
	req.GetBody = body.Open
	req.Header.Set("Content-Type", body.Type)
	req.Header.Set("User-Agent", UserAgent)
	return req, nil
}

// NewJSONRequest is NewRequest for an API that answers in JSON (Accept: application/json).
func NewJSONRequest(ctx context.Context, method, target string, body Body) (*http.Request, error) {
	req, err := NewRequest(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// Exchange sends req with hc and reads the answer; every error starts with op. A transport
// error is returned without the query of its URL (a presigned link's signature). A non-2xx
// answer is what refuse makes of it (refuse may read the body). A 2xx answer is returned
// with at most MaxReply bytes of its body, which resp.Body then reads again.
// The body is drained and closed in every case.
func Exchange(hc *http.Client, req *http.Request, op string, refuse func(*http.Response) error) (resp *http.Response, body []byte, err error) {
	resp, err = hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, withoutQuery(err))
	}
	defer DrainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, refuse(resp)
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, MaxReply))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: read answer: %w", op, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, body, nil
}

// withoutQuery drops the query of a *url.Error's URL.
func withoutQuery(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// BasicCredential is the Basic credential of RFC 7617, as http.Request.SetBasicAuth sends it
// after "Basic ".
func BasicCredential(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
