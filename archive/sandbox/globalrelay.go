package sandbox

// The Global Relay Conversation Archiving API, as documented (and stricter where the
// documentation is silent): POST /oauth2/token, PUT /v2/files/default/..., POST
// /v2/conversations. The wire structs below are the sandbox's own reading of the format;
// they deliberately do not come from archive/globalrelay.

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

const (
	grTokenPath         = "/oauth2/token"
	grFilesPrefix       = "/v2/files/"
	grConversationsPath = "/v2/conversations"

	// maxTokenRequest bounds a token request's form body.
	maxTokenRequest = 64 << 10
)

// grScope is the scope a token request must ask for, in any order.
var grScope = []string{"conversation", "file", "openid", "write"}

func (s *Server) globalRelayRoutes() []route {
	return []route{
		{method: http.MethodPost, path: grTokenPath, faults: tokenFaults, handler: s.grToken},
		{method: http.MethodPut, path: grFilesPrefix, prefix: true, faults: apiFaults, handler: s.grPutFile},
		{method: http.MethodPost, path: grConversationsPath, faults: apiFaults, handler: s.grPostConversation},
	}
}

// --- token ---

func (s *Server) grToken(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.TokenRequests++ })
	log := s.log.WithFields(logrus.Fields{"method": r.Method, "path": grTokenPath})
	if no := s.grCheckTokenRequest(r); no != nil {
		if no.status == http.StatusUnauthorized {
			s.count(func(st *Stats) { st.Unauthorized++ })
			w.Header().Set("WWW-Authenticate", `Basic realm="sandbox"`)
		}
		log.WithField("status", no.status).Warn("sandbox: token refused: " + no.msg)
		writeError(w, no.status, no.code, no.msg)
		return
	}
	tok := s.grIssueToken()
	secs := int64(s.opts.TokenTTL / time.Second)
	var expiresIn any = strconv.FormatInt(secs, 10)
	if s.opts.TokenTTLAsNumber {
		expiresIn = secs
	}
	log.Debug("sandbox: token issued")
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":       tok,
		"expires_in":         expiresIn,
		"refresh_expires_in": 0,
		"token_type":         "Bearer",
		"not-before-policy":  0,
		"scope":              "openid conversation file write",
	})
}

// grRefusal is why a Global Relay request is refused: its status, error code and message.
type grRefusal struct {
	status    int
	code, msg string
}

// grCheckTokenRequest checks the Basic credentials and the client-credentials form of a
// token request; nil means a token is issued.
func (s *Server) grCheckTokenRequest(r *http.Request) *grRefusal {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case !strings.EqualFold(scheme, "Basic") || strings.TrimSpace(cred) == "":
		return &grRefusal{http.StatusUnauthorized, "invalid_client", `Authorization: want "Basic <credentials>"`}
	case s.opts.Credentials != "" && subtle.ConstantTimeCompare([]byte(cred), []byte(s.opts.Credentials)) != 1:
		return &grRefusal{http.StatusUnauthorized, "invalid_client", "Authorization: credentials not accepted"}
	}
	form, no := grReadTokenForm(r)
	if no != nil {
		return no
	}
	if g := form["grant_type"]; len(g) != 1 || g[0] != "client_credentials" {
		return &grRefusal{http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type: %q, want client_credentials", g)}
	}
	sc := form["scope"]
	if len(sc) != 1 {
		return &grRefusal{http.StatusBadRequest, "invalid_scope", fmt.Sprintf("scope: %q, want %q", sc, "openid conversation file write")}
	}
	got := strings.Fields(sc[0])
	slices.Sort(got)
	if !slices.Equal(got, grScope) {
		return &grRefusal{http.StatusBadRequest, "invalid_scope", fmt.Sprintf("scope: %q, want %q", sc[0], "openid conversation file write")}
	}
	return nil
}

