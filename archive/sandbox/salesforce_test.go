package sandbox_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/sandbox"
)

var (
	sfKeyOnce sync.Once
	sfKey     *rsa.PrivateKey
)

func salesforceKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	sfKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		sfKey = k
	})
	return sfKey
}

// jwt signs claims with k, by hand: these tests speak the wire format independently of
// archive/salesforce.
func jwt(t *testing.T, k *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	cb, _ := json.Marshal(claims)
	signing := enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(cb)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc(sig)
}

func goodClaims() map[string]any {
	return map[string]any{"iss": "consumer-key", "sub": "user@example.com", "aud": "https://login.salesforce.com",
		"exp": time.Now().Add(3 * time.Minute).Unix()}
}

func startSalesforce(t *testing.T) *env {
	t.Helper()
	return start(t, sandbox.Options{SalesforcePublicKey: &salesforceKey(t).PublicKey, SalesforceClientID: "consumer-key"})
}

func (e *env) sfToken(assertion string) answer {
	e.t.Helper()
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}.Encode()
	return e.do("POST", "/services/oauth2/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader(form), -1)
}

func (e *env) sfAccessToken() string {
	e.t.Helper()
	a := e.sfToken(jwt(e.t, salesforceKey(e.t), goodClaims()))
	var r struct {
		AccessToken string `json:"access_token"`
	}
	if a.status != 200 || json.Unmarshal(a.body, &r) != nil || r.AccessToken == "" {
		e.t.Fatalf("token: %d %s", a.status, a.body)
	}
	return r.AccessToken
}

