package salesforce_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/failure"
	"github.com/archivist-project/archivist/archive/forward"
	"github.com/archivist-project/archivist/archive/salesforce"
	"github.com/archivist-project/archivist/archive/sandbox"
)

const (
	testClientID = "3MVG9-consumer-key"
	testUser     = "integration@example.com"
	testAudience = "https://login.salesforce.com"
	testOrgID    = "00D5g000000ABCD"
	testContext  = "Partner1_ChannelDefinition1"
	testChannel  = "72a6a4ec-acbc-44f6-b2b9-e444248ca843"
	testEndUser  = "end-user-42"
	testFileID   = "57904eb6-5352-4c5e-adf6-5f100572cf54"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// key returns one RSA key for the whole package: generating one per test is slow under -race.
func key(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

type env struct {
	s    *sandbox.Server
	base string
	dir  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	s, err := sandbox.New(sandbox.Options{
		Dir: dir, SalesforcePublicKey: &key(t).PublicKey,
		SalesforceClientID: testClientID, SalesforceUsername: testUser, SalesforceAudience: testAudience,
	})
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &env{s: s, base: base, dir: dir}
}

func (e *env) client(t *testing.T, mod func(*salesforce.Options)) *salesforce.Client {
	t.Helper()
	o := salesforce.Options{
		Name: "service-cloud", URL: e.base + "/", TokenURL: e.base + "/services/oauth2/token",
		ClientID: testClientID, Username: testUser, PrivateKey: key(t), Audience: testAudience,
		OrgID: testOrgID, AuthorizationContext: testContext, ChannelAddress: testChannel, EndUser: testEndUser,
	}
	if mod != nil {
		mod(&o)
	}
	c, err := salesforce.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// memFile is a forward.File over content that counts how often it is opened.
func memFile(id, name, mimeType string, content []byte, opens *atomic.Int32) *forward.File {
	sum := sha256.Sum256(content)
	return &forward.File{
		ID: id, Name: name, Size: int64(len(content)), MIME: mimeType, SHA256: hex.EncodeToString(sum[:]),
		Time: time.UnixMilli(1_700_000_000_123), Text: "see attached",
		Open: func() (io.ReadCloser, error) {
			if opens != nil {
				opens.Add(1)
			}
			return io.NopCloser(bytes.NewReader(content)), nil
		},
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestForwardDeliversExactBytesAndMetadataOnce(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	content := randomBytes(t, 300_000)
	f := memFile(testFileID, "Quarterly report é.pdf", "application/pdf", content, nil)

	r, err := c.Forward(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if r.RemoteID != testFileID || !strings.HasPrefix(r.Detail, "conversation ") {
		t.Errorf("receipt = %+v", r)
	}
	recs := e.s.SalesforceInteractions()
	if len(recs) != 1 {
		t.Fatalf("%d interactions stored, want 1", len(recs))
	}
	got := recs[0]
	if got.ID != testFileID || got.InteractionType != "AttachmentInteraction" || got.To != testChannel || got.From != testEndUser {
		t.Errorf("interaction = %+v", got)
	}
	if got.OrgID != testOrgID || got.AuthorizationContext != testContext || got.RequestID != forward.DerivedID(testFileID, "salesforce-request") {
		t.Errorf("headers: OrgId %q, AuthorizationContext %q, RequestId %q", got.OrgID, got.AuthorizationContext, got.RequestID)
	}
	if got.FileName != f.Name || got.ContentType != "application/pdf" || got.Size != f.Size || got.SHA256 != f.SHA256 {
		t.Errorf("file = %q %q %d %s", got.FileName, got.ContentType, got.Size, got.SHA256)
	}
	onDisk, err := os.ReadFile(got.Path)
	if err != nil || !bytes.Equal(onDisk, content) {
		t.Errorf("stored bytes differ from the file (err %v)", err)
	}
	// The json part, field by field as the OpenAPI file names them.
	var doc struct {
		To, From     string
		Interactions []map[string]any
	}
	if err := json.Unmarshal(got.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"interactionType": "AttachmentInteraction", "id": testFileID, "timestamp": float64(1_700_000_000_123),
		"attachmentIndex": float64(0), "contentLength": float64(len(content)), "text": "see attached",
	}
	if len(doc.Interactions) != 1 || len(doc.Interactions[0]) != len(want) {
		t.Fatalf("interactions = %v", doc.Interactions)
	}
	for k, v := range want {
		if doc.Interactions[0][k] != v {
			t.Errorf("interactions[0].%s = %v, want %v", k, doc.Interactions[0][k], v)
		}
	}
	if st := e.s.Stats(); st.SalesforceTokens != 1 || st.SalesforceInteractions != 1 || st.SalesforceRejected != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFileEndUserWinsOverDefault(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	f := memFile(testFileID, "a.png", "image/png", []byte("png"), nil)
	f.EndUser = "transcript-user"
	if _, err := c.Forward(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	if got := e.s.SalesforceInteractions()[0].From; got != "transcript-user" {
		t.Errorf("from = %q", got)
	}
}

func TestRefuseSendsNothing(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	noEndUser := e.client(t, func(o *salesforce.Options) { o.EndUser = "" })
	tests := []struct {
		name string
		c    *salesforce.Client
		f    forward.File
		want string
	}{
		{"26 MB", c, forward.File{ID: testFileID, Name: "big.mp4", Size: 26 << 20, MIME: "video/mp4"}, "25 MB"},
		{"just over 25 MiB", c, forward.File{ID: testFileID, Name: "big.mp4", Size: 25<<20 + 1, MIME: "video/mp4"}, "25 MB"},
		{"wrong MIME", c, forward.File{ID: testFileID, Name: "a.txt", Size: 10, MIME: "text/plain; charset=utf-8"}, "MIME type"},
		{"empty", c, forward.File{ID: testFileID, Name: "a.pdf", Size: 0, MIME: "application/pdf"}, "empty"},
		{"no end user", noEndUser, forward.File{ID: testFileID, Name: "a.pdf", Size: 10, MIME: "application/pdf"}, "no end user"},
		{"id not a UUID", c, forward.File{ID: "42", Name: "a.pdf", Size: 10, MIME: "application/pdf"}, "not a UUID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			f.Open = func() (io.ReadCloser, error) { t.Error("Open called for a refused file"); return nil, errors.New("no") }
			if err := tt.c.Refuse(&f); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Refuse = %v, want an error with %q", err, tt.want)
			}
			_, err := tt.c.Forward(t.Context(), &f)
			var le *failure.LocalError
			if !errors.As(err, &le) || failure.Classify(err) != failure.Permanent {
				t.Errorf("Forward = %v, want a *failure.LocalError", err)
			}
		})
	}
	if st := e.s.Stats(); st != (sandbox.Stats{}) {
		t.Errorf("refused files reached the sandbox: %+v", st)
	}
	// Parameters are ignored and the largest file is accepted.
	ok := forward.File{ID: testFileID, Name: "a.mp4", Size: 25 << 20, MIME: "video/mp4; codecs=avc1", Open: func() (io.ReadCloser, error) { return nil, nil }}
	if err := c.Refuse(&ok); err != nil {
		t.Errorf("Refuse(25 MiB video/mp4) = %v", err)
	}
}

func TestErrorCodesMapToFailureClasses(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	tests := []struct {
		code int
		want failure.Class
	}{
		{10019, failure.Transient}, {10094, failure.Transient}, {500, failure.Transient},
		{10008, failure.Permanent}, {10011, failure.Permanent}, {10051, failure.Permanent},
		{10095, failure.Permanent}, {10009, failure.Permanent}, {10010, failure.Permanent},
		{10001, failure.Permanent}, // not in the map: HTTP 400 decides
	}
	for _, tt := range tests {
		e.s.QueueSalesforceErrors(tt.code)
		_, err := c.Forward(t.Context(), memFile(testFileID, "a.pdf", "application/pdf", []byte("%PDF-1.7"), nil))
		var he *failure.HTTPError
		if !errors.As(err, &he) {
			t.Fatalf("code %d: error %v is not a *failure.HTTPError", tt.code, err)
		}
		if got := failure.Classify(err); got != tt.want || he.Code != itoa(tt.code) {
			t.Errorf("code %d: class %v, Code %q; want %v", tt.code, got, he.Code, tt.want)
		}
	}
	if n := len(e.s.SalesforceInteractions()); n != 0 {
		t.Errorf("%d interactions stored", n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestRejectedTokenIsRenewedOnce(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	f := memFile(testFileID, "a.pdf", "application/pdf", []byte("%PDF-1.7"), nil)
	if _, err := c.Forward(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	// An expired token (401, code 10004) is renewed and the request sent again.
	e.s.RevokeTokens()
	if _, err := c.Forward(t.Context(), f); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if st := e.s.Stats(); st.SalesforceTokens != 2 || st.SalesforceInteractions != 2 || st.Unauthorized != 1 {
		t.Errorf("stats = %+v, want 2 tokens, 2 interactions, 1 unauthorized", st)
	}
	// Twice 10004: one renewal only, then the Auth error is returned.
	e.s.QueueSalesforceErrors(10004, 10004)
	_, err := c.Forward(t.Context(), f)
	if failure.Classify(err) != failure.Auth {
		t.Errorf("two rejections: %v (class %v), want Auth", err, failure.Classify(err))
	}
	if st := e.s.Stats(); st.SalesforceTokens != 3 {
		t.Errorf("%d tokens issued, want 3", st.SalesforceTokens)
	}
}

func TestWrongKeyIsATokenError(t *testing.T) {
	e := newEnv(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t, func(o *salesforce.Options) { o.PrivateKey = other })
	_, err = c.Forward(t.Context(), memFile(testFileID, "a.pdf", "application/pdf", []byte("x"), nil))
	var te *salesforce.TokenError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("err = %v, want a TokenError with invalid_grant", err)
	}
	if n := len(e.s.SalesforceInteractions()); n != 0 {
		t.Errorf("%d interactions stored", n)
	}
}

func TestSameFileTwiceRepeatsItsIDs(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	var opens atomic.Int32
	f := memFile(testFileID, "a.jpg", "image/jpeg", randomBytes(t, 1000), &opens)
	for range 2 {
		if _, err := c.Forward(t.Context(), f); err != nil {
			t.Fatal(err)
		}
	}
	recs := e.s.SalesforceInteractions()
	if len(recs) != 2 || recs[0].ID != recs[1].ID || recs[0].RequestID != recs[1].RequestID {
		t.Fatalf("records = %+v", recs)
	}
	if recs[0].ID != testFileID {
		t.Errorf("interaction id %q, want the file id", recs[0].ID)
	}
	if opens.Load() != 2 {
		t.Errorf("file opened %d times, want once per send", opens.Load())
	}
}

func TestNotifyFailureSendsMessageDeliveryFailed(t *testing.T) {
	e := newEnv(t)
	f := memFile(testFileID, "a.pdf", "application/pdf", []byte("%PDF"), nil)
	cause := &failure.HTTPError{Op: "post", StatusCode: 400, Status: "400 Bad Request", Code: "10008",
		Body: `{"code":10008,"message":"The file size exceeds the maximum limit of 25 MB."}`}

	off := e.client(t, nil)
	if err := off.NotifyFailure(t.Context(), f, cause); err != nil {
		t.Fatal(err)
	}
	if n := len(e.s.SalesforceInteractions()); n != 0 {
		t.Fatalf("delivery_failed off sent %d requests", n)
	}

	on := e.client(t, func(o *salesforce.Options) { o.DeliveryFailed = true })
	if err := on.NotifyFailure(t.Context(), f, cause); err != nil {
		t.Fatal(err)
	}
	recs := e.s.SalesforceInteractions()
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r.InteractionType != "EntryInteraction" || r.EntryType != "MessageDeliveryFailed" || r.FailedID != testFileID ||
		r.ErrorCode != "10008" || r.ID != forward.DerivedID(testFileID, "salesforce-delivery-failed") || r.Path != "" {
		t.Errorf("record = %+v", r)
	}
	var doc struct {
		Interactions []struct {
			InteractionType string `json:"interactionType"`
			Timestamp       int64  `json:"timestamp"`
			Payload         struct {
				ID, EntryType, FailedConversationEntryIdentifier, ErrorCode, ErrorMessage string
				Recipient                                                                 struct{ AppType, Subject, Role string }
			} `json:"payload"`
		} `json:"interactions"`
	}
	if err := json.Unmarshal(r.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.Interactions[0].Payload
	if p.Recipient.AppType != "custom" || p.Recipient.Subject != testEndUser || p.Recipient.Role != "EndUser" ||
		!strings.Contains(p.ErrorMessage, "25 MB") || doc.Interactions[0].Timestamp == 0 {
		t.Errorf("payload = %+v", doc.Interactions[0])
	}

	// A cause without a Salesforce code is reported with the generic one.
	if err := on.NotifyFailure(t.Context(), f, errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	if got := e.s.SalesforceInteractions()[1].ErrorCode; got != "500" {
		t.Errorf("errorCode = %q, want 500", got)
	}
	if st := e.s.Stats(); st.SalesforceDeliveryFailures != 2 {
		t.Errorf("stats = %+v", st)
	}
}

// TestForwardStreams sends a 20 MB file whose bytes are produced on the fly and checks
// that the process did not allocate anything near the file's size: the body is streamed,
// not assembled in memory (the sandbox in this process streams to disk too).
func TestForwardStreams(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	const size = 20 << 20
	f := &forward.File{
		ID: testFileID, Name: "clip.mp4", Size: size, MIME: "video/mp4", Time: time.Now(),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(io.LimitReader(zeros{}, size)), nil },
	}
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
	if got := e.s.SalesforceInteractions()[0].Size; got != size {
		t.Errorf("stored %d bytes", got)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestShortFileFailsInsteadOfSendingLess(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, nil)
	f := memFile(testFileID, "a.pdf", "application/pdf", []byte("%PDF-1.7 short"), nil)
	f.Size += 10 // the file shrank after it was measured
	if _, err := c.Forward(t.Context(), f); err == nil {
		t.Fatal("a file shorter than its size was forwarded")
	}
	if n := len(e.s.SalesforceInteractions()); n != 0 {
		t.Errorf("%d interactions stored", n)
	}
}

func TestNewChecksOptions(t *testing.T) {
	_, err := salesforce.New(salesforce.Options{Name: "x", URL: "ftp://h", OrgID: "short"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"no private key", "org id", "client id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
