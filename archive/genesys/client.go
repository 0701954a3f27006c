package genesys

import (
	"context"
	"encoding/json"

	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/remote"
)

const (
	// maxPending bounds the memo of uploaded but unlinked documents.
	maxPending = 1024
	// statusAuthFailed is GWS's statusCode for "authentication failed".
	statusAuthFailed = 20
)

// Options configure a Client. Every field is required unless its comment says otherwise.
type Options struct {
	Name string // the destination's configured name
	// URL is the GWS base URL, e.g. https://gws.example.com; the client adds /api/v2/me/....
	// A trailing slash is ignored.
	URL      string
	Username string // Basic authentication
	Password string // Basic authentication
	// ChatID is the chat a file goes to when it carries no chat id of its own. Optional:
	// without it, files without a chat id are refused.
	ChatID string
	// HTTPClient sends every request. Nil means DefaultHTTPClient().
	HTTPClient *http.Client
}

// Client forwards files to one GWS server. It is safe for concurrent use.
type Client struct {
	opts Options
	http *http.Client

	mu      sync.Mutex
	pending map[pendingKey]string // documentId of bytes uploaded, UploadFile not yet accepted
}

type pendingKey struct{ fileID, chatID string }

var _ forward.Forwarder = (*Client)(nil)

// DefaultHTTPClient is the client used when Options.HTTPClient is nil: TLS verified, two
// minutes to wait for an answer's headers, no overall timeout.
func DefaultHTTPClient() *http.Client { return forward.DefaultHTTPClient() }

// New checks o and returns a client. It sends nothing. The URL is checked where it is
// configured (package config): http(s), a host, no user info.
func New(o Options) (*Client, error) {
	o.URL = strings.TrimRight(o.URL, "/")
	problems := forward.BasicProblems(o.Name, o.Username, "username", o.Password, "password")
	if o.ChatID != "" && !validChatID(o.ChatID) {
		problems = append(problems, fmt.Sprintf("chat id %q: want letters and digits", o.ChatID))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("genesys %s: %s", o.Name, strings.Join(problems, "; "))
	}
	forward.RedactBasic(o.Username, o.Password)
	hc := forward.HTTPClientOr(o.HTTPClient)
	return &Client{opts: o, http: hc, pending: make(map[pendingKey]string)}, nil
}

// validChatID accepts GWS interaction ids ("0001PaBMYY3600R8"): letters, digits, "-" and
// "_", which need no escaping in a path.
func validChatID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Name returns the destination's configured name.
func (c *Client) Name() string { return c.opts.Name }

func (c *Client) chatID(f *forward.File) string {
	if f.ChatID != "" {
		return f.ChatID
	}
	return c.opts.ChatID
}

// Refuse returns a *failure.LocalError for a file that has no chat to go to (no chat id of
// its own and no default), a malformed chat id, or no name. GWS publishes no size or type
// limits, so none are applied here.
func (c *Client) Refuse(f *forward.File) error {
	chat := c.chatID(f)
	switch {
	case chat == "":
		return failure.Refuse("genesys: no chat id: the file carries none and the destination sets no chat_id")
	case !validChatID(chat):
		return failure.Refuse("genesys: chat id %q: want letters and digits", chat)
	case f.Name == "" || !utf8.ValidString(f.Name):
		return failure.Refuse("genesys: file name is empty or not UTF-8")
	case f.Size < 0:
		return failure.Refuse("genesys: negative size %d", f.Size)
	case f.Open == nil:
		return failure.Refuse("genesys: file has no content to open")
	}
	return nil
}

// PartialError is returned when the bytes were uploaded (DocumentID) but the UploadFile
// operation that shows them in the chat failed. A retry by the same Client reuses
// DocumentID without uploading again, unless Err was permanent.
type PartialError struct {
	DocumentID string
	Err        error
}

func (e *PartialError) Error() string {
	return "document " + e.DocumentID + " uploaded but not shared: " + e.Err.Error()
}
func (e *PartialError) Unwrap() error { return e.Err }

