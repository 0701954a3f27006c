package talkdesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/oauth"
	"github.com/archivist-project/archivist/archive/remote"
)

const (
	// tokenScope asks for both steps' scopes in one token.
	tokenScope = "attachments:request attachments:write"
	// defaultTokenLifetime is Talkdesk's documented ten minutes, assumed when a reply has
	// no usable expires_in.
	defaultTokenLifetime = 10 * time.Minute
	// maxNameLen bounds the attachment name; Talkdesk publishes no limit.
	maxNameLen = 255
)

// Options configure a Client. Every field is required unless its comment says otherwise.
type Options struct {
	Name string // the destination's configured name
	// URL is the API host, e.g. https://api.talkdeskapp.com; the client adds
	// /attachments/2023-03. A trailing slash is ignored.
	URL string
	// TokenURL is the OAuth2 token endpoint, e.g. https://<account>.talkdeskid.com/oauth/token.
	TokenURL     string
	ClientID     string
	ClientSecret string
	// HTTPClient sends every request, including the PUT to the presigned link. Nil means
	// DefaultHTTPClient().
	HTTPClient *http.Client
}

// Client forwards files to one Talkdesk account. It is safe for concurrent use.
type Client struct {
	opts   Options
	http   *http.Client // sends without a token: the token request, the presigned PUT
	api    *http.Client // adds the bearer token, renews it once on a 401
	tokens *oauth.Cache
}

var _ forward.Forwarder = (*Client)(nil)

// DefaultHTTPClient is the client used when Options.HTTPClient is nil: TLS verified, two
// minutes to wait for an answer's headers, no overall timeout.
func DefaultHTTPClient() *http.Client { return forward.DefaultHTTPClient() }

// New checks o and returns a client. It sends nothing. The URLs are checked where they are
// configured (package config): http(s), a host, no user info.
func New(o Options) (*Client, error) {
	o.URL = strings.TrimRight(o.URL, "/")
	problems := forward.BasicProblems(o.Name, o.ClientID, "client id", o.ClientSecret, "client secret")
	if len(problems) > 0 {
		return nil, fmt.Errorf("talkdesk %s: %s", o.Name, strings.Join(problems, "; "))
	}
	forward.RedactBasic(o.ClientID, o.ClientSecret)
	hc := forward.HTTPClientOr(o.HTTPClient)
	c := &Client{opts: o, http: hc}
	c.tokens = oauth.New(c.fetchToken)
	c.api = remote.Authorize(hc, &remote.Bearer{Tokens: c.tokens})
	return c, nil
}

// isHTTPURL checks the upload link of an answer (not a configured endpoint).
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// Name returns the destination's configured name.
func (c *Client) Name() string { return c.opts.Name }

// AttachmentName is the name f is created under: the first 8 hex digits of f.ID, "-", and
// f.Name. It is the same for every attempt at one file version, and different for two
// versions of one file, since Talkdesk refuses a second attachment of the same name.
func AttachmentName(f *forward.File) string {
	prefix := strings.ReplaceAll(f.ID, "-", "")
	if len(prefix) > 8 {
		prefix = prefix[:8]
	}
	name := strings.ToLower(prefix) + "-" + f.Name
	if len(name) > maxNameLen {
		name = strings.ToValidUTF8(name[:maxNameLen], "")
	}
	return name
}

// Refuse returns a *failure.LocalError for a file that cannot be named (an id that is not a
// UUID, an empty or non-UTF-8 name) or opened. Talkdesk publishes no size or type limits,
// so none are applied here.
func (c *Client) Refuse(f *forward.File) error {
	switch {
	case !forward.IsUUID(f.ID):
		return failure.Refuse("talkdesk: file id %q is not a UUID", f.ID)
	case f.Name == "" || !utf8.ValidString(f.Name):
		return failure.Refuse("talkdesk: file name is empty or not UTF-8")
	case f.Size < 0:
		return failure.Refuse("talkdesk: negative size %d", f.Size)
	case f.Open == nil:
		return failure.Refuse("talkdesk: file has no content to open")
	}
	return nil
}

