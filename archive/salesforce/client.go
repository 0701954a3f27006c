package salesforce

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/oauth"
	"github.com/archivist-project/archivist/archive/redact"
	"github.com/archivist-project/archivist/archive/remote"
)

// MaxFileSize is the largest file forwarded: Salesforce documents "25 MB" without saying
// whether that is 10^6 or 2^20 bytes. Refuse locally only what is too large either way
// (above 25 MiB): a file in between is sent, and if the limit is the decimal one Salesforce
// answers 10008, which is permanent, the same outcome as a local refusal.
const MaxFileSize int64 = 25 << 20

// AcceptedMIMETypes are the file types Salesforce accepts in an AttachmentInteraction
// (base types; parameters are ignored).
var AcceptedMIMETypes = []string{
	"image/jpeg", "image/gif", "image/bmp", "image/png", "application/pdf",
	"video/3gpp2", "audio/3gpp2", "video/3gpp", "audio/3gpp",
	"video/mpeg", "audio/mpeg", "video/mp4", "audio/mp4",
}

const (
	userAgent = "archivist"
	// maxReply bounds how much of a 202 answer is read.
	maxReply = 64 << 10
	// maxChannelAddress and maxEndUser are the OpenAPI file's maxLength of "to" and "from".
	maxChannelAddress = 240
	maxEndUser        = 255
	// genericErrorCode is sent in a MessageDeliveryFailed entry when the failure carried no
	// Salesforce error code: the "internal error" code of the error code list.
	genericErrorCode = "500"
)

// Error codes of the Interaction API that this client acts on (ERRORCODES.md).
const (
	codeScope         = "10003" // token lacks the interaction_api scope
	codeInvalidToken  = "10004" // token not valid
	codeTooLarge      = "10008"
	codeEmpty         = "10009"
	codeNoLength      = "10010"
	codeCountMismatch = "10011"
	codeReadOnly      = "10019" // org migration in progress: retry later
	codeBadLength     = "10051"
	codeTimeout       = "10094" // downstream timeout: retry
	codeMIME          = "10095"
	codeInternal      = "500"
)

var codeClasses = map[string]failure.Class{
	codeReadOnly: failure.Transient, codeTimeout: failure.Transient, codeInternal: failure.Transient,
	codeTooLarge: failure.Permanent, codeCountMismatch: failure.Permanent, codeBadLength: failure.Permanent,
	codeMIME: failure.Permanent, codeEmpty: failure.Permanent, codeNoLength: failure.Permanent,
	codeScope: failure.Auth, codeInvalidToken: failure.Auth,
}

// Options configure a Client. Every string is required unless its comment says otherwise.
type Options struct {
	Name string // the destination's configured name
	// URL is the Interaction API host, e.g. https://example.my.salesforce-scrt.com; the
	// client posts to URL+"/api/v1/interactions". A trailing slash is ignored.
	URL string
	// TokenURL is the OAuth2 token endpoint, e.g. https://login.salesforce.com/services/oauth2/token.
	TokenURL   string
	ClientID   string          // the connected app's consumer key: the assertion's iss
	Username   string          // the user the token is issued for: the assertion's sub
	PrivateKey *rsa.PrivateKey // signs the assertion (RS256); config.ParsePrivateKey reads it
	// Audience is the assertion's aud, the login host: https://login.salesforce.com, or
	// https://test.salesforce.com for a sandbox org.
	Audience string
	OrgID    string // the org id, 15 or 18 characters, sent as the OrgId header
	// AuthorizationContext is the ConversationChannelDefinition developer name,
	// {prefix}_{Name}.
	AuthorizationContext string
	// ChannelAddress is the channel address identifier, sent as "to" (at most 240 characters).
	ChannelAddress string
	// EndUser is the end user client identifier sent as "from" when a file carries none
	// (at most 255 characters). Optional, but then every file must carry one.
	EndUser string
	// DeliveryFailed makes NotifyFailure send a MessageDeliveryFailed entry; when false,
	// NotifyFailure sends nothing and returns nil.
	DeliveryFailed bool
	// HTTPClient sends every request. Nil means DefaultHTTPClient().
	HTTPClient *http.Client
}

