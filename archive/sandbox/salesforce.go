package sandbox

// Salesforce's Bring Your Own Channel Interaction API, as its OpenAPI file and error code
// list describe it (and stricter where they are silent): POST /services/oauth2/token (JWT
// bearer flow) and POST /api/v1/interactions (multipart: one "json" part, at most one
// "attachments" part). Refusals use the API's own error body {"code": n, "message": "..."}
// with the documented codes; the HTTP status of each code is not published, so it is 401
// for 10004, 403 for 10003 and 400 otherwise.
//
// This file also holds recordLog, the on-disk record keeping shared by the forwarding
// emulators (salesforce.go, genesys.go, talkdesk.go): Dir/<api>/records/NNNNNN.json and the
// received bytes under Dir/<api>/files/.

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/config"
)

const (
	sfTokenPath        = "/services/oauth2/token"
	sfInteractionsPath = "/api/v1/interactions"
	sfAdminPath        = "/sandbox/salesforce/interactions"

	// sfMaxFile is the "25 MB" limit read as 25 MiB, as the client reads it.
	sfMaxFile = 25 << 20
	// sfMaxJSONPart bounds the "json" part.
	sfMaxJSONPart = 1 << 20
	// sfTokenTTL is how long an issued access token stays valid.
	sfTokenTTL = 2 * time.Hour
	// sfMaxAssertionLife is the latest exp accepted: Salesforce wants a short-lived
	// assertion (3 minutes), plus clock skew.
	sfMaxAssertionLife = 5 * time.Minute
)

// sfMIMETypes are the attachment types Salesforce accepts.
var sfMIMETypes = []string{
	"image/jpeg", "image/gif", "image/bmp", "image/png", "application/pdf",
	"video/3gpp2", "audio/3gpp2", "video/3gpp", "audio/3gpp",
	"video/mpeg", "audio/mpeg", "video/mp4", "audio/mp4",
}

// SFInteraction is one accepted POST /api/v1/interactions request.
type SFInteraction struct {
	Seq                  int       `json:"seq"` // 1, 2, ... in arrival order
	Received             time.Time `json:"received"`
	RequestID            string    `json:"requestId"`
	OrgID                string    `json:"orgId"`
	AuthorizationContext string    `json:"authorizationContext"`
	To                   string    `json:"to"`
	From                 string    `json:"from"`
	InteractionType      string    `json:"interactionType"` // AttachmentInteraction or EntryInteraction
	EntryType            string    `json:"entryType,omitempty"`
	// ID is the interaction id of an AttachmentInteraction, the payload id of an entry.
	ID string `json:"id"`
	// FailedID and ErrorCode are set for a MessageDeliveryFailed entry.
	FailedID  string `json:"failedConversationEntryIdentifier,omitempty"`
	ErrorCode string `json:"errorCode,omitempty"`
	// The attachment, if any. Path is where its bytes are on disk.
	FileName    string          `json:"fileName,omitempty"`
	ContentType string          `json:"contentType,omitempty"`
	Size        int64           `json:"size"`
	SHA256      string          `json:"sha256,omitempty"`
	Path        string          `json:"path,omitempty"`
	JSON        json.RawMessage `json:"json"` // the "json" part as received
}

// sfEmulator is the Salesforce state: issued tokens, queued errors and the records.
type sfEmulator struct {
	recs *recordLog[SFInteraction]

	mu     sync.Mutex
	tokens map[string]time.Time
	queued []int // error codes to answer the next interactions requests with
}

func (e *sfEmulator) revokeTokens() {
	e.mu.Lock()
	clear(e.tokens)
	e.mu.Unlock()
}

