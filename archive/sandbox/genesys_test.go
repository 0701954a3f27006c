package sandbox_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/sandbox"
)

func genesysAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func (e *env) gnUpload(auth, chat string, parts map[string]string) (int, map[string]any) {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for field, content := range parts {
		w, _ := mw.CreateFormFile(field, "notes.txt")
		w.Write([]byte(content))
	}
	mw.Close()
	a := e.do("POST", "/api/v2/me/interactions/"+chat+"/attachments",
		map[string]string{"Authorization": auth, "Content-Type": mw.FormDataContentType()}, &buf, -1)
	var r map[string]any
	_ = json.Unmarshal(a.body, &r)
	return a.status, r
}

func (e *env) gnChat(auth, chat, body string) (int, map[string]any) {
	e.t.Helper()
	a := e.do("POST", "/api/v2/me/chats/"+chat, map[string]string{"Authorization": auth, "Content-Type": "application/json"},
		strings.NewReader(body), -1)
	var r map[string]any
	_ = json.Unmarshal(a.body, &r)
	return a.status, r
}

func TestGenesysUploadThenUploadFile(t *testing.T) {
	e := start(t, sandbox.Options{GenesysUser: "agent", GenesysPassword: "pw"})
	auth := genesysAuth("agent", "pw")

	if status, r := e.gnUpload(genesysAuth("agent", "bad"), "CHAT1", map[string]string{"attachment": "x"}); status != 401 || r["statusCode"] != float64(20) {
		t.Errorf("wrong password: %d %v, want 401 statusCode 20", status, r)
	}
	if status, _ := e.gnUpload(auth, "CHAT1", map[string]string{"file": "x"}); status != 400 {
		t.Errorf("wrong field name: %d, want 400", status)
	}
	status, r := e.gnUpload(auth, "CHAT1", map[string]string{"attachment": "hello"})
	doc, _ := r["documentId"].(string)
	if status != 200 || r["statusCode"] != float64(0) || doc == "" {
		t.Fatalf("upload: %d %v", status, r)
	}
	for name, body := range map[string]string{
		"other chat":       `{"operationName":"UploadFile","documentId":"` + doc + `"}`,
		"unknown document": `{"operationName":"UploadFile","documentId":"NOPE"}`,
		"other operation":  `{"operationName":"AddAttachment","documentId":"` + doc + `"}`,
		"unknown field":    `{"operationName":"UploadFile","documentId":"` + doc + `","colour":"red"}`,
		"treatAs alone":    `{"operationName":"UploadFile","documentId":"` + doc + `","treatAs":"System"}`,
	} {
		chat := "CHAT1"
		if name == "other chat" {
			chat = "CHAT2"
		}
		if status, r := e.gnChat(auth, chat, body); status != 400 || r["statusCode"] == float64(0) {
			t.Errorf("%s: %d %v, want a refusal", name, status, r)
		}
	}
	if status, r := e.gnChat(auth, "CHAT1", `{"operationName":"UploadFile","documentId":"`+doc+`","text":"hi"}`); status != 200 || r["statusCode"] != float64(0) {
		t.Fatalf("UploadFile: %d %v", status, r)
	}
	ups := e.s.GenesysUploads()
	if len(ups) != 1 || ups[0].Shared != 1 || ups[0].Texts[0] != "hi" || ups[0].Size != 5 || ups[0].ChatID != "CHAT1" {
		t.Errorf("uploads = %+v", ups)
	}
	if st := e.s.Stats(); st.GenesysUploads != 1 || st.GenesysShares != 1 || st.GenesysRejected != 7 || st.Unauthorized != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestGenesysRefusalsNameThePath(t *testing.T) {
	e := start(t, sandbox.Options{GenesysUser: "agent", GenesysPassword: "pw"})
	auth := genesysAuth("agent", "pw")
	message := func(r map[string]any) string { s, _ := r["statusMessage"].(string); return s }

	if status, r := e.gnUpload(auth, "bad.id", map[string]string{"attachment": "x"}); status != 404 ||
		!strings.Contains(message(r), "want /api/v2/me/interactions/{id}/attachments with an id of letters and digits") {
		t.Errorf("upload to a bad chat id: %d %v", status, r)
	}
	if status, r := e.gnChat(auth, "bad.id", `{}`); status != 404 ||
		!strings.Contains(message(r), "want /api/v2/me/chats/{id} with an id of letters and digits") {
		t.Errorf("operation on a bad chat id: %d %v", status, r)
	}
	if status, r := e.gnUpload(auth, "CHAT1", nil); status != 400 || message(r) != `no "attachment" part` {
		t.Errorf("upload without a part: %d %v", status, r)
	}
	for body, want := range map[string]string{
		`[1]`: "body: not a JSON object",
		`{"operationName":"UploadFile","documentId":"D","uploadType":"x"}`: `uploadType: "x"`,
		`{"operationName":"UploadFile","documentId":""}`:                   "documentId: missing",
	} {
		if status, r := e.gnChat(auth, "CHAT1", body); status != 400 || !strings.Contains(message(r), want) {
			t.Errorf("%s: %d %v, want 400 naming %q", body, status, r, want)
		}
	}
}