// Client forwards files to one Salesforce channel. It is safe for concurrent use.
type Client struct {
	opts   Options
	target string       // URL + /api/v1/interactions
	http   *http.Client // sends without a token: the token request
	api    *http.Client // adds the bearer token, renews it once when refused
	tokens *oauth.Cache
	now    func() time.Time
}

var (
	_ forward.Forwarder       = (*Client)(nil)
	_ forward.FailureNotifier = (*Client)(nil)
)

// DefaultHTTPClient is the client used when Options.HTTPClient is nil: TLS verified, two
// minutes to wait for an answer's headers, no overall timeout (a 25 MB upload takes as
// long as it takes; cancel its context instead).
func DefaultHTTPClient() *http.Client { return forward.DefaultHTTPClient() }

// New checks o and returns a client. It sends nothing. The URLs are checked where they are
// configured (package config): http(s), a host, no user info.
func New(o Options) (*Client, error) {
	o.URL = strings.TrimRight(o.URL, "/")
	var problems []string
	need := func(what, v string) {
		if strings.TrimSpace(v) == "" {
			problems = append(problems, what+" is empty")
		}
	}
	need("name", o.Name)
	need("client id", o.ClientID)
	need("username", o.Username)
	need("audience", o.Audience)
	need("authorization context", o.AuthorizationContext)
	need("channel address", o.ChannelAddress)
	if o.PrivateKey == nil {
		problems = append(problems, "no private key")
	}
	if n := len(o.OrgID); n != 15 && n != 18 { // config.ValidOrgID checks the letters
		problems = append(problems, fmt.Sprintf("org id %q: want 15 or 18 letters and digits", o.OrgID))
	}
	if len(o.ChannelAddress) > maxChannelAddress {
		problems = append(problems, fmt.Sprintf("channel address: longer than %d characters", maxChannelAddress))
	}
	if len(o.EndUser) > maxEndUser {
		problems = append(problems, fmt.Sprintf("end user: longer than %d characters", maxEndUser))
	}
	for _, h := range []struct{ what, v string }{{"org id", o.OrgID}, {"authorization context", o.AuthorizationContext}} {
		if strings.ContainsFunc(h.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			problems = append(problems, h.what+" contains control characters")
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("salesforce %s: %s", o.Name, strings.Join(problems, "; "))
	}
	registerKey(o.PrivateKey)
	hc := o.HTTPClient
	if hc == nil {
		hc = DefaultHTTPClient()
	}
	c := &Client{opts: o, target: o.URL + "/api/v1/interactions", http: hc, now: time.Now}
	c.tokens = oauth.New(c.fetchToken)
	c.api = remote.Authorize(hc, &remote.Bearer{Tokens: c.tokens, Rejects: rejectsToken})
	return c, nil
}

// Name returns the destination's configured name.
func (c *Client) Name() string { return c.opts.Name }

// endUser is the "from" of f.
func (c *Client) endUser(f *forward.File) string {
	if f.EndUser != "" {
		return f.EndUser
	}
	return c.opts.EndUser
}

// Refuse returns a *failure.LocalError for a file Salesforce would never accept: empty
// (10009), larger than MaxFileSize (10008), of a type not in AcceptedMIMETypes (10095),
// or without an end user to send it as, an id that is not a UUID, or an invalid name.
func (c *Client) Refuse(f *forward.File) error {
	base := forward.BaseMIME(f.MIME)
	switch {
	case f.Size == 0:
		return failure.Refuse("salesforce: file is empty (Salesforce error 10009)")
	case f.Size < 0:
		return failure.Refuse("salesforce: negative size %d", f.Size)
	case f.Size > MaxFileSize:
		return failure.Refuse("salesforce: file of %d bytes exceeds the 25 MB limit (Salesforce error 10008)", f.Size)
	case !slices.Contains(AcceptedMIMETypes, base):
		return failure.Refuse("salesforce: MIME type %q is not one Salesforce accepts (%s)", f.MIME, strings.Join(AcceptedMIMETypes, ", "))
	case !forward.IsUUID(f.ID):
		return failure.Refuse("salesforce: file id %q is not a UUID", f.ID)
	case f.Name == "" || !utf8.ValidString(f.Name):
		return failure.Refuse("salesforce: file name is empty or not UTF-8")
	case f.Open == nil:
		return failure.Refuse("salesforce: file has no content to open")
	}
	switch eu := c.endUser(f); {
	case eu == "":
		return failure.Refuse("salesforce: no end user: the file carries none and the destination sets no end_user")
	case len(eu) > maxEndUser:
		return failure.Refuse("salesforce: end user is longer than %d characters", maxEndUser)
	}
	return nil
}

// millis is t in epoch milliseconds; a zero time means now.
func (c *Client) millis(t time.Time) int64 {
	if t.IsZero() {
		t = c.now()
	}
	return t.UnixMilli()
}

// Forward sends f as one AttachmentInteraction. The interaction id is f.ID and the
// RequestId is derived from it, so sending the same file again repeats both.
func (c *Client) Forward(ctx context.Context, f *forward.File) (*forward.Receipt, error) {
	op := "forward " + f.Name + " to salesforce " + c.opts.Name
	if err := c.Refuse(f); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	doc, err := json.Marshal(interactionRequest{
		To:   c.opts.ChannelAddress,
		From: c.endUser(f),
		Interactions: []any{attachmentInteraction{
			InteractionType: typeAttachment,
			Timestamp:       c.millis(f.Time),
			ID:              f.ID,
			AttachmentIndex: 0,
			ContentLength:   f.Size,
			Text:            f.Text,
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, failure.Refuse("encode: %v", err))
	}
	fileHeader := textproto.MIMEHeader{}
	fileHeader.Set("Content-Disposition", formDisposition("attachments", f.Name))
	fileHeader.Set("Content-Type", f.MIME)
	body, err := forward.NewMultipartBody(
		[]forward.Part{jsonPart(doc)},
		&forward.StreamedPart{Header: fileHeader, Size: f.Size, Open: f.Open},
	)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	reply, err := c.post(ctx, "post interaction "+f.ID, forward.DerivedID(f.ID, "salesforce-request"), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	r := &forward.Receipt{RemoteID: reply.ID, Detail: "conversation " + reply.ConversationIdentifier}
	if r.RemoteID == "" {
		r.RemoteID = f.ID
	}
	if len(reply.WorkItemIDs) > 0 {
		r.Detail += ", work items " + strings.Join(reply.WorkItemIDs, " ")
	}
	return r, nil
}

// NotifyFailure tells Salesforce that f, forwarded earlier as interaction f.ID, failed for
// good: a MessageDeliveryFailed entry (a request with only the "json" part) whose errorCode
// is the Salesforce code of cause, or "500" when cause carried none. Its entry id and
// RequestId are derived from f.ID, so a repeated notification repeats them. It sends
// nothing and returns nil unless Options.DeliveryFailed is set.
func (c *Client) NotifyFailure(ctx context.Context, f *forward.File, cause error) error {
	if !c.opts.DeliveryFailed {
		return nil
	}
	op := "notify salesforce " + c.opts.Name + " that " + f.Name + " failed"
	eu := c.endUser(f)
	if eu == "" || !forward.IsUUID(f.ID) {
		return fmt.Errorf("%s: %w", op, failure.Refuse("no end user or no interaction id to name"))
	}
	code, msg := genericErrorCode, ""
	var he *failure.HTTPError
	if errors.As(cause, &he) && he.Code != "" {
		code = he.Code
		msg = parseAPIError([]byte(he.Body)).Message
	}
	if msg == "" && cause != nil {
		msg = cause.Error()
	}
	if len(msg) > 255 {
		msg = strings.ToValidUTF8(msg[:255], "")
	}
	entryID := forward.DerivedID(f.ID, "salesforce-delivery-failed")
	doc, err := json.Marshal(interactionRequest{
		To:   c.opts.ChannelAddress,
		From: eu,
		Interactions: []any{entryInteraction{
			InteractionType: typeEntry,
			Timestamp:       c.now().UnixMilli(),
			Payload: messageDeliveryFailed{
				ID:                                entryID,
				EntryType:                         "MessageDeliveryFailed",
				FailedConversationEntryIdentifier: f.ID,
				Recipient:                         participant{AppType: "custom", Subject: eu, Role: "EndUser"},
				ErrorCode:                         code,
				ErrorMessage:                      msg,
			},
		}},
	})
	if err != nil {
		return fmt.Errorf("%s: %w", op, failure.Refuse("encode: %v", err))
	}
	body, err := forward.NewMultipartBody([]forward.Part{jsonPart(doc)}, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if _, err := c.post(ctx, "post delivery failure "+entryID, forward.DerivedID(f.ID, "salesforce-delivery-failed-request"), body); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

func jsonPart(doc []byte) forward.Part {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="json"`)
	h.Set("Content-Type", "application/json")
	return forward.Part{Header: h, Data: doc}
}

// formDisposition is the Content-Disposition of a file part. The file name is sent as
// UTF-8 with quotes and backslashes escaped, as browsers do (RFC 7578 section 4.2).
func formDisposition(field, filename string) string {
	return mime.FormatMediaType("form-data", map[string]string{"name": field}) +
		`; filename="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "%0D", "\n", "%0A").Replace(filename) + `"`
}

// post sends body to /api/v1/interactions with a bearer token. The transport renews a
// token refused with a 401 or error code 10003/10004 once and sends again; a second
// rejection is returned. Non-2xx answers are *failure.HTTPError with Code and Class set from
// the body's error code.
func (c *Client) post(ctx context.Context, op, requestID string, body *forward.MultipartBody) (*interactionReply, error) {
	rc, err := body.Open()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.target, rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	req.ContentLength = body.Length
	req.GetBody = body.Open
	req.Header.Set("Content-Type", body.ContentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OrgId", c.opts.OrgID)
	req.Header.Set("AuthorizationContext", c.opts.AuthorizationContext)
	req.Header.Set("RequestId", requestID)
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.api.Do(req)
	if err != nil {
		return nil, err
	}
	defer remote.DrainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		he := failure.NewHTTPError(op, resp)
		classify(he)
		return nil, he
	}
	reply, err := readReply(resp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if reply.failed() {
		cls := failure.Permanent
		return nil, &failure.HTTPError{Op: op, StatusCode: resp.StatusCode, Status: resp.Status,
			Body: "success: false", Class: &cls}
	}
	return reply, nil
}

// rejectsToken says whether a refusal's error code rejects the token (10003, 10004).
func rejectsToken(_ int, body []byte) bool {
	code := parseAPIError(body).code
	return code == codeInvalidToken || code == codeScope
}

func readReply(resp *http.Response) (*interactionReply, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		// Sent and answered 2xx, but the answer was lost: report a transport error so the
		// caller does not record an acceptance it cannot prove.
		return nil, fmt.Errorf("read answer: %w", err)
	}
	var reply interactionReply
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &reply); err != nil {
			return nil, fmt.Errorf("answer is not the expected JSON object: %w", err)
		}
	}
	return &reply, nil
}

// classify sets he.Code from the error body and he.Class from the documented meaning of
// the code. Codes not listed keep the status-based class.
func classify(he *failure.HTTPError) {
	e := parseAPIError([]byte(he.Body))
	if e.code == "" {
		return
	}
	he.Code = e.code
	if cls, ok := codeClasses[e.code]; ok {
		he.Class = &cls
	}
}

type parsedError struct {
	code    string
	Message string
}

func parseAPIError(b []byte) parsedError {
	var e apiError
	if json.Unmarshal(b, &e) != nil {
		return parsedError{}
	}
	out := parsedError{Message: e.Message}
	switch v := e.Code.(type) {
	case float64:
		out.code = strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		out.code = strings.TrimSpace(v)
	}
	return out
}

// registerKey registers the key's material with package redact in the encodings a key file
// holds (PKCS#1 and PKCS#8, as DER and as PEM text, whole and by line), so that no echo of
// it reaches an error, the journal or a log line. The key is parsed by config, which imports
// no client and no redactor, so the client registers it.
func registerKey(k *rsa.PrivateKey) {
	if k == nil {
		return
	}
	der := [][]byte{x509.MarshalPKCS1PrivateKey(k)}
	if b, err := x509.MarshalPKCS8PrivateKey(k); err == nil {
		der = append(der, b)
	}
	redact.PrivateKey(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der[0]}), der...)
	if len(der) > 1 {
		redact.PrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der[1]}))
	}
}
