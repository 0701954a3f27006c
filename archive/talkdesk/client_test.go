package talkdesk_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/archive/talkdesk"
)

const (
	testClientID = "td-client"
	testSecret   = "td-very-secret-client-secret"
	testFileID   = "57904eb6-5352-4c5e-adf6-5f100572cf54"
)

type env struct {
	s    *sandbox.Server
	base string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s, err := sandbox.New(sandbox.Options{Dir: t.TempDir(), TalkdeskClientID: testClientID, TalkdeskClientSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &env{s: s, base: base}
}

func (e *env) client(t *testing.T, mod func(*talkdesk.Options)) *talkdesk.Client {
	t.Helper()
	o := talkdesk.Options{Name: "talkdesk", URL: e.base, TokenURL: e.base + "/oauth/token", ClientID: testClientID, ClientSecret: testSecret}
	if mod != nil {
		mod(&o)
	}
	c, err := talkdesk.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func memFile(content []byte) *forward.File {
	sum := sha256.Sum256(content)
	return &forward.File{
		ID: testFileID, Name: "call notes.jpg", Size: int64(len(content)), MIME: "image/jpeg",
		SHA256: hex.EncodeToString(sum[:]), Time: time.Now(),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil },
	}
}

func TestForwardCreatesAttachmentWithExactBytes(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	content := make([]byte, 150_000)
	_, _ = rand.Read(content)
	f := memFile(content)

	r, err := c.Forward(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	as := e.s.TalkdeskAttachments()
	if len(as) != 1 {
		t.Fatalf("%d attachments", len(as))
	}
	a := as[0]
	if a.Name != "57904eb6-call notes.jpg" || a.Name != talkdesk.AttachmentName(f) || r.RemoteID != a.ID {
		t.Errorf("receipt %+v, attachment %+v", r, a)
	}
	if a.Size != f.Size || a.SHA256 != f.SHA256 || a.ContentType != "image/jpeg" {
		t.Errorf("attachment = %+v", a)
	}
	var meta map[string]any
	if err := json.Unmarshal(a.Metadata, &meta); err != nil {
		t.Fatal(err)
	}
	if meta["name"] != f.Name || meta["size"] != float64(f.Size) || meta["type"] != "image/jpeg" || len(meta) != 3 {
		t.Errorf("metadata = %v", meta)
	}
	if b, err := os.ReadFile(a.Path); err != nil || !bytes.Equal(b, content) {
		t.Errorf("stored bytes differ (err %v)", err)
	}
	if st := e.s.Stats(); st.TalkdeskTokens != 1 || st.TalkdeskLinks != 1 || st.TalkdeskPuts != 1 || st.TalkdeskAttachments != 1 || st.TalkdeskRejected != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestConflictOnOwnNameCountsAsDone(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	f := memFile([]byte("jpeg bytes"))
	first, err := c.Forward(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Forward(t.Context(), f) // a retry after a crash that lost the receipt
	if err != nil {
		t.Fatalf("second forward: %v", err)
	}
	if again.RemoteID != "" || !strings.Contains(again.Detail, "already exists") || first.RemoteID == "" {
		t.Errorf("receipts %+v then %+v", first, again)
	}
	if st := e.s.Stats(); st.TalkdeskAttachments != 1 || st.TalkdeskRejected != 1 {
		t.Errorf("stats = %+v, want one attachment and one 409", st)
	}
	// Another version of the file (another id) gets another name.
	g := memFile([]byte("other version"))
	g.ID = "a1b2c3d4-0000-4000-8000-000000000000"
	if _, err := c.Forward(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if n := len(e.s.TalkdeskAttachments()); n != 2 {
		t.Errorf("%d attachments, want 2", n)
	}
}

func TestRejectedTokenIsRenewedOnce(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	if _, err := c.Forward(t.Context(), memFile([]byte("a"))); err != nil {
		t.Fatal(err)
	}
	e.s.RevokeTokens()
	g := memFile([]byte("b"))
	g.ID = "a1b2c3d4-0000-4000-8000-000000000000"
	if _, err := c.Forward(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	if st := e.s.Stats(); st.TalkdeskTokens != 2 || st.Unauthorized != 1 || st.TalkdeskAttachments != 2 {
		t.Errorf("stats = %+v, want 2 tokens, 1 unauthorized", st)
	}
}

func TestWrongSecretIsAnAuthTokenError(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, func(o *talkdesk.Options) { o.ClientSecret = "nope-wrong" })
	_, err := c.Forward(t.Context(), memFile([]byte("a")))
	var te *talkdesk.TokenError
	if !errors.As(err, &te) || failure.Classify(err) != failure.Auth {
		t.Fatalf("err = %v, want an Auth TokenError", err)
	}
	if strings.Contains(err.Error(), "nope-wrong") {
		t.Errorf("error reveals the secret: %v", err)
	}
	if st := e.s.Stats(); st.TalkdeskLinks != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRefuseSendsNothing(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	for _, f := range []*forward.File{
		{ID: "not-a-uuid", Name: "a.jpg", Size: 1, MIME: "image/jpeg"},
		{ID: testFileID, Name: "", Size: 1, MIME: "image/jpeg"},
	} {
		f.Open = func() (io.ReadCloser, error) { t.Error("Open called"); return nil, errors.New("no") }
		var le *failure.LocalError
		if _, err := c.Forward(t.Context(), f); !errors.As(err, &le) {
			t.Errorf("%+v: err = %v, want a LocalError", f, err)
		}
	}
	if st := e.s.Stats(); st != (sandbox.Stats{}) {
		t.Errorf("stats = %+v", st)
	}
}

func TestForwardStreams(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	const size = 20 << 20
	f := &forward.File{ID: testFileID, Name: "big.bin", Size: size, MIME: "application/octet-stream",
		Open: func() (io.ReadCloser, error) { return io.NopCloser(io.LimitReader(zeros{}, size)), nil }}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := c.Forward(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > size/4 {
		t.Errorf("forwarding %d bytes allocated %d bytes: the body is buffered", size, grew)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