// grReadTokenForm reads a token request's form body: the content type, at most 64 KiB, and
// no fields but grant_type and scope.
func grReadTokenForm(r *http.Request) (url.Values, *grRefusal) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &grRefusal{http.StatusBadRequest, "invalid_request",
			fmt.Sprintf("Content-Type: %q, want application/x-www-form-urlencoded", r.Header.Get("Content-Type"))}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxTokenRequest+1))
	if err != nil {
		return nil, &grRefusal{http.StatusBadRequest, "invalid_request", "body: " + err.Error()}
	}
	if len(body) > maxTokenRequest {
		return nil, &grRefusal{http.StatusRequestEntityTooLarge, "invalid_request", "body: larger than 64 KiB"}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &grRefusal{http.StatusBadRequest, "invalid_request", "body: not a form: " + err.Error()}
	}
	for name := range form {
		if name != "grant_type" && name != "scope" {
			return nil, &grRefusal{http.StatusBadRequest, "invalid_request", fmt.Sprintf("%s: unexpected form field", name)}
		}
	}
	return form, nil
}

// grIssueToken issues a new token for TokenTTL, forgetting the expired ones.
func (s *Server) grIssueToken() string {
	tok := randomHex(32)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, exp := range s.tokens {
		if !now.Before(exp) {
			delete(s.tokens, t)
		}
	}
	s.tokens[tok] = now.Add(s.opts.TokenTTL)
	s.stats.TokensIssued++
	return tok
}

// bearer checks r's bearer token; "" means it is valid, else the reason it is not.
func (s *Server) bearer(r *http.Request) string {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return `Authorization: want "Bearer <token>"`
	}
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case !ok:
		return "Authorization: unknown token"
	case !time.Now().Before(exp):
		return "Authorization: token expired"
	}
	return ""
}

// --- files ---

// grRejecter returns the function a Global Relay handler refuses a request with: it counts
// the refusal (and a 401), asks for a bearer token on a 401, logs and answers the JSON error.
func (s *Server) grRejecter(w http.ResponseWriter, log logrus.FieldLogger, what string, counted func(*Stats)) func(status int, code, msg string) {
	return func(status int, code, msg string) {
		s.count(func(st *Stats) {
			counted(st)
			if status == http.StatusUnauthorized {
				st.Unauthorized++
			}
		})
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		log.WithField("status", status).Warn("sandbox: " + what + " refused: " + msg)
		writeError(w, status, code, msg)
	}
}

func (s *Server) grPutFile(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	log := s.log.WithFields(logrus.Fields{"method": r.Method, "path": path})
	reject := s.grRejecter(w, log, "put", func(st *Stats) { st.PutsRejected++ })

	if why := s.bearer(r); why != "" {
		reject(http.StatusUnauthorized, "unauthorized", why)
		return
	}
	key, err := parseFileKey(strings.TrimPrefix(path, grFilesPrefix))
	if err != nil {
		reject(http.StatusBadRequest, "invalid_file_key", err.Error())
		return
	}
	ct := strings.TrimSpace(r.Header.Get("Content-Type"))
	if ct == "" {
		reject(http.StatusBadRequest, "invalid_content_type", "Content-Type: missing, want a MIME type (application/octet-stream if unknown)")
		return
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		reject(http.StatusBadRequest, "invalid_content_type", fmt.Sprintf("Content-Type: %q is not a MIME type: %v", ct, err))
		return
	}
	if r.ContentLength < 0 || (r.ContentLength == 0 && r.Header.Get("Content-Length") == "") {
		reject(http.StatusLengthRequired, "length_required", "Content-Length: missing (chunked or unknown length), want the exact file size")
		return
	}
	if r.ContentLength > s.opts.MaxFileSize {
		reject(http.StatusBadRequest, "file_too_large",
			fmt.Sprintf("Content-Length: %d bytes: file exceeds %s", r.ContentLength, humanBytes(s.opts.MaxFileSize)))
		return
	}
	f, err := s.store.putFile(key, ct, r.ContentLength, r.Body)
	switch {
	case errors.Is(err, errShortBody):
		reject(http.StatusBadRequest, "incomplete_body", fmt.Sprintf("body: ended before Content-Length %d bytes", r.ContentLength))
		return
	case errors.Is(err, errKeyConflict):
		reject(http.StatusConflict, "key_conflict",
			fmt.Sprintf("fileKey %q: the sandbox stores keys as paths and another key uses %q as a file or a directory", key, key))
		return
	case err != nil:
		log.WithError(err).Error("sandbox: store file")
		writeError(w, http.StatusInternalServerError, "internal", "sandbox: cannot store the file")
		return
	}
	s.count(func(st *Stats) { st.Puts++ })
	log.WithFields(logrus.Fields{"key": key, "size": f.Size, "puts": f.Puts}).Info("sandbox: file stored")
	writeJSON(w, http.StatusOK, map[string]any{"fileKey": key, "size": f.Size, "sha256": f.SHA256})
}

