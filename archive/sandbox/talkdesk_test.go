package sandbox_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/archivist-project/archivist/archive/sandbox"
)

func (e *env) tdToken(scope string) string {
	e.t.Helper()
	a := e.do("POST", "/oauth/token", map[string]string{
		"Authorization": genesysAuth("td-id", "td-secret"), "Content-Type": "application/x-www-form-urlencoded",
	}, strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}.Encode()), -1)
	var r struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if a.status != 200 || json.Unmarshal(a.body, &r) != nil || r.AccessToken == "" || r.ExpiresIn != 600 {
		e.t.Fatalf("token: %d %s", a.status, a.body)
	}
	return r.AccessToken
}

func (e *env) tdPost(tok, path, body string) answer {
	e.t.Helper()
	return e.do("POST", path, map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"},
		strings.NewReader(body), -1)
}

// tdLink asks for an upload link and returns its request id and its path and query on
// the sandbox.
func (e *env) tdLink(tok string) (string, string) {
	e.t.Helper()
	a := e.tdPost(tok, "/attachments/2023-03/upload-link", `{}`)
	var r struct {
		RequestID string `json:"request_id"`
		URL       string `json:"url"`
	}
	if a.status != 200 || json.Unmarshal(a.body, &r) != nil || r.RequestID == "" {
		e.t.Fatalf("upload-link: %d %s", a.status, a.body)
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.RequestID, u.RequestURI()
}

func TestTalkdeskUploadFlow(t *testing.T) {
	e := start(t, sandbox.Options{TalkdeskClientID: "td-id", TalkdeskClientSecret: "td-secret"})
	tok := e.tdToken("attachments:request attachments:write")
	data := []byte("image bytes")

	if a := e.tdPost(e.tdToken("attachments:write"), "/attachments/2023-03/upload-link", `{}`); a.status != 403 {
		t.Errorf("upload-link without attachments:request: %d", a.status)
	}
	reqID, link := e.tdLink(tok)
	if a := e.do("PUT", link, map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "image/png"}, bytes.NewReader(data), int64(len(data))); a.status != 400 {
		t.Errorf("PUT with Authorization: %d, want 400", a.status)
	}
	create := func(name string, size int) answer {
		return e.tdPost(tok, "/attachments/2023-03", `{"name":"`+name+`","request_id":"`+reqID+`","metadata":{"name":"a.png","size":`+itoa(size)+`,"type":"image/png","flow_id":"F1"}}`)
	}
	if a := create("a.png", len(data)); a.status != 400 {
		t.Errorf("create before the PUT: %d %s, want 400", a.status, a.body)
	}
	if a := e.do("PUT", link, map[string]string{"Content-Type": "image/png"}, bytes.NewReader(data), int64(len(data))); a.status != 200 {
		t.Fatalf("PUT: %d %s", a.status, a.body)
	}
	if a := e.do("PUT", link, map[string]string{"Content-Type": "image/png"}, bytes.NewReader(data), int64(len(data))); a.status != 403 {
		t.Errorf("second PUT: %d, want 403 (one-time link)", a.status)
	}
	if a := create("a.png", len(data)+1); a.status != 400 || !strings.Contains(string(a.body), "metadata.size") {
		t.Errorf("wrong size: %d %s", a.status, a.body)
	}
	if a := create("a.png", len(data)); a.status != 200 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	// Same name from a new upload: 409.
	reqID, link = e.tdLink(tok)
	e.do("PUT", link, map[string]string{"Content-Type": "image/png"}, bytes.NewReader(data), int64(len(data)))
	if a := create("a.png", len(data)); a.status != 409 {
		t.Errorf("duplicate name: %d %s, want 409", a.status, a.body)
	}
	as := e.s.TalkdeskAttachments()
	if len(as) != 1 || as[0].Size != int64(len(data)) || as[0].Name != "a.png" {
		t.Errorf("attachments = %+v", as)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestTalkdeskPutRefusals(t *testing.T) {
	e := start(t, sandbox.Options{TalkdeskClientID: "td-id", TalkdeskClientSecret: "td-secret"})
	tok := e.tdToken("attachments:request attachments:write")
	data := []byte("image bytes")
	_, link := e.tdLink(tok)
	for name, c := range map[string]struct {
		link, ctype string
		status      int
		want        string
	}{
		"wrong signature": {strings.Replace(link, "Signature=", "Signature=0", 1), "image/png", 403, "signature does not match"},
		"unknown link":    {"/storage/talkdesk/nope?X-Sandbox-Signature=x", "image/png", 403, "signature does not match"},
		"not a MIME type": {link, "image/", 400, "is not a MIME type"},
		"no content type": {link, "", 400, "is not a MIME type"},
	} {
		h := map[string]string{}
		if c.ctype != "" {
			h["Content-Type"] = c.ctype
		}
		a := e.do("PUT", c.link, h, bytes.NewReader(data), int64(len(data)))
		if a.status != c.status || !strings.Contains(string(a.body), c.want) {
			t.Errorf("%s: %d %s, want %d naming %q", name, a.status, a.body, c.status, c.want)
		}
	}
	if a := e.do("PUT", link, map[string]string{"Content-Type": "image/png"}, bytes.NewReader(data), int64(len(data))); a.status != 200 {
		t.Fatalf("the link still takes its upload after the refusals: %d %s", a.status, a.body)
	}
	if a := e.tdPost(tok, "/attachments/2023-03/upload-link", `{"allowed_mime_types":["image/png"],"x":1}`); a.status != 400 ||
		!strings.Contains(string(a.body), `unknown field \"x\"`) {
		t.Errorf("upload-link with an unknown field: %d %s", a.status, a.body)
	}
}

func TestForwardTokenGrants(t *testing.T) {
	e := start(t, sandbox.Options{TalkdeskClientID: "td-id", TalkdeskClientSecret: "td-secret"})
	post := func(path string, auth bool, form url.Values) (int, string) {
		h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		if auth {
			h["Authorization"] = genesysAuth("td-id", "td-secret")
		}
		a := e.do("POST", path, h, strings.NewReader(form.Encode()), -1)
		var r struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(a.body, &r)
		return a.status, r.Error
	}
	for name, c := range map[string]struct {
		path string
		auth bool
		form url.Values
		want string
	}{
		"talkdesk password grant":  {"/oauth/token", true, url.Values{"grant_type": {"password"}, "scope": {"attachments:write"}}, "unsupported_grant_type"},
		"talkdesk extra field":     {"/oauth/token", true, url.Values{"grant_type": {"client_credentials"}, "user": {"x"}}, "invalid_request"},
		"salesforce refresh grant": {"/services/oauth2/token", false, url.Values{"grant_type": {"refresh_token"}}, "unsupported_grant_type"},
		"salesforce extra field":   {"/services/oauth2/token", false, url.Values{"grant_type": {"refresh_token"}, "scope": {"x"}}, "invalid_request"},
	} {
		if status, code := post(c.path, c.auth, c.form); status != 400 || code != c.want {
			t.Errorf("%s: %d %q, want 400 %q", name, status, code, c.want)
		}
	}
}
