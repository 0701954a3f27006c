package forward

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// File is one file version to forward. ID is stable per file version and destination (the
// pipeline derives it), so a retry after a crash reuses the same interaction id, RequestId
// or attachment name.
type File struct {
	ID     string    // a UUID string, stable per (file version, destination)
	Name   string    // display file name (valid UTF-8)
	Size   int64     // exact number of bytes Open returns
	MIME   string    // detected MIME type, may carry parameters ("text/plain; charset=utf-8")
	SHA256 string    // hex
	Time   time.Time // when it was shared (file mtime or transcript event time)
	Text   string    // optional text to go with it (transcript event text)
	// ChatID is the Genesys chat id from a transcript, "" if none.
	ChatID string
	// EndUser is the Salesforce end-user client identifier from a transcript, "" if none.
	EndUser string
	// Open returns a fresh reader of exactly Size bytes from the start. It may be called
	// again for a resend; the caller closes what it returns.
	Open func() (io.ReadCloser, error)
}

// Receipt is what a destination returned for a forwarded file.
type Receipt struct {
	RemoteID string // the destination's id: interaction id, documentId, attachment id
	Detail   string // anything else worth recording, for people
}

// Forwarder is one configured destination. Implementations are safe for concurrent use.
type Forwarder interface {
	// Name is the destination's configured name.
	Name() string
	// Refuse returns a *failure.LocalError if f can never be sent to this destination (too
	// large, MIME type not accepted, no chat id), without sending anything; nil if it may
	// be sent.
	Refuse(f *File) error
	// Forward sends f. Every error it returns is classified by package failure. It calls
	// Refuse first, so a file that Refuse rejects is never sent.
	Forward(ctx context.Context, f *File) (*Receipt, error)
}

// FailureNotifier is implemented by destinations that can tell the far side a delivery
// failed (Salesforce MessageDeliveryFailed). The pipeline calls it once after a remote
// permanent failure (not after a local refusal), if the destination is configured to.
type FailureNotifier interface {
	NotifyFailure(ctx context.Context, f *File, cause error) error
}

// DerivedID returns a UUID (version 8, RFC 9562) computed from id and purpose: the same
// inputs always give the same UUID, different purposes give unrelated ones. Clients use it
// for the ids an API wants next to the file's own (a Salesforce RequestId), so that a
// resend after a crash carries the same ids as the first attempt.
func DerivedID(id, purpose string) string {
	h := sha256.Sum256([]byte("archivist/forward\x00" + purpose + "\x00" + id))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8: custom
	b[8] = b[8]&0x3f | 0x80 // variant 10
	s := hex.EncodeToString(b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// IsUUID reports whether s is a UUID in its canonical textual form
// (8-4-4-4-12 hexadecimal digits, either case).
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// BaseMIME returns the media type of m in lower case without parameters
// ("text/plain; charset=utf-8" -> "text/plain"), or "" if m is not a media type.
func BaseMIME(m string) string {
	mt, _, err := mime.ParseMediaType(m)
	if err != nil {
		// A type with broken parameters still names its base type.
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(m, ";", 2)[0]))
		if _, _, err := mime.ParseMediaType(mt); err != nil {
			return ""
		}
	}
	if !strings.Contains(mt, "/") {
		return ""
	}
	return mt
}

// DefaultHTTPClient is the client a destination uses when it is given none: TLS verified,
// two minutes to wait for an answer's headers, no overall timeout (files can be large).
func DefaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 2 * time.Minute
	return &http.Client{Transport: tr}
}

// HTTPClientOr is hc, or DefaultHTTPClient() if hc is nil.
func HTTPClientOr(hc *http.Client) *http.Client {
	if hc == nil {
		return DefaultHTTPClient()
	}
	return hc
}
