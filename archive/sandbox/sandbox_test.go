package sandbox_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/archivist-project/archivist/archive/sandbox"
)

const testCreds = "c2FuZGJveC1zZWNyZXQtY3JlZGVudGlhbA=="

// env is a sandbox served on loopback with raw HTTP helpers: these tests speak the wire
// format by hand, independently of archive/globalrelay.
type env struct {
	t    *testing.T
	s    *sandbox.Server
	base string
	dir  string
	log  *bytes.Buffer
}

// syncBuffer lets the server's goroutines log while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, o sandbox.Options) *env {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Credentials == "" {
		o.Credentials = testCreds
	}
	s, err := sandbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, s: s, base: base, dir: o.Dir}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) message() string {
	var e struct{ Error, Message string }
	_ = json.Unmarshal(a.body, &e)
	return e.Message
}

func (e *env) do(method, path string, header map[string]string, body io.Reader, contentLength int64) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentLength >= 0 {
		req.ContentLength = contentLength
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func tokenForm(grant, scope string) string {
	return url.Values{"grant_type": {grant}, "scope": {scope}}.Encode()
}

func (e *env) token() string {
	e.t.Helper()
	a := e.do("POST", "/oauth2/token", map[string]string{
		"Authorization": "Basic " + testCreds,
		"Content-Type":  "application/x-www-form-urlencoded",
	}, strings.NewReader(tokenForm("client_credentials", "openid conversation file write")), -1)
	if a.status != 200 {
		e.t.Fatalf("token: %d %s", a.status, a.body)
	}
	var r struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil || r.AccessToken == "" {
		e.t.Fatalf("token reply %s: %v", a.body, err)
	}
	return r.AccessToken
}

func (e *env) put(tok, key, contentType string, data []byte) answer {
	e.t.Helper()
	return e.do("PUT", "/v2/files/"+key, map[string]string{
		"Authorization": "Bearer " + tok, "Content-Type": contentType,
	}, bytes.NewReader(data), int64(len(data)))
}

func (e *env) post(tok string, body string) answer {
	e.t.Helper()
	return e.do("POST", "/v2/conversations", map[string]string{
		"Authorization": "Bearer " + tok, "Content-Type": "application/json",
	}, strings.NewReader(body), -1)
}

func TestToken(t *testing.T) {
	e := start(t, sandbox.Options{TokenTTL: 90 * time.Second})
	form := "application/x-www-form-urlencoded"
	good := tokenForm("client_credentials", "write file openid conversation") // any order
	cases := []struct {
		name        string
		auth, ctype string
		body        string
		status      int
		want        string
	}{
		{"ok", "Basic " + testCreds, form, good, 200, ""},
		{"no auth", "", form, good, 401, "Authorization"},
		{"wrong creds", "Basic d3Jvbmc=", form, good, 401, "credentials not accepted"},
		{"bearer scheme", "Bearer " + testCreds, form, good, 401, "Authorization"},
		{"json body", "Basic " + testCreds, "application/json", `{}`, 400, "Content-Type"},
		{"wrong grant", "Basic " + testCreds, form, tokenForm("password", "openid conversation file write"), 400, "grant_type"},
		{"short scope", "Basic " + testCreds, form, tokenForm("client_credentials", "openid file write"), 400, "scope"},
		{"extra scope", "Basic " + testCreds, form, tokenForm("client_credentials", "openid conversation file write admin"), 400, "scope"},
		{"extra field", "Basic " + testCreds, form, good + "&client_id=x", 400, "client_id"},
		{"two scopes", "Basic " + testCreds, form, good + "&scope=openid", 400, "scope"},
		{"not a form", "Basic " + testCreds, form, "grant_type=%zz", 400, "not a form"},
		{"body too large", "Basic " + testCreds, form, good + "&scope=" + strings.Repeat("x", 64<<10), 413, "larger than 64 KiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{"Content-Type": c.ctype}
			if c.auth != "" {
				h["Authorization"] = c.auth
			}
			a := e.do("POST", "/oauth2/token", h, strings.NewReader(c.body), -1)
			if a.status != c.status || !strings.Contains(a.message(), c.want) {
				t.Fatalf("got %d %s, want %d naming %q", a.status, a.body, c.status, c.want)
			}
			if c.status == 200 {
				var r map[string]any
				_ = json.Unmarshal(a.body, &r)
				if r["expires_in"] != "90" || r["token_type"] != "Bearer" || r["refresh_expires_in"] != float64(0) {
					t.Fatalf("reply %s: want expires_in \"90\" as a string, Bearer, refresh_expires_in 0", a.body)
				}
			}
		})
	}
	if a := e.do("GET", "/oauth2/token", nil, nil, -1); a.status != 405 {
		t.Fatalf("GET token: %d, want 405", a.status)
	}
	st := e.s.Stats()
	if st.TokenRequests != len(cases) || st.TokensIssued != 1 || st.Unauthorized != 3 {
		t.Fatalf("stats %+v", st)
	}

	num := start(t, sandbox.Options{TokenTTL: time.Minute, TokenTTLAsNumber: true})
	a := num.do("POST", "/oauth2/token", map[string]string{"Authorization": "Basic " + testCreds, "Content-Type": form}, strings.NewReader(good), -1)
	var r map[string]any
	_ = json.Unmarshal(a.body, &r)
	if r["expires_in"] != float64(60) {
		t.Fatalf("TokenTTLAsNumber: %s", a.body)
	}
}

