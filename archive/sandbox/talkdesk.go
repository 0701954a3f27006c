package sandbox

// Talkdesk's Attachments API (2023-03), as documented (and stricter where it is silent):
// POST /oauth/token (client credentials, Basic client_id:client_secret, ten-minute
// tokens), POST /attachments/2023-03/upload-link (scope attachments:request) answering
// {request_id, url}, a PUT of the bytes to that url, which the sandbox serves itself under
// /storage/talkdesk/ like a presigned storage link (one use, no Authorization header,
// exact Content-Length), and POST /attachments/2023-03 (scope attachments:write) creating
// the attachment. Refusals use Talkdesk's error body {code, message, description, fields};
// the codes are the sandbox's own, since Talkdesk does not publish them.

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

const (
	tdTokenPath       = "/oauth/token"
	tdAttachmentsPath = "/attachments/2023-03"
	tdUploadLinkPath  = tdAttachmentsPath + "/upload-link"
	tdStoragePrefix   = "/storage/talkdesk/"
	tdAdminPath       = "/sandbox/talkdesk/attachments"

	tdTokenTTL = 10 * time.Minute
	tdLinkTTL  = 15 * time.Minute
	tdMaxJSON  = 64 << 10
	tdMaxFile  = 100 << 20
	tdMaxName  = 255

	scopeRequest = "attachments:request"
	scopeWrite   = "attachments:write"
)

// TalkdeskAttachment is one attachment created by POST /attachments/2023-03.
type TalkdeskAttachment struct {
	Seq         int             `json:"seq"`
	Received    time.Time       `json:"received"`
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	RequestID   string          `json:"requestId"`
	ContentType string          `json:"contentType"` // of the PUT
	Size        int64           `json:"size"`
	SHA256      string          `json:"sha256"`
	Path        string          `json:"path"` // where the bytes are on disk
	Metadata    json.RawMessage `json:"metadata"`
}

type tdToken struct {
	expires time.Time
	scopes  []string
}

// tdLink is an issued upload link and what was PUT to it.
type tdLink struct {
	requestID string
	signature string
	expires   time.Time
	allowed   []string // allowed_mime_types, nil for any
	put       bool
	used      bool // an attachment was created from it
	up        receivedFile
}

type tdEmulator struct {
	recs *recordLog[TalkdeskAttachment]
	dir  string

	mu     sync.Mutex
	tokens map[string]tdToken
	links  map[string]*tdLink // by request_id
}

func (e *tdEmulator) revokeTokens() {
	e.mu.Lock()
	clear(e.tokens)
	e.mu.Unlock()
}

func (s *Server) talkdeskRoutes() []route {
	return []route{
		{method: http.MethodPost, path: tdTokenPath, faults: tokenFaults, handler: s.tdToken},
		{method: http.MethodPost, path: tdUploadLinkPath, faults: apiFaults, handler: s.tdUploadLink},
		{method: http.MethodPut, path: tdStoragePrefix, prefix: true, faults: apiFaults, handler: s.tdPut},
		{method: http.MethodPost, path: tdAttachmentsPath, faults: apiFaults, handler: s.tdCreate},
		{method: http.MethodGet, path: tdAdminPath, handler: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, s.TalkdeskAttachments())
		}},
	}
}

// TalkdeskAttachments returns the created attachments in arrival order.
func (s *Server) TalkdeskAttachments() []TalkdeskAttachment { return s.td.recs.all() }

type tdField struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (s *Server) tdReject(w http.ResponseWriter, log logrus.FieldLogger, status int, code, msg string, fields ...tdField) {
	s.count(func(st *Stats) {
		st.TalkdeskRejected++
		if status == http.StatusUnauthorized {
			st.Unauthorized++
		}
	})
	log.WithField("status", status).Warn("sandbox: talkdesk request refused: " + msg)
	if fields == nil {
		fields = []tdField{}
	}
	writeJSON(w, status, map[string]any{"code": code, "message": http.StatusText(status), "description": msg, "fields": fields})
}

