package transcript

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Rules shared by the formats: where attachments may be, what a link and a name may be,
// and the epoch-milliseconds time range.

// transcriptDir checks the transcript's own path and returns its folder relative to the root
// ("" for the root itself), the base every attachment path is resolved from.
func transcriptDir(relPath string) (string, error) {
	if reason := relPathProblem(relPath); reason != "" {
		return "", invalidf(relPath, "", "transcript path %s", reason)
	}
	dir := path.Dir(path.Clean(relPath))
	if dir == "." {
		dir = ""
	}
	return dir, nil
}

// relPathProblem says why p is not a usable slash-separated path inside the root, or "".
func relPathProblem(p string) string {
	if reason := pathSyntaxProblem(p); reason != "" {
		return reason
	}
	if c := path.Clean(p); c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Sprintf("%s climbs out of the watch root", quote(p))
	}
	return ""
}

// pathSyntaxProblem says why p is not a slash-separated relative path at all, or "".
func pathSyntaxProblem(p string) string {
	switch {
	case p == "":
		return "is empty"
	case strings.IndexByte(p, 0) >= 0:
		return "contains a NUL byte"
	case strings.IndexByte(p, '\\') >= 0:
		return fmt.Sprintf("%s contains a backslash; folders are separated by \"/\"", quote(p))
	case path.IsAbs(p):
		return fmt.Sprintf("%s is absolute; it must be relative", quote(p))
	}
	return ""
}

// resolveAttachment resolves the attachment path p, written relative to the transcript's
// folder dir, to a clean path relative to the watch root. It returns "" and the reason if p
// is absolute, holds a backslash or NUL, climbs out of the root, or names a folder.
func resolveAttachment(dir, p string) (string, string) {
	if reason := pathSyntaxProblem(p); reason != "" {
		return "", reason
	}
	joined := path.Join(dir, p) // Join cleans
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return "", fmt.Sprintf("%s climbs out of the watch root", quote(p))
	}
	if strings.HasSuffix(p, "/") || joined == "." || joined == dir || isDotName(path.Base(path.Clean(p))) {
		return "", fmt.Sprintf("%s names a folder, not a file", quote(p))
	}
	return joined, ""
}

func isDotName(s string) bool { return s == "." || s == ".." }

// fileNameProblem says why name cannot be a display file name (one path element), or "".
func fileNameProblem(name string) string {
	switch {
	case name == "":
		return "is empty"
	case isDotName(name):
		return fmt.Sprintf("%s is not a file name", quote(name))
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Sprintf("%s must be a file name without \"/\", \"\\\" or NUL", quote(name))
	case strings.ContainsFunc(name, unicode.IsControl):
		return fmt.Sprintf("%s contains a control character", quote(name))
	}
	return ""
}

// checkHref validates an external link and returns the file name its URL path ends in ("" if
// none), or a reason.
func checkHref(href string) (name, reason string) {
	u, err := url.Parse(href)
	if err != nil {
		return "", fmt.Sprintf("%s is not a URL", quote(href))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Sprintf("%s is not an http or https URL", quote(href))
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Sprintf("%s has no host", quote(href))
	}
	seg := path.Base(u.Path) // unescaped
	if u.Path == "" || strings.HasSuffix(u.Path, "/") || fileNameProblem(seg) != "" {
		return "", ""
	}
	return seg, ""
}

// idProblem says why s cannot be an id (of a conversation, participant or event), or "".
// Ids reach logs and journal keys, so they are bounded and free of control characters.
func idProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > maxIDLen:
		return fmt.Sprintf("%s is longer than %d bytes", quote(s), maxIDLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Sprintf("%s contains a control character", quote(s))
	}
	return ""
}

const maxIDLen = 256

// Epoch milliseconds below minEpochMillis (1973-03-03) are refused: such a value is almost
// certainly epoch seconds, which read as milliseconds would date the event in January 1970.
// The upper bound is the end of year 9999, the largest time RFC 3339 can write.
const (
	minEpochMillis = 100_000_000_000
	maxEpochMillis = 253_402_300_799_999
)

// parseEpochMillis parses an integer literal of epoch milliseconds.
func parseEpochMillis(lit string) (time.Time, string) {
	ms, ok := parseInt(lit)
	switch {
	case !ok:
		return time.Time{}, fmt.Sprintf("%s is not a whole number of epoch milliseconds", lit)
	case ms < minEpochMillis:
		return time.Time{}, fmt.Sprintf("%s is before 1973-03-03 in epoch milliseconds (epoch seconds? times are milliseconds)", lit)
	case ms > maxEpochMillis:
		return time.Time{}, fmt.Sprintf("%s is after year 9999 in epoch milliseconds", lit)
	}
	return time.UnixMilli(ms).UTC(), ""
}

// parseInt parses a JSON number literal that is a whole number within int64, without
// fraction or exponent.
func parseInt(lit string) (int64, bool) {
	if lit == "" || strings.ContainsAny(lit, ".eE") {
		return 0, false
	}
	var n int64
	neg := lit[0] == '-'
	digits := strings.TrimPrefix(lit, "-")
	if digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63-1-int64(c-'0'))/10 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// checkTimeRange refuses times before 1970 or after 9999, in any notation.
func checkTimeRange(t time.Time, written string) string {
	if t.Before(time.Unix(0, 0)) || t.Year() > 9999 {
		return fmt.Sprintf("%s is outside 1970..9999", quote(written))
	}
	return ""
}

// statedSize checks a stated attachment size (a JSON number literal).
func statedSize(file string, v *value) (int64, error) {
	n, ok := parseInt(v.str)
	switch {
	case v.kind != kindNumber:
		return 0, wrongKind(file, v, "a number")
	case !ok || n < 0:
		return 0, invalidf(file, v.path, "%s is not a size in bytes (a whole number, 0 or more)", v.str)
	case n > MaxAttachmentSize:
		return 0, &Error{File: file, JSONPath: v.path, Err: ErrTooLarge,
			Reason: fmt.Sprintf("%d bytes is over the 1.0 GB attachment limit (%d bytes)", n, MaxAttachmentSize)}
	}
	return n, nil
}

// wrongKind reports a value of the wrong JSON type.
func wrongKind(file string, v *value, want string) *Error {
	return invalidf(file, v.path, "want %s, got %s", want, v.kind)
}

// QuoteName is a file or entry name as an error names it: quoted when it is not valid UTF-8
// or holds an unprintable character, so a name cannot forge a log line.
func QuoteName(s string) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}