func TestPutFile(t *testing.T) {
	e := start(t, sandbox.Options{MaxFileSize: 1024})
	tok := e.token()
	data := []byte("%PDF-1.7 hello")

	if a := e.put("not-a-token", "default/a/x.pdf", "application/pdf", data); a.status != 401 {
		t.Fatalf("unknown token: %d %s", a.status, a.body)
	}
	if a := e.put(tok, "default/teams/ab12/report-1.pdf", "application/pdf", data); a.status != 200 {
		t.Fatalf("put: %d %s", a.status, a.body)
	}
	f, ok := e.s.File("default/teams/ab12/report-1.pdf")
	if !ok || f.Size != int64(len(data)) || f.ContentType != "application/pdf" || f.Puts != 1 {
		t.Fatalf("stored %+v", f)
	}
	if b, err := os.ReadFile(e.s.FilePath(f.Key)); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("bytes on disk %q, %v", b, err)
	}
	// Same key again: 200, replaced.
	if a := e.put(tok, "default/teams/ab12/report-1.pdf", "text/plain; charset=utf-8", []byte("v2")); a.status != 200 {
		t.Fatalf("replace: %d %s", a.status, a.body)
	}
	if f, _ := e.s.File("default/teams/ab12/report-1.pdf"); f.Puts != 2 || f.Size != 2 || f.ContentType != "text/plain; charset=utf-8" {
		t.Fatalf("replaced %+v", f)
	}
	// Exactly MaxFileSize is accepted, one more byte is not.
	if a := e.put(tok, "default/big/max.bin", "application/octet-stream", make([]byte, 1024)); a.status != 200 {
		t.Fatalf("max size: %d %s", a.status, a.body)
	}

	bad := []struct {
		name, path, ctype string
		data              []byte
		status            int
		want              string
	}{
		{"no default", "teams/x.pdf", "application/pdf", data, 400, "default/"},
		{"only default", "default/", "application/pdf", data, 400, "segment 1 is empty"},
		{"empty segment", "default//x.pdf", "application/pdf", data, 400, "empty"},
		{"dot dot", "default/a/../x.pdf", "application/pdf", data, 400, `".."`},
		{"dot", "default/./x.pdf", "application/pdf", data, 400, `"."`},
		{"encoded slash", "default/a%2Fb/x.pdf", "application/pdf", data, 400, `'/'`},
		{"unicode", "default/t%C3%ABam/x.pdf", "application/pdf", data, 400, `'ë'`},
		{"space", "default/a%20b.pdf", "application/pdf", data, 400, `' '`},
		{"no content type", "default/a/x.pdf", "", data, 400, "Content-Type"},
		{"bad content type", "default/a/x.pdf", "pdf file", data, 400, "Content-Type"},
		{"too large", "default/a/x.bin", "application/octet-stream", make([]byte, 1025), 400, "exceeds 1.0 KB"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			a := e.put(tok, c.path, c.ctype, c.data)
			if a.status != c.status || !strings.Contains(a.message(), c.want) {
				t.Fatalf("got %d %s, want %d naming %q", a.status, a.body, c.status, c.want)
			}
		})
	}
	// Chunked: no Content-Length.
	chunked := e.do("PUT", "/v2/files/default/a/x.pdf", map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/pdf"},
		io.MultiReader(bytes.NewReader(data)), -1)
	if chunked.status != 411 {
		t.Fatalf("chunked: %d %s", chunked.status, chunked.body)
	}
	st := e.s.Stats()
	if st.Puts != 3 || st.PutsRejected != len(bad)+2 || len(e.s.Files()) != 2 {
		t.Fatalf("stats %+v, files %+v", st, e.s.Files())
	}
}