// parseFileKey reads a fileKey from the escaped path after /v2/files/: "default" and at
// least one more segment, none empty, "." or "..", and after unescaping only the
// characters [A-Za-z0-9._-] in a segment (the project's conservative choice; Global Relay
// does not publish its rule).
func parseFileKey(escaped string) (string, error) {
	segs := strings.Split(escaped, "/")
	if len(segs) < 2 || segs[0] != "default" {
		return "", fmt.Errorf("fileKey %q: want \"default/\" followed by a path", escaped)
	}
	for i, seg := range segs {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return "", fmt.Errorf("fileKey %q: segment %d: bad percent-encoding", escaped, i)
		}
		switch {
		case dec == "":
			return "", fmt.Errorf("fileKey %q: segment %d is empty", escaped, i)
		case dec == "." || dec == "..":
			return "", fmt.Errorf("fileKey %q: segment %d is %q", escaped, i, dec)
		}
		for _, c := range dec {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return "", fmt.Errorf("fileKey %q: segment %d (%q) has %q; allowed are A-Z a-z 0-9 . _ - and / between segments", escaped, i, dec, c)
			}
		}
		segs[i] = dec
	}
	return strings.Join(segs, "/"), nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// --- conversations ---

// The sandbox's own reading of POST /conversations. Events and the overview are kept raw
// at first so that a decoding error can be reported with its JSON path.
type grConversation struct {
	Overview json.RawMessage   `json:"conversationOverview"`
	Events   []json.RawMessage `json:"conversationEvents"`
}

// grConversationArray is the same request with its events kept as one array, to be decoded
// in one pass (grValidate).
type grConversationArray struct {
	Overview json.RawMessage `json:"conversationOverview"`
	Events   json.RawMessage `json:"conversationEvents"`
}

type grOverview struct {
	ConversationType    string          `json:"conversationType"`
	InitiatorName       string          `json:"initiatorName"`
	InitiatorEmail      string          `json:"initiatorEmail"`
	CreatedBy           string          `json:"createdBy"`
	CreatedAt           json.RawMessage `json:"createdAt"`
	InitialParticipants []grParticipant `json:"initialParticipants"`
}

type grEvent struct {
	EventTime    json.RawMessage `json:"eventTime"`
	EventType    string          `json:"eventType"`
	Participants []grParticipant `json:"participants"`
	SystemText   string          `json:"systemText"`
	Content      *grContent      `json:"content"`
	Files        []grFile        `json:"files"`
}

type grParticipant struct {
	DisplayName    string `json:"displayName"`
	CorporateEmail string `json:"corporateEmail"`
	UserType       string `json:"userType"`
}

type grContent struct {
	Message  string `json:"message"`
	TextType string `json:"textType"`
}

type grFile struct {
	Filename  string `json:"filename"`
	FileKey   string `json:"fileKey"`
	IsInlined *bool  `json:"isInlined"`
	FileHref  string `json:"fileHref"`
}

var (
	grEventTypes = []string{"File_transfer", "Message", "Invitation", "User_joined", "User_event", "User_left"}
	grUserTypes  = []string{"initiator", "recipient", "affectedUser"}
)

// epochMillis2000 is 2000-01-01T00:00:00Z in epoch milliseconds: the earliest time accepted.
const epochMillis2000 = 946684800000