// Forward uploads f and creates an attachment named AttachmentName(f). If Talkdesk answers
// 409 (the name exists), an earlier attempt of this daemon created it: the receipt says so
// and has no RemoteID.
func (c *Client) Forward(ctx context.Context, f *forward.File) (*forward.Receipt, error) {
	op := "forward " + f.Name + " to talkdesk " + c.opts.Name
	if err := c.Refuse(f); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	link, err := c.uploadLink(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if err := c.put(ctx, link, f); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	name := AttachmentName(f)
	a, err := c.create(ctx, name, link.RequestID, f)
	var he *failure.HTTPError
	if errors.As(err, &he) && he.StatusCode == http.StatusConflict {
		return &forward.Receipt{Detail: fmt.Sprintf("attachment %q already exists: created by an earlier attempt", name)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return &forward.Receipt{RemoteID: a.ID, Detail: fmt.Sprintf("attachment %q, state %s", a.Name, a.State)}, nil
}

// uploadLinkReply is the answer to POST /attachments/2023-03/upload-link.
type uploadLinkReply struct {
	RequestID string `json:"request_id"`
	URL       string `json:"url"`
}

// uploadLink asks for a one-time upload link. The body is an empty object: the optional
// allowed_mime_types is not sent, since its exact shape is not published.
func (c *Client) uploadLink(ctx context.Context) (*uploadLinkReply, error) {
	const op = "post upload-link"
	var r uploadLinkReply
	if err := c.postJSON(ctx, op, c.opts.URL+"/attachments/2023-03/upload-link", map[string]any{}, &r); err != nil {
		return nil, err
	}
	if r.RequestID == "" || !isHTTPURL(r.URL) {
		return nil, fmt.Errorf("%s: answer has no request_id or no http(s) url", op)
	}
	return &r, nil
}

// put streams f's bytes to the presigned link: no Authorization header (the link carries
// its own), the file's MIME type, an exact Content-Length. A transport error does not carry
// the link's query (its signature).
func (c *Client) put(ctx context.Context, link *uploadLinkReply, f *forward.File) error {
	op := "put upload " + link.RequestID
	getBody := f.Open
	if f.Size == 0 {
		getBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	ct := f.MIME
	if forward.BaseMIME(ct) == "" {
		ct = "application/octet-stream"
	}
	req, err := remote.NewRequest(ctx, http.MethodPut, link.URL, remote.Body{Type: ct, Length: f.Size, Open: getBody})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, _, err = remote.Exchange(c.http, req, op, func(resp *http.Response) error {
		he := failure.NewHTTPError(op, resp)
		if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound {
			// An expired or used link: the next attempt asks for a new one.
			cls := failure.Transient
			he.Class = &cls
		}
		return he
	})
	return err
}

// attachmentRequest is the body of POST /attachments/2023-03.
type attachmentRequest struct {
	Name      string   `json:"name"`
	RequestID string   `json:"request_id"`
	Metadata  metadata `json:"metadata"`
}

type metadata struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	Type string `json:"type"`
}

// attachment is the 200 answer of POST /attachments/2023-03 (fields not used are omitted).
type attachment struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
}

func (c *Client) create(ctx context.Context, name, requestID string, f *forward.File) (*attachment, error) {
	op := "post attachment " + name
	typ := forward.BaseMIME(f.MIME)
	if typ == "" {
		typ = "application/octet-stream"
	}
	var a attachment
	req := attachmentRequest{Name: name, RequestID: requestID, Metadata: metadata{Name: f.Name, Size: f.Size, Type: typ}}
	if err := c.postJSON(ctx, op, c.opts.URL+"/attachments/2023-03", req, &a); err != nil {
		return nil, err
	}
	if a.ID == "" {
		return nil, fmt.Errorf("%s: answer has no id", op)
	}
	return &a, nil
}

// apiError is Talkdesk's error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// postJSON POSTs v with a bearer token and decodes a 2xx answer into out (the transport
// renews a token refused with a 401 once and sends again). Non-2xx answers are
// *failure.HTTPError with Code set from the error body.
func (c *Client) postJSON(ctx context.Context, op, target string, v, out any) error {
	body, err := remote.JSONBody(v)
	if err != nil {
		return fmt.Errorf("%s: %w", op, failure.Refuse("encode: %v", err))
	}
	req, err := remote.NewJSONRequest(ctx, http.MethodPost, target, body)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	_, b, err := remote.Exchange(c.api, req, op, func(resp *http.Response) error {
		he := failure.NewHTTPError(op, resp)
		var e apiError
		if json.Unmarshal([]byte(he.Body), &e) == nil {
			he.Code = e.Code
		}
		return he
	})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: answer is not the expected JSON object", op)
	}
	return nil
}