// Forward uploads f to its chat and shares it there with UploadFile, including f.Text as
// the message text if there is one. The receipt's RemoteID is the documentId.
func (c *Client) Forward(ctx context.Context, f *forward.File) (*forward.Receipt, error) {
	op := "forward " + f.Name + " to genesys " + c.opts.Name
	if err := c.Refuse(f); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	chat := c.chatID(f)
	key := pendingKey{f.ID, chat}
	c.mu.Lock()
	docID := c.pending[key]
	c.mu.Unlock()
	reused := docID != ""
	if !reused {
		var err error
		if docID, err = c.upload(ctx, chat, f); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if f.ID != "" {
			c.remember(key, docID)
		}
	}
	if err := c.share(ctx, chat, docID, f.Text); err != nil {
		if failure.Classify(err) == failure.Permanent {
			c.forget(key)
		}
		return nil, fmt.Errorf("%s: %w", op, &PartialError{DocumentID: docID, Err: err})
	}
	c.forget(key)
	detail := "shared in chat " + chat
	if reused {
		detail += " (document uploaded by an earlier attempt)"
	}
	return &forward.Receipt{RemoteID: docID, Detail: detail}, nil
}

func (c *Client) remember(k pendingKey, docID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) >= maxPending {
		for old := range c.pending { // drop an arbitrary one: it only costs a re-upload
			delete(c.pending, old)
			break
		}
	}
	c.pending[k] = docID
}

func (c *Client) forget(k pendingKey) {
	c.mu.Lock()
	delete(c.pending, k)
	c.mu.Unlock()
}

// reply is every GWS answer: statusCode 0 is success.
type reply struct {
	StatusCode    *int   `json:"statusCode"`
	StatusMessage string `json:"statusMessage"`
	DocumentID    string `json:"documentId"`
}

// upload sends the bytes in form field "attachment" and returns the documentId.
func (c *Client) upload(ctx context.Context, chat string, f *forward.File) (string, error) {
	op := "post attachment to interaction " + chat
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "attachment"})+
		`; filename="`+strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "%0D", "\n", "%0A").Replace(f.Name)+`"`)
	ct := f.MIME
	if forward.BaseMIME(ct) == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	body, err := forward.NewMultipartBody(nil, &forward.StreamedPart{Header: h, Size: f.Size, Open: f.Open})
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	target := c.opts.URL + "/api/v2/me/interactions/" + chat + "/attachments"
	r, err := c.send(ctx, op, target, remote.Body{Type: body.ContentType, Length: body.Length, Open: body.Open})
	if err != nil {
		return "", err
	}
	if r.DocumentID == "" {
		return "", fmt.Errorf("%s: answer has no documentId", op)
	}
	return r.DocumentID, nil
}

// share posts the UploadFile operation that links documentID to the chat.
func (c *Client) share(ctx context.Context, chat, documentID, text string) error {
	op := "post UploadFile to chat " + chat
	payload := map[string]string{"operationName": "UploadFile", "documentId": documentID}
	if text != "" {
		payload["text"] = text
	}
	body, err := remote.JSONBody(payload)
	if err != nil {
		return fmt.Errorf("%s: %w", op, failure.Refuse("encode: %v", err))
	}
	_, err = c.send(ctx, op, c.opts.URL+"/api/v2/me/chats/"+chat, body)
	return err
}

// send POSTs a body with Basic authentication and reads GWS's reply. A non-2xx answer is a
// *failure.HTTPError whose Code is the body's statusCode (20 makes it Auth); a 2xx answer
// with a non-zero statusCode is a *failure.HTTPError too, Auth for 20, else Permanent.
func (c *Client) send(ctx context.Context, op, target string, body remote.Body) (*reply, error) {
	req, err := remote.NewJSONRequest(ctx, http.MethodPost, target, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.SetBasicAuth(c.opts.Username, c.opts.Password)
	resp, b, err := remote.Exchange(c.http, req, op, func(resp *http.Response) error { return refusal(op, resp) })
	if err != nil {
		return nil, err
	}
	var r reply
	if err := json.Unmarshal(b, &r); err != nil || r.StatusCode == nil {
		return nil, fmt.Errorf("%s: answer is not a GWS reply with a statusCode", op)
	}
	if *r.StatusCode != 0 { // built like every other refusal: from the answer
		he := failure.NewHTTPError(op, resp)
		he.Code = strconv.Itoa(*r.StatusCode)
		cls := failure.Permanent
		if *r.StatusCode == statusAuthFailed {
			cls = failure.Auth
		}
		he.Class = &cls
		return nil, he
	}
	return &r, nil
}

// refusal is the *failure.HTTPError of a non-2xx answer, its Code the body's statusCode.
func refusal(op string, resp *http.Response) error {
	he := failure.NewHTTPError(op, resp)
	var r reply
	if json.Unmarshal([]byte(he.Body), &r) == nil && r.StatusCode != nil {
		he.Code = strconv.Itoa(*r.StatusCode)
		if *r.StatusCode == statusAuthFailed {
			cls := failure.Auth
			he.Class = &cls
		}
	}
	return he
}
