package genesys_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/genesys"
	"github.com/archivist-project/archivist/archive/sandbox"
)

const (
	testUser   = "agent7"
	testPass   = "gws-top-secret-password"
	testChat   = "0001PaBMYY3600R8"
	testFileID = "57904eb6-5352-4c5e-adf6-5f100572cf54"
)

type env struct {
	s    *sandbox.Server
	base string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s, err := sandbox.New(sandbox.Options{Dir: t.TempDir(), GenesysUser: testUser, GenesysPassword: testPass})
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &env{s: s, base: base}
}

func (e *env) client(t *testing.T, mod func(*genesys.Options)) *genesys.Client {
	t.Helper()
	o := genesys.Options{Name: "genesys", URL: e.base, Username: testUser, Password: testPass, ChatID: testChat}
	if mod != nil {
		mod(&o)
	}
	c, err := genesys.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func memFile(content []byte, text string) *forward.File {
	sum := sha256.Sum256(content)
	return &forward.File{
		ID: testFileID, Name: "minutes \"draft\".txt", Size: int64(len(content)), MIME: "text/plain; charset=utf-8",
		SHA256: hex.EncodeToString(sum[:]), Time: time.Now(), Text: text,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil },
	}
}

func TestForwardUploadsAndShares(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	content := make([]byte, 200_000)
	_, _ = rand.Read(content)
	f := memFile(content, "for the record")
	f.ChatID = "0001ChatFromTranscript"

	r, err := c.Forward(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	ups := e.s.GenesysUploads()
	if len(ups) != 1 {
		t.Fatalf("%d uploads", len(ups))
	}
	u := ups[0]
	if r.RemoteID != u.DocumentID || u.ChatID != f.ChatID || u.FileName != f.Name || u.ContentType != f.MIME ||
		u.Size != f.Size || u.SHA256 != f.SHA256 || u.Shared != 1 || len(u.Texts) != 1 || u.Texts[0] != "for the record" {
		t.Errorf("receipt %+v, upload %+v", r, u)
	}
	if b, err := os.ReadFile(u.Path); err != nil || !bytes.Equal(b, content) {
		t.Errorf("stored bytes differ (err %v)", err)
	}
	if st := e.s.Stats(); st.GenesysUploads != 1 || st.GenesysShares != 1 || st.GenesysRejected != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRefuseWithoutChatSendsNothing(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, func(o *genesys.Options) { o.ChatID = "" })
	f := memFile([]byte("x"), "")
	f.Open = func() (io.ReadCloser, error) { t.Error("Open called"); return nil, errors.New("no") }
	_, err := c.Forward(t.Context(), f)
	var le *failure.LocalError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "no chat id") {
		t.Fatalf("err = %v", err)
	}
	f.ChatID = "../etc"
	if err := c.Refuse(f); err == nil {
		t.Error("a chat id that is not letters and digits was accepted")
	}
	if st := e.s.Stats(); st != (sandbox.Stats{}) {
		t.Errorf("stats = %+v", st)
	}
}

func TestWrongPasswordIsAuth(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, func(o *genesys.Options) { o.Password = "wrong" })
	_, err := c.Forward(t.Context(), memFile([]byte("x"), ""))
	var he *failure.HTTPError
	if !errors.As(err, &he) || he.Code != "20" || failure.Classify(err) != failure.Auth {
		t.Fatalf("err = %v, want statusCode 20 classified Auth", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error reveals the password: %v", err)
	}
}

// failingChats fails the first UploadFile request in transport, as a lost connection would.
type failingChats struct {
	next  http.RoundTripper
	fails atomic.Int32
}

func (f *failingChats) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/chats/") && f.fails.Add(1) == 1 {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, errors.New("connection reset (test)")
	}
	return f.next.RoundTrip(r)
}

func TestRetryAfterFailedShareReusesTheDocument(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, func(o *genesys.Options) {
		o.HTTPClient = &http.Client{Transport: &failingChats{next: http.DefaultTransport}}
	})
	f := memFile([]byte("hello"), "")
	_, err := c.Forward(t.Context(), f)
	var pe *genesys.PartialError
	if !errors.As(err, &pe) || pe.DocumentID == "" || failure.Classify(err) != failure.Transient {
		t.Fatalf("first attempt: %v, want a transient PartialError", err)
	}
	r, err := c.Forward(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if r.RemoteID != pe.DocumentID || !strings.Contains(r.Detail, "earlier attempt") {
		t.Errorf("receipt = %+v, want document %s", r, pe.DocumentID)
	}
	if st := e.s.Stats(); st.GenesysUploads != 1 || st.GenesysShares != 1 {
		t.Errorf("stats = %+v, want the bytes uploaded once", st)
	}
}

func TestNonZeroStatusCodeUnderHTTP200IsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/attachments") {
			io.WriteString(w, `{"statusCode":0,"documentId":"DOC1"}`)
			return
		}
		io.WriteString(w, `{"statusCode":3,"statusMessage":"invalid chat"}`)
	}))
	defer srv.Close()
	c, err := genesys.New(genesys.Options{Name: "g", URL: srv.URL, Username: "u", Password: "p", ChatID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Forward(t.Context(), memFile([]byte("x"), ""))
	var he *failure.HTTPError
	if !errors.As(err, &he) || he.Code != "3" || failure.Classify(err) != failure.Permanent {
		t.Fatalf("err = %v, want statusCode 3 classified Permanent", err)
	}
}

func TestServerErrorIsTransient(t *testing.T) {
	e := newEnv(t)
	e.s.SetFaults(sandbox.Faults{FailRate: 1})
	_, err := e.client(t, nil).Forward(t.Context(), memFile([]byte("x"), ""))
	if failure.Classify(err) != failure.Transient {
		t.Fatalf("err = %v (class %v), want Transient", err, failure.Classify(err))
	}
}
