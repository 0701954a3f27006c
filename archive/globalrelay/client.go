package globalrelay

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/oauth"
	"github.com/archivist-project/archivist/archive/redact"
	"github.com/archivist-project/archivist/archive/remote"
)

// MaxFileSize is the largest file Global Relay accepts ("1.0 GB"); PutFile refuses larger
// files locally instead of sending a gigabyte to be told 400.
const MaxFileSize int64 = 1 << 30

const (
	userAgent = "archivist"
	// maxPostBody is how much of a /conversations answer PostResult keeps.
	maxPostBody = 64 << 10
)

// Options configure a Client. Zero values are documented per field.
type Options struct {
	// BaseURL is the API root, e.g. https://conversations.api.globalrelay.com/v2. Required;
	// a trailing slash is ignored.
	BaseURL string
	// TokenURL is the OAuth2 token endpoint. Required.
	TokenURL string
	// Credentials is sent verbatim as "Authorization: Basic <Credentials>" to TokenURL, and
	// nowhere else. Required. Surrounding white space (a secrets file's trailing newline) is
	// removed; nothing else is changed.
	Credentials string
	// HTTPClient sends every request. Nil means NewHTTPClient(false, 2*time.Minute, 8).
	HTTPClient *http.Client
}

// Client talks to one Global Relay tenant. It is safe for concurrent use.
type Client struct {
	baseURL string
	http    *http.Client // adds the bearer token, renews it once on a 401
	tokens  *oauth.Cache
}

// NewHTTPClient returns the client Global Relay needs: HTTP/1.1 only, TLS verified unless
// insecureSkipVerify, up to maxConns idle keep-alive connections per host, and
// responseTimeout to wait for an answer's headers once a request is sent. There is no
// overall timeout: a 1 GB upload takes as long as it takes; cancel its context instead.
func NewHTTPClient(insecureSkipVerify bool, responseTimeout time.Duration, maxConns int) *http.Client {
	if maxConns <= 0 {
		maxConns = 8
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	tr := &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		DialContext:       dialKernel(dialer.DialContext),
		ForceAttemptHTTP2: false,
		// A non-nil empty map turns HTTP/2 off; Global Relay speaks HTTP/1.1 only.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		Protocols:    protocols,
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: insecureSkipVerify, //nolint:gosec // opt-in, for test tenants
			MinVersion:         tls.VersionTLS12,
			NextProtos:         []string{"http/1.1"},
		},
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: responseTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          max(maxConns, 100),
		MaxIdleConnsPerHost:   maxConns,
		IdleConnTimeout:       90 * time.Second,
		// Room for the headers and a small file's whole body (the upload sends files of up
		// to 64 KiB from memory): one write per PUT instead of two, and through TLS fewer,
		// fuller records.
		WriteBufferSize: 64<<10 + 4<<10,
	}
	return &http.Client{Transport: tr}
}

// New returns a client for the tenant described by o.
func New(o Options) (*Client, error) {
	// The URLs are checked where they are configured (package config): http(s), a host,
	// no user info.
	base := strings.TrimRight(o.BaseURL, "/")
	creds := strings.TrimSpace(o.Credentials)
	if creds == "" {
		return nil, errors.New("globalrelay: credentials are empty")
	}
	if strings.ContainsFunc(creds, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errors.New("globalrelay: credentials contain control characters")
	}
	redact.Credential(creds) // before any request: no answer may echo it in any form
	hc := o.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(false, 2*time.Minute, 8)
	}
	tokens := newTokenCache(o.TokenURL, creds, hc)
	return &Client{
		baseURL: base,
		http:    remote.Authorize(hc, &remote.Bearer{Tokens: tokens}),
		tokens:  tokens,
	}, nil
}

// Token returns a cached bearer token, fetching one if needed; concurrent callers share one
// fetch. A failure is a *TokenError, except that ctx's own end is returned as is.
func (c *Client) Token(ctx context.Context) (string, error) {
	return c.tokens.Get(ctx)
}