// openForwardEmulators opens the record logs of the forwarding emulators under Options.Dir.
func (s *Server) openForwardEmulators() error {
	sf, err := openRecordLog[SFInteraction](filepath.Join(s.opts.Dir, "salesforce"))
	if err != nil {
		return err
	}
	gn, err := openRecordLog[GenesysUpload](filepath.Join(s.opts.Dir, "genesys"))
	if err != nil {
		return err
	}
	td, err := openRecordLog[TalkdeskAttachment](filepath.Join(s.opts.Dir, "talkdesk"))
	if err != nil {
		return err
	}
	s.sf = &sfEmulator{recs: sf, tokens: make(map[string]time.Time)}
	s.gn = &gnEmulator{recs: gn}
	s.td = &tdEmulator{recs: td, dir: filepath.Join(s.opts.Dir, "talkdesk"),
		tokens: make(map[string]tdToken), links: make(map[string]*tdLink)}
	return nil
}

func (s *Server) salesforceRoutes() []route {
	return []route{
		{method: http.MethodPost, path: sfTokenPath, faults: tokenFaults, handler: s.sfToken},
		{method: http.MethodPost, path: sfInteractionsPath, faults: apiFaults, handler: s.sfInteractions},
		{method: http.MethodGet, path: sfAdminPath, handler: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, s.SalesforceInteractions())
		}},
	}
}

// SalesforceInteractions returns the accepted interaction requests in arrival order.
func (s *Server) SalesforceInteractions() []SFInteraction { return s.sf.recs.all() }

// QueueSalesforceErrors makes the next len(codes) interaction requests that pass the token
// check fail with these error codes, in order, whatever they carry: a hook for tests of
// how a client maps codes. 500 is answered with HTTP 500, 10019 and 10094 with 503.
func (s *Server) QueueSalesforceErrors(codes ...int) {
	s.sf.mu.Lock()
	s.sf.queued = append(s.sf.queued, codes...)
	s.sf.mu.Unlock()
}

// ParseRSAPublicKeyPEM reads the first PEM block of b as an RSA public key: a certificate
// (what a Salesforce connected app is given), PKIX "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY".
func ParseRSAPublicKeyPEM(b []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q: want CERTIFICATE, PUBLIC KEY or RSA PUBLIC KEY", block.Type)
	}
	if err != nil {
		return nil, err
	}
	rk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%T is not an RSA public key", key)
	}
	return rk, nil
}

// --- token ---

func (s *Server) sfToken(w http.ResponseWriter, r *http.Request) {
	log := s.log.WithFields(logrus.Fields{"method": r.Method, "path": sfTokenPath})
	reject := func(status int, code, msg string) {
		s.count(func(st *Stats) { st.SalesforceRejected++ })
		log.WithField("status", status).Warn("sandbox: salesforce token refused: " + msg)
		writeJSON(w, status, map[string]string{"error": code, "error_description": msg})
	}
	form, code, msg := readGrant(r, "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion")
	if msg != "" {
		reject(http.StatusBadRequest, code, msg)
		return
	}
	a := form["assertion"]
	if len(a) != 1 {
		reject(http.StatusBadRequest, "invalid_request", "assertion: want exactly one")
		return
	}
	if err := s.sfCheckAssertion(a[0], time.Now()); err != nil {
		reject(http.StatusBadRequest, "invalid_grant", "assertion: "+err.Error())
		return
	}
	tok := "00D!" + randomHex(32)
	now := time.Now()
	s.sf.mu.Lock()
	for t, exp := range s.sf.tokens {
		if !now.Before(exp) {
			delete(s.sf.tokens, t)
		}
	}
	s.sf.tokens[tok] = now.Add(sfTokenTTL)
	s.sf.mu.Unlock()
	s.count(func(st *Stats) { st.SalesforceTokens++ })
	log.Debug("sandbox: salesforce token issued")
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": tok,
		"scope":        "interaction_api",
		"instance_url": "http://" + r.Host,
		"id":           "http://" + r.Host + "/id/00D000000000000AAA/005000000000000AAA",
		"token_type":   "Bearer",
		"issued_at":    strconv.FormatInt(now.UnixMilli(), 10),
	})
}

// sfCheckAssertion checks a compact RS256 JWT: its signature (with the configured key, or
// only its form without one) and its iss, sub, aud and exp claims.
func (s *Server) sfCheckAssertion(jwt string, now time.Time) error {
	claims, err := s.sfVerifyJWT(jwt)
	if err != nil {
		return err
	}
	return s.sfCheckClaims(claims, now)
}