func (s *Server) grPostConversation(w http.ResponseWriter, r *http.Request) {
	log := s.log.WithFields(logrus.Fields{"method": r.Method, "path": grConversationsPath})
	reject := s.grRejecter(w, log, "conversation", func(st *Stats) { st.PostsRejected++ })

	if why := s.bearer(r); why != "" {
		reject(http.StatusUnauthorized, "unauthorized", why)
		return
	}
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		reject(http.StatusUnsupportedMediaType, "invalid_content_type", fmt.Sprintf("Content-Type: %q, want application/json", ct))
		return
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		reject(http.StatusUnsupportedMediaType, "invalid_content_type", fmt.Sprintf("Content-Type: charset %q, want utf-8", cs))
		return
	}
	max := s.opts.MaxRequestBytes
	if r.ContentLength > max {
		reject(http.StatusRequestEntityTooLarge, "request_too_large",
			fmt.Sprintf("Content-Length: %d bytes exceeds the %d bytes a request may have", r.ContentLength, max))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		reject(http.StatusBadRequest, "incomplete_body", "body: "+err.Error())
		return
	}
	if int64(len(body)) > max {
		reject(http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("body: exceeds the %d bytes a request may have", max))
		return
	}
	events, keys, err := s.grValidate(body, time.Now())
	if err != nil {
		reject(http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	// The whole request fails, and nothing of it is stored, if one file is not archived.
	if missing := s.store.missing(keyNames(keys)); len(missing) > 0 {
		var paths []string
		for _, k := range keys {
			if slices.Contains(missing, k.key) {
				paths = append(paths, fmt.Sprintf("%s: %q was never uploaded", k.path(), k.key))
			}
		}
		reject(http.StatusBadRequest, "unknown_file_key", strings.Join(paths, "; "))
		return
	}
	c, err := s.store.addConversation(body, events, newReconciliationID())
	if err != nil {
		log.WithError(err).Error("sandbox: store conversation")
		writeError(w, http.StatusInternalServerError, "internal", "sandbox: cannot store the conversation")
		return
	}
	s.count(func(st *Stats) { st.Posts++ })
	log.WithFields(logrus.Fields{"seq": c.Seq, "events": events, "reconciliationId": c.ReconciliationID}).Info("sandbox: conversation stored")
	writeJSON(w, http.StatusOK, map[string]string{"reconciliationId": c.ReconciliationID})
}

// fileKeyRef is a fileKey a request references and where: the file of files[file] of
// conversationEvents[event].
type fileKeyRef struct {
	key         string
	event, file int
}

// path is the JSON path of the reference.
func (k fileKeyRef) path() string {
	return fmt.Sprintf("%s.files[%d].fileKey", eventPath(k.event), k.file)
}

// fixedPath is a JSON path known in advance, for the checks that take a path to write out
// only for an error.
func fixedPath(p string) func() string { return func() string { return p } }

func keyNames(refs []fileKeyRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.key
	}
	return out
}

// grValidate decodes body strictly and checks it. It returns the number of events and the
// fileKeys that must be stored already; an error names the JSON path of the first problem.
//
// The events are decoded in one pass, as one array. Only when decoding fails is the body
// decoded again an event at a time (grValidateByParts), which names the path of the error: a
// decoder of its own for every event cost the benchmark's sink nearly half its time per event.
func (s *Server) grValidate(body []byte, now time.Time) (events int, keys []fileKeyRef, err error) {
	var c grConversationArray
	var evs []*grEvent
	if strictDecode(body, &c, "") != nil || isNull(c.Events) || strictDecode(c.Events, &evs, "conversationEvents") != nil {
		return s.grValidateByParts(body, now) // names the first problem as it always did
	}
	if isNull(c.Overview) {
		return 0, nil, errors.New("conversationOverview: missing")
	}
	var ov grOverview
	if err := strictDecode(c.Overview, &ov, "conversationOverview"); err != nil {
		return 0, nil, err
	}
	if err := s.grCheckOverview(&ov, now); err != nil {
		return 0, nil, err
	}
	if len(evs) == 0 {
		return 0, nil, errors.New("conversationEvents: missing or empty")
	}
	for i, ev := range evs {
		if ev == nil {
			return 0, nil, fmt.Errorf("%s: null", eventPath(i))
		}
		evKeys, err := grCheckEvent(ev, i, now)
		if err != nil {
			return 0, nil, err
		}
		keys = append(keys, evKeys...)
	}
	return len(evs), keys, nil
}