func (s *Server) tdToken(w http.ResponseWriter, r *http.Request) {
	log := s.log.WithFields(logrus.Fields{"method": r.Method, "path": tdTokenPath})
	reject := func(status int, code, msg string) {
		s.count(func(st *Stats) {
			st.TalkdeskRejected++
			if status == http.StatusUnauthorized {
				st.Unauthorized++
			}
		})
		log.WithField("status", status).Warn("sandbox: talkdesk token refused: " + msg)
		writeJSON(w, status, map[string]string{"error": code, "error_description": msg})
	}
	id, secret, ok := r.BasicAuth()
	if !ok || !credentialsMatch(id, s.opts.TalkdeskClientID) || !credentialsMatch(secret, s.opts.TalkdeskClientSecret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="talkdesk"`)
		reject(http.StatusUnauthorized, "invalid_client", "Authorization: client credentials not accepted")
		return
	}
	form, code, msg := readGrant(r, "client_credentials", "scope")
	if msg != "" {
		reject(http.StatusBadRequest, code, msg)
		return
	}
	sc := form["scope"]
	if len(sc) != 1 || strings.TrimSpace(sc[0]) == "" {
		reject(http.StatusBadRequest, "invalid_scope", "scope: missing")
		return
	}
	scopes := strings.Fields(sc[0])
	for _, v := range scopes {
		if v != scopeRequest && v != scopeWrite {
			reject(http.StatusBadRequest, "invalid_scope", fmt.Sprintf("scope: %q is not %s or %s", v, scopeRequest, scopeWrite))
			return
		}
	}
	tok := randomHex(32)
	now := time.Now()
	s.td.mu.Lock()
	for t, v := range s.td.tokens {
		if !now.Before(v.expires) {
			delete(s.td.tokens, t)
		}
	}
	s.td.tokens[tok] = tdToken{expires: now.Add(tdTokenTTL), scopes: scopes}
	s.td.mu.Unlock()
	s.count(func(st *Stats) { st.TalkdeskTokens++ })
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(tdTokenTTL / time.Second), "scope": strings.Join(scopes, " "),
	})
}

// tdBearer checks the bearer token and its scope: 0 means it passes, else the status.
func (s *Server) tdBearer(r *http.Request, scope string) (int, string) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return http.StatusUnauthorized, `Authorization: want "Bearer <token>"`
	}
	s.td.mu.Lock()
	t, ok := s.td.tokens[tok]
	s.td.mu.Unlock()
	switch {
	case !ok:
		return http.StatusUnauthorized, "Authorization: unknown token"
	case !time.Now().Before(t.expires):
		return http.StatusUnauthorized, "Authorization: token expired"
	case !slices.Contains(t.scopes, scope):
		return http.StatusForbidden, "token lacks scope " + scope
	}
	return 0, ""
}

// tdReadJSON reads a JSON body of at most tdMaxJSON bytes; "" means it succeeded.
func tdReadJSON(r *http.Request) ([]byte, string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, fmt.Sprintf("Content-Type: %q, want application/json", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, tdMaxJSON+1))
	if err != nil || len(body) > tdMaxJSON {
		return nil, "body: unreadable or larger than 64 KiB"
	}
	return body, ""
}

// tdDecode checks the bearer token's scope and decodes the JSON body strictly into v;
// false means the request has been refused.
func (s *Server) tdDecode(w http.ResponseWriter, r *http.Request, log logrus.FieldLogger, scope string, v any) bool {
	if status, why := s.tdBearer(r, scope); status != 0 {
		s.tdReject(w, log, status, "sandbox-auth", why)
		return false
	}
	body, why := tdReadJSON(r)
	if why != "" {
		s.tdReject(w, log, http.StatusBadRequest, "sandbox-invalid-body", why)
		return false
	}
	if err := strictDecode(body, v, ""); err != nil {
		s.tdReject(w, log, http.StatusBadRequest, "sandbox-invalid-body", err.Error())
		return false
	}
	return true
}

func (s *Server) tdUploadLink(w http.ResponseWriter, r *http.Request) {
	log := s.log.WithFields(logrus.Fields{"method": r.Method, "path": tdUploadLinkPath})
	var req struct {
		AllowedMIMETypes []string `json:"allowed_mime_types"`
	}
	if !s.tdDecode(w, r, log, scopeRequest, &req) {
		return
	}
	for i, m := range req.AllowedMIMETypes {
		if mt, _, err := mime.ParseMediaType(m); err != nil || !strings.Contains(mt, "/") {
			s.tdReject(w, log, http.StatusBadRequest, "sandbox-invalid-field", "allowed_mime_types: not a MIME type",
				tdField{Name: fmt.Sprintf("allowed_mime_types[%d]", i), Description: "not a MIME type"})
			return
		}
	}
	l := &tdLink{requestID: randomHex(18), signature: randomHex(16), expires: time.Now().Add(tdLinkTTL), allowed: req.AllowedMIMETypes}
	s.td.mu.Lock()
	s.td.links[l.requestID] = l
	s.td.mu.Unlock()
	s.count(func(st *Stats) { st.TalkdeskLinks++ })
	link := "http://" + r.Host + tdStoragePrefix + l.requestID + "?X-Sandbox-Signature=" + l.signature
	writeJSON(w, http.StatusOK, map[string]string{"request_id": l.requestID, "url": link})
}

// tdPut stores the bytes of an upload link, like a presigned storage URL: the query
// authenticates the request, an Authorization header is refused, and a link takes one
// upload only.
func (s *Server) tdPut(w http.ResponseWriter, r *http.Request) {
	log := s.log.WithFields(logrus.Fields{"method": r.Method, "path": tdStoragePrefix + "..."})
	reject := func(status int, msg string) {
		s.count(func(st *Stats) { st.TalkdeskRejected++ })
		log.WithField("status", status).Warn("sandbox: talkdesk upload refused: " + msg)
		writeJSON(w, status, map[string]string{"error": http.StatusText(status), "message": msg})
	}
	id := strings.TrimPrefix(r.URL.EscapedPath(), tdStoragePrefix)
	l, status, why := s.tdCheckPut(r, id)
	if why != "" {
		reject(status, why)
		return
	}
	up := receivedFile{contentType: r.Header.Get("Content-Type")}
	if err := s.td.recs.receive(r.Body, r.ContentLength, &up); err != nil || up.size != r.ContentLength {
		if up.tmp != "" {
			os.Remove(up.tmp)
		}
		reject(http.StatusBadRequest, "body: shorter than Content-Length or unreadable")
		return
	}
	up, err := s.tdKeepUpload(l, id, up)
	switch {
	case errors.Is(err, errLinkUsed):
		reject(http.StatusForbidden, "link already used")
		return
	case err != nil:
		log.WithError(err).Error("sandbox: store talkdesk upload")
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal", "message": "sandbox: cannot store the upload"})
		return
	}
	s.count(func(st *Stats) { st.TalkdeskPuts++ })
	w.Header().Set("ETag", `"`+up.sha[:32]+`"`)
	w.WriteHeader(http.StatusOK)
}

// tdCheckPut checks an upload to link id before its body is read: no Authorization, the
// link's signature and expiry, the content type and length. why is "" when it passes.
func (s *Server) tdCheckPut(r *http.Request, id string) (l *tdLink, status int, why string) {
	if r.Header.Get("Authorization") != "" {
		return nil, http.StatusBadRequest, "Authorization: only one auth mechanism allowed; the link's query already authenticates the upload"
	}
	s.td.mu.Lock()
	l = s.td.links[id]
	s.td.mu.Unlock()
	sig := r.URL.Query().Get("X-Sandbox-Signature")
	switch {
	case l == nil || subtle.ConstantTimeCompare([]byte(sig), []byte(l.signature)) != 1:
		return nil, http.StatusForbidden, "signature does not match"
	case !time.Now().Before(l.expires):
		return nil, http.StatusForbidden, "link expired"
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Sprintf("Content-Type: %q is not a MIME type", ct)
	case l.allowed != nil && !slices.Contains(l.allowed, mt):
		return nil, http.StatusBadRequest, fmt.Sprintf("Content-Type: %q is not in the link's allowed_mime_types", mt)
	case r.ContentLength < 0 || (r.ContentLength == 0 && r.Header.Get("Content-Length") == ""):
		return nil, http.StatusLengthRequired, "Content-Length: missing, want the exact size"
	case r.ContentLength > tdMaxFile:
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("Content-Length: %d bytes exceeds %s", r.ContentLength, humanBytes(tdMaxFile))
	}
	return l, 0, ""
}

// errLinkUsed means an upload link took an upload already.
var errLinkUsed = errors.New("link already used")

// tdKeepUpload keeps a received upload as link id's, once: a second upload is errLinkUsed.
// On any error the received file is removed.
func (s *Server) tdKeepUpload(l *tdLink, id string, up receivedFile) (receivedFile, error) {
	s.td.mu.Lock()
	defer s.td.mu.Unlock()
	if l.put {
		os.Remove(up.tmp)
		return up, errLinkUsed
	}
	dst, err := s.td.recs.keepFile(up.tmp, "upload-"+id)
	if err != nil {
		os.Remove(up.tmp)
		return up, err
	}
	l.put = true
	up.tmp = dst
	l.up = up
	return up, nil
}

// tdCreateRequest is the sandbox's own reading of POST /attachments/2023-03.
type tdCreateRequest struct {
	Name      string          `json:"name"`
	RequestID string          `json:"request_id"`
	Metadata  json.RawMessage `json:"metadata"`
}

func (s *Server) tdCreate(w http.ResponseWriter, r *http.Request) {
	log := s.log.WithFields(logrus.Fields{"method": r.Method, "path": tdAttachmentsPath})
	var req tdCreateRequest
	if !s.tdDecode(w, r, log, scopeWrite, &req) {
		return
	}
	invalid := func(p *tdField) {
		s.tdReject(w, log, http.StatusBadRequest, "sandbox-invalid-field", p.Name+": "+p.Description, *p)
	}
	meta, size, p := tdCheckCreate(&req)
	if p != nil {
		invalid(p)
		return
	}
	l, up, p := s.tdUploadFor(req.RequestID)
	if p == nil {
		p = tdCheckMeta(meta, size, up)
	}
	if p != nil {
		invalid(p)
		return
	}
	a, status, p, err := s.tdStore(&req, l, up)
	switch {
	case err != nil:
		log.WithError(err).Error("sandbox: store talkdesk attachment")
		writeJSON(w, http.StatusInternalServerError, map[string]string{"code": "internal", "message": "sandbox: cannot store the attachment"})
		return
	case status == http.StatusConflict:
		s.tdReject(w, log, status, "sandbox-name-conflict", fmt.Sprintf("name: an attachment named %q exists", req.Name), *p)
		return
	case p != nil:
		invalid(p)
		return
	}
	s.count(func(st *Stats) { st.TalkdeskAttachments++ })
	mt, _, _ := mime.ParseMediaType(up.contentType)
	self := "http://" + r.Host + "/assets/" + a.ID
	writeJSON(w, http.StatusOK, map[string]any{
		"id": a.ID, "name": a.Name, "state": "AVAILABLE", "size": a.Size, "type": mt,
		"metadata": a.Metadata, "provider": map[string]string{"name": "sandbox"},
		"_links": map[string]any{"self": map[string]string{"href": self}, "download_link": map[string]string{"href": self + "/download-link"}},
	})
}

// tdCheckCreate checks the fields of a create request that need no upload: metadata is
// free-form ("flow_id" in Talkdesk's example), but its size is required.
func tdCheckCreate(req *tdCreateRequest) (meta map[string]json.RawMessage, size int64, p *tdField) {
	if isNull(req.Metadata) || json.Unmarshal(req.Metadata, &meta) != nil {
		return nil, 0, &tdField{Name: "metadata", Description: "missing or not an object"}
	}
	if err := json.Unmarshal(meta["size"], &size); err != nil || meta["size"] == nil {
		return nil, 0, &tdField{Name: "metadata.size", Description: "missing or not an integer"}
	}
	switch {
	case strings.TrimSpace(req.Name) == "":
		return nil, 0, &tdField{Name: "name", Description: "missing or empty"}
	case len(req.Name) > tdMaxName:
		return nil, 0, &tdField{Name: "name", Description: fmt.Sprintf("longer than %d bytes", tdMaxName)}
	case req.RequestID == "":
		return nil, 0, &tdField{Name: "request_id", Description: "missing or empty"}
	}
	return meta, size, nil
}

// tdUploadFor is the completed, unused upload of request id.
func (s *Server) tdUploadFor(requestID string) (*tdLink, receivedFile, *tdField) {
	s.td.mu.Lock()
	defer s.td.mu.Unlock()
	l := s.td.links[requestID]
	if l == nil || !l.put || l.used {
		return nil, receivedFile{}, &tdField{Name: "request_id", Description: "no upload was completed for this request id, or it was used already"}
	}
	return l, l.up, nil
}

// tdCheckMeta checks that the metadata's size, type and name, where present, are the upload's.
func tdCheckMeta(meta map[string]json.RawMessage, size int64, up receivedFile) *tdField {
	if size != up.size {
		return &tdField{Name: "metadata.size", Description: fmt.Sprintf("%d, but %d bytes were uploaded", size, up.size)}
	}
	if raw, ok := meta["type"]; ok {
		var typ string
		mt, _, _ := mime.ParseMediaType(up.contentType)
		if json.Unmarshal(raw, &typ) != nil || typ != mt {
			return &tdField{Name: "metadata.type", Description: fmt.Sprintf("want %q, the type of the upload", mt)}
		}
	}
	if raw, ok := meta["name"]; ok {
		var n string
		if json.Unmarshal(raw, &n) != nil || n == "" {
			return &tdField{Name: "metadata.name", Description: "not a non-empty string"}
		}
	}
	return nil
}

// tdStore records the attachment. The name check, the request id's single use and the record
// are one step, so two concurrent requests cannot both create a name: a name taken already is
// status 409 with its field, a request id used meanwhile a field problem.
func (s *Server) tdStore(req *tdCreateRequest, l *tdLink, up receivedFile) (TalkdeskAttachment, int, *tdField, error) {
	s.td.mu.Lock()
	defer s.td.mu.Unlock()
	if _, _, exists := s.td.recs.find(func(a *TalkdeskAttachment) bool { return a.Name == req.Name }); exists {
		return TalkdeskAttachment{}, http.StatusConflict, &tdField{Name: "name", Description: "already has an attachment with this name"}, nil
	}
	if l.used {
		return TalkdeskAttachment{}, http.StatusBadRequest, &tdField{Name: "request_id", Description: "used already"}, nil
	}
	id := randomHex(16)
	a, err := s.td.recs.add(func(seq int) (TalkdeskAttachment, error) {
		return TalkdeskAttachment{
			Seq: seq, Received: time.Now().UTC(), ID: id, Name: req.Name, RequestID: req.RequestID,
			ContentType: up.contentType, Size: up.size, SHA256: up.sha, Path: filepath.Clean(up.tmp),
			Metadata: json.RawMessage(req.Metadata),
		}, nil
	})
	if err != nil {
		return TalkdeskAttachment{}, 0, nil, err
	}
	l.used = true
	return a, http.StatusOK, nil, nil
}