func TestSalesforceTokenChecksTheAssertion(t *testing.T) {
	e := startSalesforce(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	with := func(k string, v any) map[string]any { c := goodClaims(); c[k] = v; return c }
	tests := []struct {
		name, assertion, want string
	}{
		{"wrong key", jwt(t, other, goodClaims()), "does not verify"},
		{"expired", jwt(t, salesforceKey(t), with("exp", time.Now().Add(-time.Minute).Unix())), "has passed"},
		{"exp too far", jwt(t, salesforceKey(t), with("exp", time.Now().Add(time.Hour).Unix())), "short-lived"},
		{"wrong iss", jwt(t, salesforceKey(t), with("iss", "someone-else")), "iss"},
		{"no sub", jwt(t, salesforceKey(t), with("sub", "")), "sub: missing"},
		{"not a JWT", "abc.def", "parts"},
		{"two audiences", jwt(t, salesforceKey(t), with("aud", []string{"a", "b"})), "aud: want a string"},
		{"no exp", jwt(t, salesforceKey(t), with("exp", "soon")), "exp: missing"},
		{"claims not base64url", "eyJhbGciOiJSUzI1NiJ9.***.c2ln", "claims: not unpadded base64url"},
		{"HS256", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", `header.alg: "HS256"`},
		{"no signature", strings.TrimRight(jwt(t, salesforceKey(t), goodClaims()), "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"), "signature: empty"},
	}
	for _, tt := range tests {
		a := e.sfToken(tt.assertion)
		var r struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		_ = json.Unmarshal(a.body, &r)
		if a.status != 400 || r.Error != "invalid_grant" || !strings.Contains(r.ErrorDescription, tt.want) {
			t.Errorf("%s: %d %s, want 400 mentioning %q", tt.name, a.status, a.body, tt.want)
		}
	}
	if e.sfAccessToken() == "" {
		t.Fatal("no token for a good assertion")
	}
}

func TestSalesforceKeyPEMForms(t *testing.T) {
	k := salesforceKey(t)
	pkix, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	for typ, der := range map[string][]byte{"PUBLIC KEY": pkix, "RSA PUBLIC KEY": x509.MarshalPKCS1PublicKey(&k.PublicKey)} {
		got, err := sandbox.ParseRSAPublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
		if err != nil || !got.Equal(&k.PublicKey) {
			t.Errorf("%s: %v", typ, err)
		}
	}
	if _, err := sandbox.ParseRSAPublicKeyPEM([]byte("nope")); err == nil {
		t.Error("no error for junk")
	}
}

// sfPart is one part of a hand-built interactions request.
type sfPart struct {
	name, filename, contentType string
	data                        []byte
}

func (e *env) sfPost(tok string, header map[string]string, parts ...sfPart) (int, int, string) {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p.name)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, _ := mw.CreatePart(h)
		w.Write(p.data)
	}
	mw.Close()
	hdr := map[string]string{
		"Authorization": "Bearer " + tok, "Content-Type": mw.FormDataContentType(), "Accept": "application/json",
		"OrgId": "00D5g000000ABCD", "AuthorizationContext": "Partner1_Channel", "RequestId": "f7904eb6-5352-4c5e-adf6-5f100572cf5d",
	}
	for k, v := range header {
		if v == "" {
			delete(hdr, k)
		} else {
			hdr[k] = v
		}
	}
	a := e.do("POST", "/api/v1/interactions", hdr, bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	var r struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(a.body, &r)
	return a.status, r.Code, r.Message
}

func attachmentJSON(contentLength any) sfPart {
	inter := map[string]any{"interactionType": "AttachmentInteraction", "timestamp": time.Now().UnixMilli(),
		"id": "57904eb6-5352-4c5e-adf6-5f100572cf54", "attachmentIndex": 0}
	if contentLength != nil {
		inter["contentLength"] = contentLength
	}
	b, _ := json.Marshal(map[string]any{"to": "channel-1", "from": "user-1", "interactions": []any{inter}})
	return sfPart{name: "json", contentType: "application/json", data: b}
}

func TestSalesforceInteractionsValidation(t *testing.T) {
	e := startSalesforce(t)
	tok := e.sfAccessToken()
	pdf := []byte("%PDF-1.7 tiny")
	file := sfPart{name: "attachments", filename: "a.pdf", contentType: "application/pdf", data: pdf}
	big := sfPart{name: "attachments", filename: "big.pdf", contentType: "application/pdf", data: make([]byte, 25<<20+1)}
	tests := []struct {
		name   string
		header map[string]string
		parts  []sfPart
		status int
		code   int
	}{
		{"accepted", nil, []sfPart{attachmentJSON(len(pdf)), file}, 202, 0},
		{"unknown token", map[string]string{"Authorization": "Bearer nope"}, []sfPart{attachmentJSON(len(pdf)), file}, 401, 10004},
		{"short OrgId", map[string]string{"OrgId": "00D"}, []sfPart{attachmentJSON(len(pdf)), file}, 400, 10016},
		{"no AuthorizationContext", map[string]string{"AuthorizationContext": ""}, []sfPart{attachmentJSON(len(pdf)), file}, 400, 10016},
		{"RequestId not a GUID", map[string]string{"RequestId": "123"}, []sfPart{attachmentJSON(len(pdf)), file}, 400, 10016},
		{"wrong contentLength", nil, []sfPart{attachmentJSON(len(pdf) + 1), file}, 400, 10051},
		{"missing contentLength", nil, []sfPart{attachmentJSON(nil), file}, 400, 10010},
		{"no attachment", nil, []sfPart{attachmentJSON(len(pdf))}, 400, 10011},
		{"two attachments", nil, []sfPart{attachmentJSON(len(pdf)), file, file}, 400, 10011},
		{"empty file", nil, []sfPart{attachmentJSON(0), {name: "attachments", filename: "e.pdf", contentType: "application/pdf"}}, 400, 10009},
		{"over 25 MB", nil, []sfPart{attachmentJSON(len(big.data)), big}, 400, 10008},
		{"MIME not accepted", nil, []sfPart{attachmentJSON(len(pdf)), {name: "attachments", filename: "a.txt", contentType: "text/plain", data: pdf}}, 400, 10095},
		{"two json parts", nil, []sfPart{attachmentJSON(len(pdf)), attachmentJSON(len(pdf)), file}, 400, 10089},
		{"unknown part", nil, []sfPart{attachmentJSON(len(pdf)), file, {name: "extra", data: []byte("x")}}, 400, 10089},
		{"no json part", nil, []sfPart{file}, 400, 10100},
	}
	for _, tt := range tests {
		status, code, msg := e.sfPost(tok, tt.header, tt.parts...)
		if status != tt.status || code != tt.code {
			t.Errorf("%s: %d code %d (%s), want %d code %d", tt.name, status, code, msg, tt.status, tt.code)
		}
	}
	recs := e.s.SalesforceInteractions()
	if len(recs) != 1 || recs[0].Size != int64(len(pdf)) {
		t.Fatalf("records = %+v", recs)
	}
	if st := e.s.Stats(); st.SalesforceInteractions != 1 || st.SalesforceRejected != len(tests)-1 {
		t.Errorf("stats = %+v", st)
	}
	// Records survive a restart.
	s2, err := sandbox.New(sandbox.Options{Dir: e.dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.SalesforceInteractions(); len(got) != 1 || got[0].SHA256 != recs[0].SHA256 {
		t.Errorf("after reload: %+v", got)
	}
}

func TestSalesforceDeliveryFailedEntry(t *testing.T) {
	e := startSalesforce(t)
	tok := e.sfAccessToken()
	entry := func(mod func(p map[string]any)) sfPart {
		p := map[string]any{"id": "a133c185-73a7-4adf-b6d9-b7fd62babb4e", "entryType": "MessageDeliveryFailed",
			"failedConversationEntryIdentifier": "57904eb6-5352-4c5e-adf6-5f100572cf54",
			"recipient":                         map[string]any{"appType": "custom", "subject": "user-1", "role": "EndUser"},
			"errorCode":                         "10008"}
		if mod != nil {
			mod(p)
		}
		b, _ := json.Marshal(map[string]any{"to": "channel-1", "from": "user-1", "interactions": []any{
			map[string]any{"interactionType": "EntryInteraction", "timestamp": time.Now().UnixMilli(), "payload": p}}})
		return sfPart{name: "json", contentType: "application/json", data: b}
	}
	if status, code, msg := e.sfPost(tok, nil, entry(nil)); status != 202 {
		t.Fatalf("entry: %d %d %s", status, code, msg)
	}
	for name, mod := range map[string]func(map[string]any){
		"agent recipient": func(p map[string]any) {
			p["recipient"] = map[string]any{"appType": "custom", "subject": "user-1", "role": "Agent"}
		},
		"no errorCode": func(p map[string]any) { delete(p, "errorCode") },
		"recipient not the sender": func(p map[string]any) {
			p["recipient"] = map[string]any{"appType": "custom", "subject": "user-2", "role": "EndUser"}
		},
		"no recipient":     func(p map[string]any) { delete(p, "recipient") },
		"errorCode object": func(p map[string]any) { p["errorCode"] = map[string]any{"code": 1} },
	} {
		if status, _, msg := e.sfPost(tok, nil, entry(mod)); status != 400 {
			t.Errorf("%s: %d %s, want 400", name, status, msg)
		}
	}
	recs := e.s.SalesforceInteractions()
	if len(recs) != 1 || recs[0].EntryType != "MessageDeliveryFailed" || recs[0].ErrorCode != "10008" {
		t.Errorf("records = %+v", recs)
	}
}
