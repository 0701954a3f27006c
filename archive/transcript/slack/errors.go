package slack

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/archivist-project/archivist/archive/transcript"
)

var (
	// ErrNotExport is wrapped when the ZIP holds no users.json and channels.json at its root
	// or in its single top-level folder.
	ErrNotExport = errors.New("not a Slack export: no users.json and channels.json at the root or in a single top folder")
	// ErrUnsafeEntry is wrapped for an entry that is never opened: an absolute name, one that
	// climbs out with "..", a symlink, or a name that appears twice.
	ErrUnsafeEntry = fmt.Errorf("unsafe ZIP entry: %w", transcript.ErrInvalid)
	// ErrBomb is wrapped for an entry whose declared or actual uncompressed size is above the
	// Limits: a decompression bomb, or simply too large to read.
	ErrBomb = fmt.Errorf("decompression bomb: %w", transcript.ErrTooLarge)
	// ErrMissingUpload is wrapped when the export holds fetched files (__uploads/) but not the
	// one a message references; the message is still returned, linking to its permalink.
	ErrMissingUpload = errors.New("referenced file missing from __uploads")
	// ErrUnlisted is wrapped for a folder holding day files that no channels.json,
	// groups.json, dms.json or mpims.json names: it is not read.
	ErrUnlisted = errors.New("conversation folder not named in any list")
)

// Error is a problem with an export or one of its entries: "<zip>: <entry>: <reason>"
// (Entry "" for the ZIP as a whole). Err is one of the sentinels above or transcript.ErrInvalid,
// for errors.Is. The text never contains a Slack token.
type Error struct {
	Zip    string
	Entry  string
	Reason string
	Err    error
}

func (e *Error) Error() string {
	s := transcript.QuoteName(e.Zip) + ": "
	if e.Entry != "" {
		s += transcript.QuoteName(e.Entry) + ": "
	}
	return scrub(s + e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

func (x *Export) errorf(entry string, err error, format string, args ...any) *Error {
	return &Error{Zip: scrub(x.name), Entry: scrub(entry), Reason: scrub(fmt.Sprintf(format, args...)), Err: err}
}

// tokenRE matches Slack tokens (xoxe- export tokens, xoxb-, xoxp-, ...).
var tokenRE = regexp.MustCompile(`xox[a-z]{1,2}-[0-9A-Za-z.\-_]+`)

// TokenRemoved replaces a Slack token in everything the package returns.
const TokenRemoved = "[Slack token removed]"

func scrub(s string) string {
	if !strings.Contains(s, "xox") {
		return s
	}
	return tokenRE.ReplaceAllString(s, TokenRemoved)
}