// sfClaims are the claims of an assertion the sandbox checks.
type sfClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp json.RawMessage `json:"exp"`
}

// sfVerifyJWT decodes a compact JWT, wants RS256, and verifies its signature with the
// configured key (without one, only that there is a signature).
func (s *Server) sfVerifyJWT(jwt string) (*sfClaims, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%d dot-separated parts, want 3 (header.claims.signature)", len(parts))
	}
	dec := func(what, p string, v any) error {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return fmt.Errorf("%s: not unpadded base64url", what)
		}
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("%s: not a JSON object", what)
		}
		return nil
	}
	var header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := dec("header", parts[0], &header); err != nil {
		return nil, err
	}
	if header.Alg != "RS256" {
		return nil, fmt.Errorf("header.alg: %q, want RS256", header.Alg)
	}
	var claims sfClaims
	if err := dec("claims", parts[1], &claims); err != nil {
		return nil, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) == 0 {
		return nil, errors.New("signature: empty or not unpadded base64url")
	}
	if k := s.opts.SalesforcePublicKey; k != nil {
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) != nil {
			return nil, errors.New("signature: does not verify with the connected app's certificate")
		}
	}
	return &claims, nil
}

// sfCheckClaims wants iss, sub and aud (a string or a list of one) as configured, and an
// exp ahead of now by at most sfMaxAssertionLife.
func (s *Server) sfCheckClaims(claims *sfClaims, now time.Time) error {
	var aud string
	if json.Unmarshal(claims.Aud, &aud) != nil {
		var auds []string
		if json.Unmarshal(claims.Aud, &auds) != nil || len(auds) != 1 {
			return errors.New("aud: want a string")
		}
		aud = auds[0]
	}
	for _, c := range []struct{ name, got, want string }{
		{"iss", claims.Iss, s.opts.SalesforceClientID},
		{"sub", claims.Sub, s.opts.SalesforceUsername},
		{"aud", aud, s.opts.SalesforceAudience},
	} {
		switch {
		case c.got == "":
			return fmt.Errorf("%s: missing or empty", c.name)
		case c.want != "" && c.got != c.want:
			return fmt.Errorf("%s: %q is not %q", c.name, c.got, c.want)
		}
	}
	exp, err := strconv.ParseInt(strings.TrimSpace(string(claims.Exp)), 10, 64)
	switch {
	case err != nil:
		return errors.New("exp: missing or not an integer of epoch seconds")
	case exp <= now.Unix():
		return fmt.Errorf("exp: %d has passed", exp)
	case exp > now.Add(sfMaxAssertionLife).Unix():
		return fmt.Errorf("exp: %d is more than %v ahead; keep assertions short-lived (3 minutes)", exp, sfMaxAssertionLife)
	}
	return nil
}

// --- interactions ---

// sfError is a refusal with an Interaction API error code.
type sfError struct {
	status int
	code   int
	msg    string
}

