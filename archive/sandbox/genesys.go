package sandbox

// The Genesys Web Services API v2 operations that share a file in a chat, as documented
// (and stricter where the documentation is silent): multipart POST
// /api/v2/me/interactions/{id}/attachments (form field "attachment") answers
// {"statusCode":0,"documentId":"..."}, and POST /api/v2/me/chats/{id} with operationName
// UploadFile links a stored document to that chat. Every request needs Basic
// authentication; a wrong one is HTTP 401 with {"statusCode":20} (20 is GWS's
// "authentication failed"). Other refusals are HTTP 400 with statusCode 3 (the sandbox's
// choice for "invalid parameter"; GWS does not publish its full code list) and a
// statusMessage naming the field.

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/config"
)

const (
	gnPrefix           = "/api/v2/me/"
	gnInteractionsPath = gnPrefix + "interactions/"
	gnChatsPath        = gnPrefix + "chats/"
	gnAdminPath        = "/sandbox/genesys/uploads"

	gnStatusInvalid = 3
	gnStatusAuth    = 20
	// gnMaxFile bounds an upload; GWS's own limit is a server setting.
	gnMaxFile = 100 << 20
	// gnMaxJSON bounds a chat operation's body.
	gnMaxJSON = 64 << 10
)

// GenesysUpload is one document stored by POST .../attachments, with the UploadFile
// operations that shared it.
type GenesysUpload struct {
	Seq         int       `json:"seq"`
	Received    time.Time `json:"received"`
	DocumentID  string    `json:"documentId"`
	ChatID      string    `json:"chatId"`
	FileName    string    `json:"fileName"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Path        string    `json:"path"` // where the bytes are on disk
	// Shared counts accepted UploadFile operations for this document; Texts holds their
	// text, "" for none.
	Shared int      `json:"shared"`
	Texts  []string `json:"texts,omitempty"`
}

type gnEmulator struct {
	recs *recordLog[GenesysUpload]
}

func (s *Server) genesysRoutes() []route {
	return []route{
		{method: http.MethodPost, path: gnInteractionsPath, prefix: true, faults: apiFaults, handler: s.gnUpload},
		{method: http.MethodPost, path: gnChatsPath, prefix: true, faults: apiFaults, handler: s.gnChatOperation},
		{method: http.MethodGet, path: gnAdminPath, handler: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, s.GenesysUploads())
		}},
	}
}

// GenesysUploads returns the stored documents in arrival order.
func (s *Server) GenesysUploads() []GenesysUpload { return s.gn.recs.all() }

func (s *Server) gnReject(w http.ResponseWriter, log logrus.FieldLogger, status, code int, msg string) {
	s.count(func(st *Stats) {
		st.GenesysRejected++
		if status == http.StatusUnauthorized {
			st.Unauthorized++
		}
	})
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="gws"`)
	}
	log.WithField("status", status).Warn("sandbox: genesys request refused: " + msg)
	writeJSON(w, status, map[string]any{"statusCode": code, "statusMessage": msg})
}

// gnAuth checks Basic authentication; "" means it passes.
func (s *Server) gnAuth(r *http.Request) string {
	user, pass, ok := r.BasicAuth()
	switch {
	case !ok:
		return `Authorization: want "Basic <user:password>"`
	case !credentialsMatch(user, s.opts.GenesysUser) || !credentialsMatch(pass, s.opts.GenesysPassword):
		return "Authorization: user or password not accepted"
	}
	return ""
}

// gnChatFromPath returns the {id} of prefix+{id}+suffix, or "".
func gnChatFromPath(path, prefix, suffix string) string {
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok {
		return ""
	}
	id, ok := strings.CutSuffix(rest, suffix)
	if !ok || !config.ValidChatID(id) {
		return ""
	}
	return id
}

// gnRequest checks what every GWS request needs: Basic authentication and a chat id in
// the path, prefix{id}suffix. When ok is false the request has been refused.
func (s *Server) gnRequest(w http.ResponseWriter, r *http.Request, prefix, suffix string) (log logrus.FieldLogger, chat string, ok bool) {
	path := r.URL.EscapedPath()
	log = s.log.WithFields(logrus.Fields{"method": r.Method, "path": path})
	if why := s.gnAuth(r); why != "" {
		s.gnReject(w, log, http.StatusUnauthorized, gnStatusAuth, why)
		return log, "", false
	}
	if chat = gnChatFromPath(path, prefix, suffix); chat == "" {
		s.gnReject(w, log, http.StatusNotFound, gnStatusInvalid, fmt.Sprintf("%s: want %s{id}%s with an id of letters and digits", path, prefix, suffix))
		return log, "", false
	}
	return log, chat, true
}