// validConversation references default/ok/a.pdf and is accepted once that is stored.
func validConversation(ms int64) map[string]any {
	return map[string]any{
		"conversationOverview": map[string]any{
			"conversationType": "TeamsExport", "initiatorName": "Jordan Davies", "createdAt": ms,
			"initialParticipants": []any{map[string]any{"displayName": "Jordan Davies", "userType": "initiator"}},
		},
		"conversationEvents": []any{
			map[string]any{
				"eventTime": ms, "eventType": "Message",
				"participants": []any{map[string]any{"displayName": "Jordan Davies", "corporateEmail": "jd@example.com", "userType": "initiator"}},
				"content":      map[string]any{"message": "take a look", "textType": "text/plain"},
			},
			map[string]any{
				"eventTime": ms, "eventType": "File_transfer", "systemText": "User shared a file.",
				"participants": []any{
					map[string]any{"displayName": "Jordan Davies", "userType": "initiator"},
					map[string]any{"displayName": "Lisa Holmes", "userType": "recipient"},
				},
				"files": []any{
					map[string]any{"filename": "a.pdf", "fileKey": "default/ok/a.pdf", "isInlined": false},
					map[string]any{"filename": "b.pdf", "fileKey": "default/external/b.pdf", "fileHref": "https://example.com/b.pdf", "isInlined": false},
				},
			},
		},
	}
}