func sfErr(code int, format string, args ...any) *sfError {
	status := http.StatusBadRequest
	switch code {
	case 10004:
		status = http.StatusUnauthorized
	case 10003:
		status = http.StatusForbidden
	case 500:
		status = http.StatusInternalServerError
	case 10019, 10094:
		status = http.StatusServiceUnavailable
	}
	return &sfError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// The sandbox's own reading of the "json" part.
type sfRequest struct {
	To                string            `json:"to"`
	From              string            `json:"from"`
	RoutingAttributes map[string]string `json:"routingAttributes"`
	Interactions      []json.RawMessage `json:"interactions"`
}

type sfAttachmentInteraction struct {
	InteractionType string          `json:"interactionType"`
	Timestamp       json.RawMessage `json:"timestamp"`
	ID              string          `json:"id"`
	AttachmentIndex *int            `json:"attachmentIndex"`
	ContentLength   *int64          `json:"contentLength"`
	Text            *string         `json:"text"`
}

type sfEntryInteraction struct {
	InteractionType string          `json:"interactionType"`
	Timestamp       json.RawMessage `json:"timestamp"`
	Payload         json.RawMessage `json:"payload"`
}

type sfDeliveryFailed struct {
	ID                                string         `json:"id"`
	EntryType                         string         `json:"entryType"`
	FailedConversationEntryIdentifier string         `json:"failedConversationEntryIdentifier"`
	Recipient                         *sfParticipant `json:"recipient"`
	ErrorCode                         string         `json:"errorCode"`
	ErrorMessage                      string         `json:"errorMessage"`
}

type sfParticipant struct {
	AppType string `json:"appType"`
	Subject string `json:"subject"`
	Role    string `json:"role"`
}

// receivedFile is an uploaded file as received: in a temporary file until it is kept.
type receivedFile struct {
	name, contentType, tmp, sha string
	size                        int64
}

func (s *Server) sfInteractions(w http.ResponseWriter, r *http.Request) {
	log := s.log.WithFields(logrus.Fields{"method": r.Method, "path": sfInteractionsPath})
	rec, up, err := s.sfReceive(r)
	if up != nil && up.tmp != "" {
		defer os.Remove(up.tmp)
	}
	if err != nil {
		s.count(func(st *Stats) {
			st.SalesforceRejected++
			if err.status == http.StatusUnauthorized {
				st.Unauthorized++
			}
		})
		log.WithFields(logrus.Fields{"status": err.status, "code": err.code}).Warn("sandbox: salesforce interaction refused: " + err.msg)
		writeJSON(w, err.status, map[string]any{"code": err.code, "message": err.msg})
		return
	}
	stored, serr := s.sf.recs.add(func(seq int) (SFInteraction, error) {
		rec.Seq = seq
		if up != nil {
			rel, err := s.sf.recs.keepFile(up.tmp, fmt.Sprintf("%06d-%s", seq, safeName(up.name)))
			if err != nil {
				return rec, err
			}
			rec.Path = rel
		}
		return rec, nil
	})
	if serr != nil {
		log.WithError(serr).Error("sandbox: store salesforce interaction")
		writeJSON(w, http.StatusInternalServerError, map[string]any{"code": 500, "message": "sandbox: cannot store the interaction"})
		return
	}
	s.count(func(st *Stats) {
		if stored.EntryType != "" {
			st.SalesforceDeliveryFailures++
		} else {
			st.SalesforceInteractions++
		}
	})
	log.WithFields(logrus.Fields{"seq": stored.Seq, "id": stored.ID, "type": stored.InteractionType, "size": stored.Size}).Info("sandbox: salesforce interaction stored")
	writeJSON(w, http.StatusAccepted, map[string]any{
		"conversationIdentifier": stableUUID("conversation", stored.To, stored.From),
		"id":                     stored.ID,
		"workItemIds":            []string{},
		"success":                true,
	})
}

// sfReceive checks the headers, reads the multipart body (the attachment into a
// temporary file) and validates it. The returned upload's temporary file, if any, is the
// caller's to remove.
func (s *Server) sfReceive(r *http.Request) (SFInteraction, *receivedFile, *sfError) {
	var rec SFInteraction
	if why := s.sfBearer(r); why != "" {
		return rec, nil, sfErr(10004, "The supplied Authorization access token is not valid: %s", why)
	}
	s.sf.mu.Lock()
	var queued int
	if len(s.sf.queued) > 0 {
		queued, s.sf.queued = s.sf.queued[0], s.sf.queued[1:]
	}
	s.sf.mu.Unlock()
	if queued != 0 {
		return rec, nil, sfErr(queued, "sandbox: error %d queued by the test", queued)
	}
	boundary, e := sfCheckHeaders(r, &rec)
	if e != nil {
		return rec, nil, e
	}
	doc, up, e := s.sfReadParts(multipart.NewReader(r.Body, boundary))
	if e != nil {
		return rec, up, e
	}
	rec.JSON = json.RawMessage(doc)
	if e := s.sfValidate(&rec, doc, up, time.Now()); e != nil {
		return rec, up, e
	}
	return rec, up, nil
}

// sfCheckHeaders checks the OrgId, AuthorizationContext, RequestId, Accept and Content-Type
// headers, fills rec with the first three and returns the multipart boundary.
func sfCheckHeaders(r *http.Request, rec *SFInteraction) (boundary string, e *sfError) {
	rec.OrgID = r.Header.Get("OrgId")
	rec.AuthorizationContext = r.Header.Get("AuthorizationContext")
	rec.RequestID = r.Header.Get("RequestId")
	prefix, name, _ := strings.Cut(rec.AuthorizationContext, "_")
	switch {
	case !config.ValidOrgID(rec.OrgID):
		return "", sfErr(10016, "Enter a valid header: OrgId %q, want a 15- or 18-character org id", rec.OrgID)
	case prefix == "" || name == "":
		return "", sfErr(10016, "Enter a valid header: AuthorizationContext %q, want {prefix}_{ConversationChannelDefinitionName}", rec.AuthorizationContext)
	case !isUUID(rec.RequestID):
		return "", sfErr(10016, "Enter a valid header: RequestId %q, want a GUID", rec.RequestID)
	}
	if acc := r.Header.Get("Accept"); acc != "" && !strings.Contains(acc, "application/json") && !strings.Contains(acc, "*/*") {
		return "", sfErr(10016, "Enter a valid header: Accept %q does not accept application/json", acc)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", sfErr(10016, "Enter a valid header: Content-Type %q, want multipart/form-data with a boundary", r.Header.Get("Content-Type"))
	}
	return params["boundary"], nil
}

// sfReadParts reads the "json" part and at most one "attachments" part (into a temporary
// file). The upload is returned, for its removal, even with an error.
func (s *Server) sfReadParts(mr *multipart.Reader) (doc []byte, up *receivedFile, e *sfError) {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, up, sfErr(10089, "Invalid parameters passed to API: multipart body: %v", err)
		}
		switch p.FormName() {
		case "json":
			if doc != nil {
				return nil, up, sfErr(10089, "Invalid parameters passed to API: a second \"json\" part")
			}
			if doc, e = sfReadJSONPart(p); e != nil {
				return nil, up, e
			}
		case "attachments":
			if up != nil {
				return nil, up, sfErr(10011, "The number of interactions of type AttachmentInteraction does not match the number of attachment files: more than one \"attachments\" part")
			}
			if p.FileName() == "" {
				return nil, up, sfErr(10007, "The file ID field is empty: part \"attachments\" has no filename")
			}
			up = &receivedFile{name: p.FileName(), contentType: p.Header.Get("Content-Type")}
			if e := s.sfReceiveFile(p, up); e != nil {
				return nil, up, e
			}
		default:
			return nil, up, sfErr(10089, "Invalid parameters passed to API: unexpected part %q; want \"json\" and at most one \"attachments\"", p.FormName())
		}
	}
	if doc == nil {
		return nil, up, sfErr(10100, "A request body is required: no \"json\" part")
	}
	return doc, up, nil
}