func (s *Server) gnUpload(w http.ResponseWriter, r *http.Request) {
	log, chat, ok := s.gnRequest(w, r, gnInteractionsPath, "/attachments")
	if !ok {
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		s.gnReject(w, log, http.StatusBadRequest, gnStatusInvalid, fmt.Sprintf("Content-Type: %q, want multipart/form-data with a boundary", r.Header.Get("Content-Type")))
		return
	}
	up, why := s.gnReceive(multipart.NewReader(r.Body, params["boundary"]))
	defer func() {
		if up != nil && up.tmp != "" {
			os.Remove(up.tmp)
		}
	}()
	if why != "" {
		s.gnReject(w, log, http.StatusBadRequest, gnStatusInvalid, why)
		return
	}
	if up.contentType == "" {
		up.contentType = "application/octet-stream"
	}
	docID := strings.ToUpper(randomHex(8))
	rec, err := s.gn.recs.add(func(seq int) (GenesysUpload, error) {
		path, err := s.gn.recs.keepFile(up.tmp, docID)
		return GenesysUpload{
			Seq: seq, Received: time.Now().UTC(), DocumentID: docID, ChatID: chat,
			FileName: up.name, ContentType: up.contentType, Size: up.size, SHA256: up.sha, Path: path,
		}, err
	})
	if err != nil {
		log.WithError(err).Error("sandbox: store genesys upload")
		writeJSON(w, http.StatusInternalServerError, map[string]any{"statusCode": 2, "statusMessage": "sandbox: cannot store the file"})
		return
	}
	up.tmp = ""
	s.count(func(st *Stats) { st.GenesysUploads++ })
	log.WithFields(logrus.Fields{"documentId": rec.DocumentID, "chat": chat, "size": rec.Size}).Info("sandbox: genesys document stored")
	writeJSON(w, http.StatusOK, map[string]any{"statusCode": 0, "documentId": rec.DocumentID})
}

// gnReceive reads the one "attachment" part into a temporary file; why says what is wrong
// with the body, or is "". The upload is returned, for its removal, even with a why.
func (s *Server) gnReceive(mr *multipart.Reader) (up *receivedFile, why string) {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return up, "multipart body: " + err.Error()
		}
		switch {
		case p.FormName() != "attachment":
			return up, fmt.Sprintf("unexpected part %q; want one part \"attachment\"", p.FormName())
		case up != nil:
			return up, "a second \"attachment\" part; one file per request"
		case p.FileName() == "":
			return up, "part \"attachment\": no filename"
		}
		up = &receivedFile{name: p.FileName(), contentType: p.Header.Get("Content-Type")}
		if err := s.gn.recs.receive(p, gnMaxFile, up); err != nil {
			return up, "part \"attachment\": " + err.Error()
		}
	}
	if up == nil {
		return nil, "no \"attachment\" part"
	}
	return up, ""
}

// gnUploadFile is the sandbox's own reading of the UploadFile operation.
type gnUploadFile struct {
	OperationName string  `json:"operationName"`
	DocumentID    string  `json:"documentId"`
	UploadType    string  `json:"uploadType"`
	UploadPath    string  `json:"uploadPath"`
	Description   string  `json:"description"`
	Text          *string `json:"text"`
	MessageType   string  `json:"messageType"`
	TreatAs       string  `json:"treatAs"`
}

func (s *Server) gnChatOperation(w http.ResponseWriter, r *http.Request) {
	log, chat, ok := s.gnRequest(w, r, gnChatsPath, "")
	if !ok {
		return
	}
	op, why := gnReadOperation(r)
	if why != "" {
		s.gnReject(w, log, http.StatusBadRequest, gnStatusInvalid, why)
		return
	}
	_, seq, ok := s.gn.recs.find(func(u *GenesysUpload) bool { return u.DocumentID == op.DocumentID && u.ChatID == chat })
	if !ok {
		s.gnReject(w, log, http.StatusBadRequest, gnStatusInvalid, fmt.Sprintf("documentId: %q was not uploaded to interaction %s", op.DocumentID, chat))
		return
	}
	text := ""
	if op.Text != nil {
		text = *op.Text
	}
	if err := s.gn.recs.update(seq, func(u *GenesysUpload) error {
		u.Shared++
		u.Texts = append(u.Texts, text)
		return nil
	}); err != nil {
		log.WithError(err).Error("sandbox: store genesys share")
		writeJSON(w, http.StatusInternalServerError, map[string]any{"statusCode": 2, "statusMessage": "sandbox: cannot store the operation"})
		return
	}
	s.count(func(st *Stats) { st.GenesysShares++ })
	log.WithFields(logrus.Fields{"documentId": op.DocumentID, "chat": chat}).Info("sandbox: genesys file shared")
	writeJSON(w, http.StatusOK, map[string]any{"statusCode": 0})
}

// gnReadOperation reads and checks a chat operation's JSON body: an UploadFile operation
// (the only one the sandbox supports); why says what is wrong, or is "".
func gnReadOperation(r *http.Request) (op gnUploadFile, why string) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return op, fmt.Sprintf("Content-Type: %q, want application/json", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, gnMaxJSON+1))
	if err != nil || len(body) > gnMaxJSON {
		return op, "body: unreadable or larger than 64 KiB"
	}
	var kind struct {
		OperationName string `json:"operationName"`
	}
	if err := json.Unmarshal(body, &kind); err != nil {
		return op, "body: not a JSON object"
	}
	if kind.OperationName != "UploadFile" {
		return op, fmt.Sprintf("operationName: %q; the sandbox supports only UploadFile", kind.OperationName)
	}
	if err := strictDecode(body, &op, ""); err != nil {
		return op, err.Error()
	}
	switch {
	case op.DocumentID == "":
		return op, "documentId: missing or empty"
	case op.UploadType != "" && !slices.Contains([]string{"standard-response", "file-system"}, op.UploadType):
		return op, fmt.Sprintf("uploadType: %q, want standard-response or file-system", op.UploadType)
	case (op.MessageType != "" || op.TreatAs != "") && op.Text == nil:
		return op, "messageType and treatAs need text"
	case op.TreatAs != "" && op.TreatAs != "Normal" && op.TreatAs != "System":
		return op, fmt.Sprintf("treatAs: %q, want Normal or System", op.TreatAs)
	}
	return op, ""
}