// grValidateByParts decodes body a level at a time, so that a decoding error names its
// path, and checks it as grValidate does.
func (s *Server) grValidateByParts(body []byte, now time.Time) (events int, keys []fileKeyRef, err error) {
	var c grConversation
	if err := strictDecode(body, &c, ""); err != nil {
		return 0, nil, err
	}
	if isNull(c.Overview) {
		return 0, nil, errors.New("conversationOverview: missing")
	}
	var ov grOverview
	if err := strictDecode(c.Overview, &ov, "conversationOverview"); err != nil {
		return 0, nil, err
	}
	if err := s.grCheckOverview(&ov, now); err != nil {
		return 0, nil, err
	}
	if len(c.Events) == 0 {
		return 0, nil, errors.New("conversationEvents: missing or empty")
	}
	for i, raw := range c.Events {
		if isNull(raw) {
			return 0, nil, fmt.Errorf("%s: null", eventPath(i))
		}
		var ev grEvent
		if err := strictDecode(raw, &ev, eventPath(i)); err != nil {
			return 0, nil, err
		}
		evKeys, err := grCheckEvent(&ev, i, now)
		if err != nil {
			return 0, nil, err
		}
		keys = append(keys, evKeys...)
	}
	return len(c.Events), keys, nil
}

func eventPath(i int) string { return fmt.Sprintf("conversationEvents[%d]", i) }

// grCheckOverview checks the decoded conversationOverview.
func (s *Server) grCheckOverview(ov *grOverview, now time.Time) error {
	switch {
	case ov.ConversationType == "":
		return errors.New("conversationOverview.conversationType: missing or empty")
	case s.opts.ConversationType != "" && ov.ConversationType != s.opts.ConversationType:
		return fmt.Errorf("conversationOverview.conversationType: %q is not this tenant's conversation type %q",
			ov.ConversationType, s.opts.ConversationType)
	}
	if !isNull(ov.CreatedAt) {
		if err := checkEpochMillis(ov.CreatedAt, fixedPath("conversationOverview.createdAt"), now); err != nil {
			return err
		}
	}
	return checkParticipants(ov.InitialParticipants, fixedPath("conversationOverview.initialParticipants"), false)
}

// grCheckEvent checks the decoded event i and returns the fileKeys it references. Its JSON
// path is written out only for an error.
func grCheckEvent(ev *grEvent, i int, now time.Time) ([]fileKeyRef, error) {
	if isNull(ev.EventTime) {
		return nil, fmt.Errorf("%s.eventTime: missing", eventPath(i))
	}
	p := func() string { return eventPath(i) }
	if err := checkEpochMillis(ev.EventTime, func() string { return p() + ".eventTime" }, now); err != nil {
		return nil, err
	}
	if !slices.Contains(grEventTypes, ev.EventType) {
		return nil, fmt.Errorf("%s.eventType: %q, want one of %s", p(), ev.EventType, strings.Join(grEventTypes, ", "))
	}
	if err := checkParticipants(ev.Participants, func() string { return p() + ".participants" }, true); err != nil {
		return nil, err
	}
	if ev.Content != nil && ev.Content.Message == "" {
		return nil, fmt.Errorf("%s.content.message: missing or empty", p())
	}
	switch {
	case ev.EventType == "File_transfer":
		if len(ev.Files) == 0 {
			return nil, fmt.Errorf("%s.files: missing or empty, a File_transfer event needs files", p())
		}
		return grValidateFiles(ev.Files, i)
	case ev.EventType == "Message" && ev.Content == nil:
		return nil, fmt.Errorf("%s.content: missing, a Message event needs content.message", p())
	case len(ev.Files) > 0:
		return nil, fmt.Errorf("%s.files: only File_transfer events carry files", p())
	}
	return nil, nil
}