// sfReadJSONPart reads the "json" part: application/json, at most 1 MiB.
func sfReadJSONPart(p *multipart.Part) ([]byte, *sfError) {
	if ct, _, err := mime.ParseMediaType(p.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		return nil, sfErr(10089, "Invalid parameters passed to API: part \"json\": Content-Type %q, want application/json", p.Header.Get("Content-Type"))
	}
	b, err := io.ReadAll(io.LimitReader(p, sfMaxJSONPart+1))
	if err != nil || len(b) > sfMaxJSONPart {
		return nil, sfErr(10089, "Invalid parameters passed to API: part \"json\": unreadable or larger than 1 MiB")
	}
	return b, nil
}

// sfReceiveFile receives the "attachments" part into up's temporary file, at most 25 MB.
func (s *Server) sfReceiveFile(p *multipart.Part, up *receivedFile) *sfError {
	err := s.sf.recs.receive(p, sfMaxFile, up)
	switch {
	case errors.Is(err, errTooLarge):
		return sfErr(10008, "The file size exceeds the maximum limit of 25 MB")
	case err != nil:
		return sfErr(10089, "Invalid parameters passed to API: part \"attachments\": %v", err)
	}
	return nil
}

// sfValidate checks the "json" part against the upload and fills rec.
func (s *Server) sfValidate(rec *SFInteraction, doc []byte, up *receivedFile, now time.Time) *sfError {
	var req sfRequest
	if err := strictDecode(doc, &req, "json"); err != nil {
		return sfErr(10089, "Invalid parameters passed to API: %v", err)
	}
	switch {
	case req.To == "" || len(req.To) > 240:
		return sfErr(10027, "The provided \"to\" field isn't valid: want 1 to 240 characters")
	case req.From == "" || len(req.From) > 255:
		return sfErr(10028, "The provided \"from\" field isn't valid: want 1 to 255 characters")
	case len(req.Interactions) == 0:
		return sfErr(20003, "Empty interaction list in request")
	case len(req.Interactions) > 1:
		return sfErr(10029, "The provided interaction list isn't valid: %d interactions, want exactly one", len(req.Interactions))
	}
	rec.To, rec.From = req.To, req.From
	raw := req.Interactions[0]
	var kind struct {
		InteractionType string `json:"interactionType"`
	}
	_ = json.Unmarshal(raw, &kind) // a malformed interaction is refused below, with its path
	rec.InteractionType = kind.InteractionType
	switch kind.InteractionType {
	case "AttachmentInteraction":
		return sfValidateAttachment(rec, raw, up, now)
	case "EntryInteraction":
		return sfValidateEntry(rec, raw, up, now)
	}
	return sfErr(10089, "Invalid parameters passed to API: json.interactions[0].interactionType %q, want AttachmentInteraction or EntryInteraction", kind.InteractionType)
}