func encode(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConversationValidation(t *testing.T) {
	e := start(t, sandbox.Options{ConversationType: "TeamsExport", MaxRequestBytes: 4096})
	tok := e.token()
	if a := e.put(tok, "default/ok/a.pdf", "application/pdf", []byte("pdf")); a.status != 200 {
		t.Fatalf("put: %d %s", a.status, a.body)
	}
	ms := time.Now().Add(-time.Hour).UnixMilli()
	ev := func(c map[string]any, i int) map[string]any {
		return c["conversationEvents"].([]any)[i].(map[string]any)
	}
	file := func(c map[string]any) map[string]any { return ev(c, 1)["files"].([]any)[0].(map[string]any) }
	part := func(c map[string]any, i, j int) map[string]any {
		return ev(c, i)["participants"].([]any)[j].(map[string]any)
	}

	cases := []struct {
		name   string
		change func(c map[string]any)
		want   string
	}{
		{"no overview", func(c map[string]any) { delete(c, "conversationOverview") }, "conversationOverview: missing"},
		{"no type", func(c map[string]any) { delete(c["conversationOverview"].(map[string]any), "conversationType") }, "conversationOverview.conversationType: missing"},
		{"other type", func(c map[string]any) { c["conversationOverview"].(map[string]any)["conversationType"] = "Slack" }, "conversationOverview.conversationType"},
		{"unknown overview field", func(c map[string]any) { c["conversationOverview"].(map[string]any)["platform"] = "x" }, `conversationOverview: unknown field "platform"`},
		{"unknown top field", func(c map[string]any) { c["extra"] = 1 }, `unknown field "extra"`},
		{"no events", func(c map[string]any) { c["conversationEvents"] = []any{} }, "conversationEvents: missing or empty"},
		{"null event", func(c map[string]any) { c["conversationEvents"].([]any)[1] = nil }, "conversationEvents[1]: null"},
		{"no eventTime", func(c map[string]any) { delete(ev(c, 0), "eventTime") }, "conversationEvents[0].eventTime: missing"},
		{"eventTime seconds", func(c map[string]any) { ev(c, 1)["eventTime"] = ms / 1000 }, "conversationEvents[1].eventTime: " + fmt.Sprint(ms/1000) + " looks like epoch seconds"},
		{"eventTime micros", func(c map[string]any) { ev(c, 1)["eventTime"] = ms * 1000 }, "conversationEvents[1].eventTime"},
		{"eventTime string", func(c map[string]any) { ev(c, 0)["eventTime"] = fmt.Sprint(ms) }, "conversationEvents[0].eventTime"},
		{"eventTime fraction", func(c map[string]any) { ev(c, 0)["eventTime"] = 1.5e12 + 0.5 }, "conversationEvents[0].eventTime"},
		{"eventTime 1999", func(c map[string]any) { ev(c, 0)["eventTime"] = int64(915148800000) }, "before 2000"},
		{"bad eventType", func(c map[string]any) { ev(c, 0)["eventType"] = "message" }, "conversationEvents[0].eventType"},
		{"unknown event field", func(c map[string]any) { ev(c, 1)["attachments"] = []any{} }, `conversationEvents[1]: unknown field "attachments"`},
		{"no participants", func(c map[string]any) { delete(ev(c, 1), "participants") }, "conversationEvents[1].participants: missing"},
		{"empty displayName", func(c map[string]any) { part(c, 1, 1)["displayName"] = " " }, "conversationEvents[1].participants[1].displayName"},
		{"bad userType", func(c map[string]any) { part(c, 1, 1)["userType"] = "sender" }, "conversationEvents[1].participants[1].userType"},
		{"two initiators", func(c map[string]any) { part(c, 1, 1)["userType"] = "initiator" }, "conversationEvents[1].participants[1].userType: a second initiator"},
		{"displayName number", func(c map[string]any) { part(c, 0, 0)["displayName"] = 7 }, "conversationEvents[0].participants.displayName: JSON number where a string"},
		{"message without content", func(c map[string]any) { delete(ev(c, 0), "content") }, "conversationEvents[0].content: missing"},
		{"empty message", func(c map[string]any) { ev(c, 0)["content"] = map[string]any{"message": ""} }, "conversationEvents[0].content.message"},
		{"files on message", func(c map[string]any) { ev(c, 0)["files"] = ev(c, 1)["files"] }, "conversationEvents[0].files: only File_transfer"},
		{"files on another event", func(c map[string]any) {
			ev(c, 0)["eventType"], ev(c, 0)["files"] = "User_joined", ev(c, 1)["files"]
		}, "conversationEvents[0].files: only File_transfer"},
		{"no files", func(c map[string]any) { delete(ev(c, 1), "files") }, "conversationEvents[1].files: missing"},
		{"no filename", func(c map[string]any) { delete(file(c), "filename") }, "conversationEvents[1].files[0].filename"},
		{"no fileKey", func(c map[string]any) { delete(file(c), "fileKey") }, "conversationEvents[1].files[0].fileKey: missing"},
		{"fileKey prefix", func(c map[string]any) { file(c)["fileKey"] = "ok/a.pdf" }, `conversationEvents[1].files[0].fileKey: "ok/a.pdf" does not start`},
		{"no isInlined", func(c map[string]any) { delete(file(c), "isInlined") }, "conversationEvents[1].files[0].isInlined: missing"},
		{"isInlined string", func(c map[string]any) { file(c)["isInlined"] = "false" }, "conversationEvents[1].files.isInlined"},
		{"bad fileHref", func(c map[string]any) {
			ev(c, 1)["files"].([]any)[1].(map[string]any)["fileHref"] = "b.pdf"
		}, "conversationEvents[1].files[1].fileHref"},
		{"missing key", func(c map[string]any) { file(c)["fileKey"] = "default/ok/never.pdf" }, `conversationEvents[1].files[0].fileKey: "default/ok/never.pdf" was never uploaded`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conv := validConversation(ms)
			c.change(conv)
			a := e.post(tok, encode(t, conv))
			if a.status != 400 || !strings.Contains(a.message(), c.want) {
				t.Fatalf("got %d %s\nwant 400 naming %q", a.status, a.body, c.want)
			}
		})
	}
	if n := len(e.s.Conversations()); n != 0 {
		t.Fatalf("%d conversations stored from rejected requests", n)
	}

	if a := e.post(tok, encode(t, validConversation(ms))+" {}"); a.status != 400 || !strings.Contains(a.message(), "trailing") {
		t.Fatalf("trailing data: %d %s", a.status, a.body)
	}
	big := validConversation(ms)
	ev(big, 0)["content"] = map[string]any{"message": strings.Repeat("x", 5000)}
	if a := e.post(tok, encode(t, big)); a.status != 413 {
		t.Fatalf("too large: %d %s", a.status, a.body)
	}
	a := e.do("POST", "/v2/conversations", map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "text/plain"},
		strings.NewReader(encode(t, validConversation(ms))), -1)
	if a.status != 415 {
		t.Fatalf("text/plain: %d %s", a.status, a.body)
	}

	a = e.post(tok, encode(t, validConversation(ms)))
	if a.status != 200 {
		t.Fatalf("valid: %d %s", a.status, a.body)
	}
	var ok struct{ ReconciliationID string }
	_ = json.Unmarshal(a.body, &ok)
	convs := e.s.Conversations()
	if len(convs) != 1 || convs[0].Seq != 1 || convs[0].Events != 2 || convs[0].ReconciliationID != ok.ReconciliationID || ok.ReconciliationID == "" {
		t.Fatalf("stored %+v, answer %s", convs, a.body)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "conversations", "000001.json")); err != nil {
		t.Fatal(err)
	}
	st := e.s.Stats()
	if st.Posts != 1 || st.PostsRejected != len(cases)+3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRestartReloads(t *testing.T) {
	dir := t.TempDir()
	e := start(t, sandbox.Options{Dir: dir})
	tok := e.token()
	for _, k := range []string{"default/ok/a.pdf", "default/w/b.txt", "default/w/deep/c.bin"} {
		if a := e.put(tok, k, "application/octet-stream", []byte(k)); a.status != 200 {
			t.Fatalf("put %s: %d %s", k, a.status, a.body)
		}
	}
	conv := encode(t, validConversation(time.Now().UnixMilli()))
	if a := e.post(tok, conv); a.status != 200 {
		t.Fatalf("post: %d %s", a.status, a.body)
	}
	// A leftover of an interrupted upload is not a file.
	if err := os.WriteFile(filepath.Join(dir, "tmp", "put-123"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}

	again, err := sandbox.New(sandbox.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(again.Files()), fmt.Sprint(e.s.Files()); got != want {
		t.Fatalf("after restart files\n%s\nwant\n%s", got, want)
	}
	if c := again.Conversations(); len(c) != 1 || c[0].ReconciliationID != e.s.Conversations()[0].ReconciliationID || c[0].Events != 2 {
		t.Fatalf("after restart conversations %+v", c)
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp", "put-123")); !os.IsNotExist(err) {
		t.Fatalf("tmp leftover kept: %v", err)
	}
	// Tokens do not survive a restart, stored files do: a request referencing them passes.
	e2 := &env{t: t, s: again, dir: dir}
	e2.base, err = again.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if a := e2.post(tok, conv); a.status != 401 {
		t.Fatalf("old token after restart: %d", a.status)
	}
	if a := e2.post(e2.token(), conv); a.status != 200 {
		t.Fatalf("post after restart: %d %s", a.status, a.body)
	}
	if c := again.Conversations(); len(c) != 2 || c[1].Seq != 2 {
		t.Fatalf("seq after restart: %+v", c)
	}
	files, convs, err := sandbox.Load(dir)
	if err != nil || len(files) != 3 || len(convs) != 2 {
		t.Fatalf("Load: %d files, %d conversations, %v", len(files), len(convs), err)
	}
}

// A record cut short by a crash is dropped on restart, the file it described is not stored,
// and the next record still reads; the same key PUT concurrently counts every put.
func TestFilesLogTornLineAndConcurrentPuts(t *testing.T) {
	dir := t.TempDir()
	e := start(t, sandbox.Options{Dir: dir})
	tok := e.token()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if a := e.put(tok, "default/w/same.txt", "text/plain", []byte("same")); a.status != 200 {
				t.Errorf("put same: %d %s", a.status, a.body)
			}
			if a := e.put(tok, fmt.Sprintf("default/w/%d/own.txt", i), "text/plain", []byte{byte(i)}); a.status != 200 {
				t.Errorf("put own: %d %s", a.status, a.body)
			}
		})
	}
	wg.Wait()
	if f, ok := e.s.File("default/w/same.txt"); !ok || f.Puts != 8 {
		t.Fatalf("same key: %+v %v, want 8 puts", f, ok)
	}
	log := filepath.Join(dir, "files.jsonl")
	lf, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lf.WriteString(`{"key":"default/w/torn.txt","si`); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	if files, _, err := sandbox.Load(dir); err != nil || len(files) != 9 {
		t.Fatalf("Load beside a torn line: %d files, %v", len(files), err)
	}

	again, err := sandbox.New(sandbox.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e2 := &env{t: t, s: again, dir: dir}
	if e2.base, err = again.Start(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if a := e2.put(e2.token(), "default/w/after.txt", "text/plain", []byte("after")); a.status != 200 {
		t.Fatalf("put after restart: %d %s", a.status, a.body)
	}
	files, _, err := sandbox.Load(dir)
	if err != nil || len(files) != 10 {
		t.Fatalf("Load after restart: %d files, %v", len(files), err)
	}
	if f, _ := again.File("default/w/same.txt"); f.Puts != 8 {
		t.Fatalf("same key after restart: %+v", f)
	}
}

// A sandbox directory from before files.jsonl keeps its files: meta/<key>@meta.json is read.
func TestLegacyMetaFiles(t *testing.T) {
	dir := t.TempDir()
	key := "default/w/old.txt"
	for p, b := range map[string]string{
		"files/" + key:                      "old",
		"meta/" + key + "@meta.json":        `{"key":"default/w/old.txt","size":3,"contentType":"text/plain","sha256":"x","puts":2}`,
		"meta/default/w/gone.txt@meta.json": `{"key":"default/w/gone.txt","size":3}`,
	} {
		p = filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := sandbox.New(sandbox.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if f := s.Files(); len(f) != 1 || f[0].Key != key || f[0].Puts != 2 {
		t.Fatalf("legacy files: %+v", f)
	}
}

func TestKeyConflict(t *testing.T) {
	e := start(t, sandbox.Options{})
	tok := e.token()
	if a := e.put(tok, "default/a", "text/plain", []byte("a")); a.status != 200 {
		t.Fatalf("put: %d %s", a.status, a.body)
	}
	if a := e.put(tok, "default/a/b", "text/plain", []byte("b")); a.status != 409 {
		t.Fatalf("conflict: %d %s", a.status, a.body)
	}
}

func TestFaults(t *testing.T) {
	e := start(t, sandbox.Options{})
	tok := e.token()
	e.s.SetFaults(sandbox.Faults{FailRate: 1})
	if a, b := e.put(tok, "default/a/x", "text/plain", []byte("x")), e.put(tok, "default/a/x", "text/plain", []byte("x")); a.status+b.status != 500+503 {
		t.Fatalf("FailRate 1: %d, %d; want 500 and 503", a.status, b.status)
	}
	// Faults spare the token endpoint unless TokenToo.
	e.token()

	e.s.SetFaults(sandbox.Faults{Rate429: 1, RetryAfter: 2500 * time.Millisecond})
	if a := e.put(tok, "default/a/x", "text/plain", []byte("x")); a.status != 429 || a.header.Get("Retry-After") != "3" {
		t.Fatalf("429: %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}

	e.s.SetFaults(sandbox.Faults{ResetRate: 1})
	req, _ := http.NewRequest("POST", e.base+"/v2/conversations", strings.NewReader("{}"))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("ResetRate 1: answered %s", resp.Status)
	}

	// Admin route: down for a minute, token endpoint too; then {} clears every fault.
	a := e.do("POST", "/sandbox/faults", nil, strings.NewReader(`{"downFor": "1m", "tokenToo": true}`), -1)
	if a.status != 200 {
		t.Fatalf("POST /sandbox/faults: %d %s", a.status, a.body)
	}
	if a := e.do("POST", "/oauth2/token", nil, strings.NewReader(""), -1); a.status != 503 || a.header.Get("Retry-After") == "" {
		t.Fatalf("down: %d %s", a.status, a.body)
	}
	if a := e.do("POST", "/sandbox/faults", nil, strings.NewReader(`{"failRate": 2}`), -1); a.status != 400 || !strings.Contains(a.message(), "failRate") {
		t.Fatalf("bad faults: %d %s", a.status, a.body)
	}
	if a := e.do("POST", "/sandbox/faults", nil, strings.NewReader(`{}`), -1); a.status != 200 {
		t.Fatalf("clear faults: %d %s", a.status, a.body)
	}
	if a := e.put(tok, "default/a/x", "text/plain", []byte("x")); a.status != 200 {
		t.Fatalf("after clearing: %d %s", a.status, a.body)
	}

	e.s.SetFaults(sandbox.Faults{SlowRate: 1, Slow: 50 * time.Millisecond})
	began := time.Now()
	if a := e.put(tok, "default/a/x", "text/plain", []byte("x")); a.status != 200 || time.Since(began) < 50*time.Millisecond {
		t.Fatalf("slow: %d after %v", a.status, time.Since(began))
	}
	if st := e.s.Stats(); st.FaultsInjected != 6 {
		t.Fatalf("FaultsInjected %d, want 6", st.FaultsInjected)
	}
}

func TestAdminRoutes(t *testing.T) {
	e := start(t, sandbox.Options{})
	tok := e.token()
	e.put(tok, "default/z/2.txt", "text/plain", []byte("2"))
	e.put(tok, "default/a/1.txt", "text/plain", []byte("1"))
	var files []sandbox.File
	if err := json.Unmarshal(e.do("GET", "/sandbox/files", nil, nil, -1).body, &files); err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Key != "default/a/1.txt" || files[0].SHA256 == "" {
		t.Fatalf("files %+v", files)
	}
	var st sandbox.Stats
	if err := json.Unmarshal(e.do("GET", "/sandbox/stats", nil, nil, -1).body, &st); err != nil || st.Puts != 2 || st.TokensIssued != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
	if a := e.do("GET", "/nowhere", nil, nil, -1); a.status != 404 {
		t.Fatalf("unknown path: %d", a.status)
	}
}

// Nothing the sandbox logs or stores holds the credential or a token.
func TestSecretsNeverStoredOrLogged(t *testing.T) {
	var buf syncBuffer
	logger := logrus.New()
	logger.SetOutput(&buf)
	logger.SetLevel(logrus.DebugLevel)
	e := start(t, sandbox.Options{Logger: logger})
	tok := e.token()
	e.put(tok, "default/ok/a.pdf", "application/pdf", []byte("pdf"))
	e.put(tok, "default/ok/../a.pdf", "application/pdf", []byte("pdf"))
	e.post(tok, encode(t, validConversation(time.Now().UnixMilli())))
	e.post(tok, `{"conversationEvents": []}`)
	e.do("POST", "/oauth2/token", map[string]string{"Authorization": "Basic wrong" + testCreds}, nil, -1)
	e.s.RevokeTokens()
	e.put(tok, "default/ok/b.pdf", "application/pdf", []byte("pdf"))

	if buf.String() == "" {
		t.Fatal("nothing logged")
	}
	for _, secret := range []string{testCreds, tok} {
		if strings.Contains(buf.String(), secret) {
			t.Fatalf("log holds a secret:\n%s", buf.String())
		}
		err := filepath.WalkDir(e.dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err == nil && bytes.Contains(b, []byte(secret)) {
				return fmt.Errorf("%s holds a secret", p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A memory sandbox validates and records like a disk one but writes nothing for the Global
// Relay API: it is the benchmarks' sink that is not the bottleneck.
func TestMemoryStore(t *testing.T) {
	dir := t.TempDir()
	e := start(t, sandbox.Options{Dir: dir, Memory: true, MaxFileSize: 1024})
	tok := e.token()
	data := []byte("%PDF-1.7 hello")
	sum := sha256.Sum256(data)
	if a := e.put(tok, "default/ok/a.pdf", "application/pdf", data); a.status != 200 {
		t.Fatalf("put: %d %s", a.status, a.body)
	}
	if f, ok := e.s.File("default/ok/a.pdf"); !ok || f.Size != int64(len(data)) || f.SHA256 != hex.EncodeToString(sum[:]) || f.Puts != 1 {
		t.Fatalf("stored %+v", f)
	}
	if a := e.put(tok, "default/ok/big.bin", "application/octet-stream", make([]byte, 1025)); a.status == 200 {
		t.Fatal("a file over MaxFileSize was accepted")
	}
	if a := e.put(tok, "default/w/b.txt", "text/plain", []byte("default/w/b.txt")); a.status != 200 {
		t.Fatalf("put: %d %s", a.status, a.body)
	}
	if a := e.put(tok, "default/w/deep/c.bin", "application/octet-stream", []byte("default/w/deep/c.bin")); a.status != 200 {
		t.Fatalf("put: %d %s", a.status, a.body)
	}
	if a := e.post(tok, encode(t, validConversation(time.Now().UnixMilli()))); a.status != 200 {
		t.Fatalf("post: %d %s", a.status, a.body)
	}
	if c := e.s.Conversations(); len(c) != 1 || c[0].Events != 2 {
		t.Fatalf("conversations %+v", c)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		switch en.Name() {
		case "files", "files.jsonl", "conversations", "tmp":
			t.Errorf("memory sandbox wrote %s", en.Name())
		}
	}
}

// An unhashed memory store takes a body whole, records its size and no hash, and still
// refuses a body cut short of its Content-Length and a conversation naming a missing key.
func TestMemoryStoreUnhashed(t *testing.T) {
	e := start(t, sandbox.Options{Dir: t.TempDir(), Memory: true, Unhashed: true})
	tok := e.token()
	data := []byte("%PDF-1.7 hello")
	if a := e.put(tok, "default/ok/a.pdf", "application/pdf", data); a.status != 200 {
		t.Fatalf("put: %d %s", a.status, a.body)
	}
	if f, ok := e.s.File("default/ok/a.pdf"); !ok || f.Size != int64(len(data)) || f.SHA256 != "" || f.Puts != 1 {
		t.Fatalf("stored %+v, want the size and no hash", f)
	}
	req, err := http.NewRequest(http.MethodPut, e.base+"/v2/files/default/ok/short.bin", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 10
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/octet-stream")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if _, ok := e.s.File("default/ok/short.bin"); ok {
		t.Fatal("a body cut short of its Content-Length was stored")
	}
}