// PutFile PUTs size bytes from open() to {BaseURL}/files/{fileKey}. open is called once per
// attempt (again after a 401, and by the transport if it must resend on a fresh
// connection); each call must return the same bytes from the start. The body is streamed,
// never buffered; on a plain TCP connection a body with SendTo (ondisk.Body) sends itself
// through the kernel.
func (c *Client) PutFile(ctx context.Context, fileKey, contentType string, size int64, open func() (io.ReadCloser, error)) error {
	op := "put " + fileKey
	escaped, err := escapeFileKey(fileKey)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch {
	case size < 0:
		return fmt.Errorf("%s: %w", op, failure.Refuse("negative size %d", size))
	case size > MaxFileSize:
		return fmt.Errorf("%s: %w", op, failure.Refuse("file of %d bytes exceeds Global Relay's 1.0 GB limit", size))
	case contentType == "":
		return fmt.Errorf("%s: %w", op, failure.Refuse("no content type"))
	}
	target := c.baseURL + "/files/" + escaped

	getBody := func() (io.ReadCloser, error) { return http.NoBody, nil }
	if size > 0 {
		getBody = open
	}
	body, err := getBody()
	if err != nil {
		return fmt.Errorf("%s: open: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, body)
	if err != nil {
		body.Close()
		return fmt.Errorf("%s: %w", op, err)
	}
	// Exactly size bytes, also for an empty file ("Content-Length: 0", never chunked):
	// Global Relay archives only Content-Length bytes.
	req.ContentLength = size
	req.GetBody = getBody // sent again after a 401, or on a fresh connection
	req.Header.Set("Content-Type", contentType)
	resp, err := c.do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer remote.DrainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return failure.NewHTTPError(op, resp)
	}
	return nil
}

// escapeFileKey checks that key can name a file ("default/" and at least one more segment,
// no empty, "." or ".." segments) and path-escapes each segment. Which characters a key may
// hold is the key builder's business, not this client's.
func escapeFileKey(key string) (string, error) {
	segs := strings.Split(key, "/")
	if len(segs) < 2 || segs[0] != "default" {
		return "", failure.Refuse("fileKey %q does not start with \"default/\"", key)
	}
	for i, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			return "", failure.Refuse("fileKey %q has an empty, \".\" or \"..\" segment", key)
		}
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/"), nil
}

// PostResult is a 2xx answer to POST /conversations.
type PostResult struct {
	StatusCode int
	// RequestID is the first non-empty of: the X-Request-Id header, the body's
	// "reconciliationId", the body's "requestId". Empty if none.
	RequestID string
	// Body is at most the first 64 KiB of the answer.
	Body json.RawMessage
}

// PostConversation POSTs conv as JSON to {BaseURL}/conversations. Global Relay rejects the
// whole request (and archives none of it) if any fileKey it references was not PUT first.
func (c *Client) PostConversation(ctx context.Context, conv *Conversation) (*PostResult, error) {
	const op = "post conversations"
	if conv == nil {
		return nil, fmt.Errorf("%s: %w", op, failure.Refuse("no conversation"))
	}
	payload, err := json.Marshal(conv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, failure.Refuse("encode: %v", err))
	}
	target := c.baseURL + "/conversations"
	// NewRequest sets ContentLength and GetBody for a *bytes.Reader.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer remote.DrainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, failure.NewHTTPError(op, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPostBody))
	if err != nil {
		// The request was sent and answered 2xx; only the answer's body was lost. Report it
		// as a transport error so the caller does not record an acceptance it cannot prove.
		return nil, fmt.Errorf("%s: read answer: %w", op, err)
	}
	res := &PostResult{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	if len(body) > 0 {
		res.Body = json.RawMessage(body)
	}
	if res.RequestID == "" {
		var ids struct {
			ReconciliationID any `json:"reconciliationId"`
			RequestID        any `json:"requestId"`
		}
		if json.Unmarshal(body, &ids) == nil {
			res.RequestID = firstNonEmpty(idString(ids.ReconciliationID), idString(ids.RequestID))
		}
	}
	return res, nil
}

// idString renders an id that may come as a JSON string or number.
func idString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// do sends req with a bearer token; the transport renews a token refused with a 401 once
// and sends the request again, and returns a second 401 to the caller. Transport errors are
// returned as is; token failures as *TokenError (inside the client's *url.Error).
func (c *Client) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", userAgent)
	return c.http.Do(req)
}