// sfDecodeInteraction decodes the interaction raw strictly into v and checks its timestamp,
// *ts (a field of v).
func sfDecodeInteraction(raw json.RawMessage, v any, ts *json.RawMessage, now time.Time) *sfError {
	if err := strictDecode(raw, v, "json.interactions[0]"); err != nil {
		return sfErr(10089, "Invalid parameters passed to API: %v", err)
	}
	if err := checkEpochMillis(*ts, fixedPath("json.interactions[0].timestamp"), now); err != nil {
		return sfErr(10089, "Invalid parameters passed to API: %v", err)
	}
	return nil
}

// sfValidateAttachment checks an AttachmentInteraction against the upload and fills rec.
func sfValidateAttachment(rec *SFInteraction, raw json.RawMessage, up *receivedFile, now time.Time) *sfError {
	var ai sfAttachmentInteraction
	if e := sfDecodeInteraction(raw, &ai, &ai.Timestamp, now); e != nil {
		return e
	}
	switch {
	case ai.ID == "":
		return sfErr(10059, "Interaction ID or Message ID is empty")
	case !isUUID(ai.ID):
		return sfErr(10089, "Invalid parameters passed to API: json.interactions[0].id %q is not a UUID", ai.ID)
	case ai.AttachmentIndex == nil || *ai.AttachmentIndex != 0:
		return sfErr(10089, "Invalid parameters passed to API: json.interactions[0].attachmentIndex: missing or not 0")
	case ai.ContentLength == nil:
		return sfErr(10010, "The interaction contentLength field is empty")
	case up == nil:
		return sfErr(10011, "The number of interactions of type AttachmentInteraction does not match the number of attachment files: no \"attachments\" part")
	case up.size == 0:
		return sfErr(10009, "The file is empty or doesn't exist")
	case *ai.ContentLength != up.size:
		return sfErr(10051, "The file size (in bytes) of uploaded attachment is incorrect: contentLength %d, file %d bytes", *ai.ContentLength, up.size)
	}
	mt, _, err := mime.ParseMediaType(up.contentType)
	if err != nil || !slices.Contains(sfMIMETypes, mt) {
		return sfErr(10095, "The MIME type of the uploaded file cannot be determined: %q is not one of %s", up.contentType, strings.Join(sfMIMETypes, ", "))
	}
	rec.ID = ai.ID
	rec.FileName, rec.ContentType, rec.Size, rec.SHA256 = up.name, up.contentType, up.size, up.sha
	return nil
}