// grValidateFiles checks the files of File_transfer event i and returns the fileKeys of
// those not given by a fileHref.
func grValidateFiles(files []grFile, i int) (keys []fileKeyRef, err error) {
	for j, f := range files {
		fp := func() string { return fmt.Sprintf("%s.files[%d]", eventPath(i), j) }
		switch {
		case f.Filename == "":
			return nil, fmt.Errorf("%s.filename: missing or empty", fp())
		case f.FileKey == "":
			return nil, fmt.Errorf("%s.fileKey: missing or empty", fp())
		case !strings.HasPrefix(f.FileKey, "default/") || len(f.FileKey) == len("default/"):
			return nil, fmt.Errorf("%s.fileKey: %q does not start with \"default/\"", fp(), f.FileKey)
		case f.IsInlined == nil:
			return nil, fmt.Errorf("%s.isInlined: missing, want true or false", fp())
		}
		if f.FileHref != "" {
			if u, err := url.Parse(f.FileHref); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return nil, fmt.Errorf("%s.fileHref: %q is not an http(s) URL", fp(), f.FileHref)
			}
			continue
		}
		keys = append(keys, fileKeyRef{key: f.FileKey, event: i, file: j})
	}
	return keys, nil
}

// strictDecode decodes one JSON value into v, refusing unknown fields and trailing data,
// and prefixes errors with path.
func strictDecode(b []byte, v any, path string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data after the JSON value")
		}
	}
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if errors.As(err, &te) {
		field := te.Field
		if path != "" && field != "" {
			field = "." + field
		}
		return fmt.Errorf("%s%s: JSON %s where %s was expected", path, field, te.Value, jsonKind(te.Type.Kind().String()))
	}
	if path == "" {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %s", path, msg)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "ptr":
		return "a value"
	}
	return "a number"
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// checkEpochMillis wants a bare JSON integer of epoch milliseconds between 2000 and a day
// from now; seconds and microseconds are the usual mistakes and are named as such.
func checkEpochMillis(raw json.RawMessage, path func() string, now time.Time) error {
	s := strings.TrimSpace(string(raw))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return fmt.Errorf("%s: %s is not an integer of epoch milliseconds", path(), s)
	}
	latest := now.Add(24 * time.Hour).UnixMilli()
	switch {
	case n >= epochMillis2000/1000 && n <= latest/1000:
		return fmt.Errorf("%s: %d looks like epoch seconds, want milliseconds", path(), n)
	case n < epochMillis2000:
		return fmt.Errorf("%s: %d is before 2000-01-01, want epoch milliseconds", path(), n)
	case n > latest:
		return fmt.Errorf("%s: %d is more than a day in the future (microseconds?), want epoch milliseconds", path(), n)
	}
	return nil
}

// checkParticipants checks each participant; required means the list must not be empty.
func checkParticipants(ps []grParticipant, path func() string, required bool) error {
	if required && len(ps) == 0 {
		return fmt.Errorf("%s: missing or empty", path())
	}
	initiators := 0
	for i, p := range ps {
		pp := func() string { return fmt.Sprintf("%s[%d]", path(), i) }
		if strings.TrimSpace(p.DisplayName) == "" {
			return fmt.Errorf("%s.displayName: missing or empty", pp())
		}
		if p.UserType != "" && !slices.Contains(grUserTypes, p.UserType) {
			return fmt.Errorf("%s.userType: %q, want one of %s", pp(), p.UserType, strings.Join(grUserTypes, ", "))
		}
		if p.UserType == "initiator" {
			initiators++
			if initiators > 1 {
				return fmt.Errorf("%s.userType: a second initiator", pp())
			}
		}
	}
	return nil
}

// newReconciliationID returns a random UUID (version 4).
func newReconciliationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