// sfValidateEntry checks an EntryInteraction (the sandbox accepts MessageDeliveryFailed
// entries only, carrying no file) and fills rec.
func sfValidateEntry(rec *SFInteraction, raw json.RawMessage, up *receivedFile, now time.Time) *sfError {
	var ei sfEntryInteraction
	if e := sfDecodeInteraction(raw, &ei, &ei.Timestamp, now); e != nil {
		return e
	}
	if up != nil {
		return sfErr(10011, "The number of interactions of type AttachmentInteraction does not match the number of attachment files: an EntryInteraction carries no file")
	}
	if isNull(ei.Payload) {
		return sfErr(10089, "Invalid parameters passed to API: json.interactions[0].payload: missing")
	}
	var p sfDeliveryFailed
	if err := strictDecode(ei.Payload, &p, "json.interactions[0].payload"); err != nil {
		return sfErr(10089, "Invalid parameters passed to API: %v (the sandbox accepts only MessageDeliveryFailed entries)", err)
	}
	switch {
	case p.EntryType != "MessageDeliveryFailed":
		return sfErr(10089, "Invalid parameters passed to API: payload.entryType %q: the sandbox accepts only MessageDeliveryFailed", p.EntryType)
	case !isUUID(p.ID):
		return sfErr(10059, "Interaction ID or Message ID is empty or not a UUID: payload.id %q", p.ID)
	case p.FailedConversationEntryIdentifier == "":
		return sfErr(10089, "Invalid parameters passed to API: payload.failedConversationEntryIdentifier: missing")
	case p.Recipient == nil:
		return sfErr(10089, "Invalid parameters passed to API: payload.recipient: missing")
	case p.Recipient.AppType != "custom":
		return sfErr(10037, "The AppType provided is not supported: %q, want custom", p.Recipient.AppType)
	case p.Recipient.Role != "EndUser":
		return sfErr(10038, "The Participant Role provided is not supported: %q, want EndUser", p.Recipient.Role)
	case p.Recipient.Subject != rec.From:
		return sfErr(10054, "Invalid subject of participant: %q is not the request's from %q", p.Recipient.Subject, rec.From)
	case p.ErrorCode == "":
		return sfErr(10089, "Invalid parameters passed to API: payload.errorCode: missing or empty")
	}
	rec.EntryType, rec.ID, rec.FailedID, rec.ErrorCode = p.EntryType, p.ID, p.FailedConversationEntryIdentifier, p.ErrorCode
	return nil
}

func (s *Server) sfBearer(r *http.Request) string {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return `Authorization: want "Bearer <token>"`
	}
	s.sf.mu.Lock()
	exp, ok := s.sf.tokens[tok]
	s.sf.mu.Unlock()
	switch {
	case !ok:
		return "unknown token"
	case !time.Now().Before(exp):
		return "token expired"
	}
	return ""
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// stableUUID derives a UUID from parts, so the same end user gets the same conversation.
func stableUUID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// safeName reduces a client's file name to [A-Za-z0-9._-] for a file on disk.
func safeName(name string) string {
	var b strings.Builder
	for _, c := range name {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if len(out) > 100 {
		out = out[:100]
	}
	if out == "" {
		out = "file"
	}
	return out
}

// --- records shared by the forwarding emulators ---

// errTooLarge means a received body exceeded its limit.
var errTooLarge = errors.New("larger than the limit")

// recordLog keeps one API's accepted requests: each a JSON file records/NNNNNN.json under
// dir, the bytes they carried under files/, uploads in progress under tmp/ (emptied when
// opened). Records are reloaded when a Server opens the same Dir again.
type recordLog[T any] struct {
	dir string

	mu    sync.Mutex
	items []T
}

func openRecordLog[T any](dir string) (*recordLog[T], error) {
	for _, d := range []string{"records", "files", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	tmps, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		return nil, err
	}
	for _, e := range tmps {
		_ = os.RemoveAll(filepath.Join(dir, "tmp", e.Name()))
	}
	l := &recordLog[T]{dir: dir}
	entries, err := os.ReadDir(filepath.Join(dir, "records"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries { // ReadDir sorts by name: NNNNNN.json in order
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, "records", e.Name()))
		if err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		l.items = append(l.items, v)
	}
	return l, nil
}

// receive streams at most limit bytes of r into a temporary file and fills up's size,
// sha and tmp. More than limit bytes is errTooLarge.
func (l *recordLog[T]) receive(r io.Reader, limit int64, up *receivedFile) error {
	name, n, sha, err := receiveTemp(filepath.Join(l.dir, "tmp"), r, limit+1)
	if err != nil {
		return err
	}
	up.tmp = name
	if n > limit {
		return errTooLarge
	}
	up.size, up.sha = n, sha
	return nil
}

// keepFile moves a received temporary file to files/name and returns its path.
func (l *recordLog[T]) keepFile(tmp, name string) (string, error) {
	dst := filepath.Join(l.dir, "files", name)
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// add stores the record build makes for the next sequence number (1, 2, ...).
func (l *recordLog[T]) add(build func(seq int) (T, error)) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := len(l.items) + 1
	v, err := build(seq)
	if err != nil {
		return v, err
	}
	if err := l.write(seq, v); err != nil {
		return v, err
	}
	l.items = append(l.items, v)
	return v, nil
}

// update replaces record seq (1-based) with what change makes of it.
func (l *recordLog[T]) update(seq int, change func(*T) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq < 1 || seq > len(l.items) {
		return fs.ErrNotExist
	}
	v := l.items[seq-1]
	if err := change(&v); err != nil {
		return err
	}
	if err := l.write(seq, v); err != nil {
		return err
	}
	l.items[seq-1] = v
	return nil
}

func (l *recordLog[T]) write(seq int, v T) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(l.dir, "tmp"), filepath.Join(l.dir, "records", fmt.Sprintf("%06d.json", seq)), b)
}

// all returns a copy of the records in order.
func (l *recordLog[T]) all() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// find returns the first record for which match is true and its sequence number.
func (l *recordLog[T]) find(match func(*T) bool) (T, int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.items {
		if match(&l.items[i]) {
			return l.items[i], i + 1, true
		}
	}
	var zero T
	return zero, 0, false
}

// credentialsMatch compares a presented credential with the configured one in constant
// time; an empty configured value accepts any non-empty credential.
func credentialsMatch(got, want string) bool {
	if want == "" {
		return got != ""
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// readGrant reads an OAuth2 token request's form (readTokenForm, allowing grant_type and
// the other fields given) and wants its grant_type to be grant. code and msg say what is
// wrong, or msg is "".
func readGrant(r *http.Request, grant string, allowed ...string) (form url.Values, code, msg string) {
	form, msg = readTokenForm(r, append([]string{"grant_type"}, allowed...)...)
	if msg != "" {
		return nil, "invalid_request", msg
	}
	if g := form["grant_type"]; len(g) != 1 || g[0] != grant {
		return nil, "unsupported_grant_type", fmt.Sprintf("grant_type: %q, want %s", g, grant)
	}
	return form, "", ""
}

// readTokenForm reads an OAuth2 token request's form body, refusing a wrong content type, an
// oversize or unparsable body, and any field not in allowed. msg says what is wrong, or is "".
func readTokenForm(r *http.Request, allowed ...string) (form url.Values, msg string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Sprintf("Content-Type: %q, want application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxTokenRequest+1))
	if err != nil || len(body) > maxTokenRequest {
		return nil, "body: unreadable or larger than 64 KiB"
	}
	form, err = url.ParseQuery(string(body))
	if err != nil {
		return nil, "body: not a form"
	}
	for name := range form {
		if !slices.Contains(allowed, name) {
			return nil, name + ": unexpected form field"
		}
	}
	return form, ""
}
