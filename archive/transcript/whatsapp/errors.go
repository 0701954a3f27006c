package whatsapp

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/archivist-project/archivist/archive/transcript"
)

var (
	// ErrNotExport is wrapped when the text is not a WhatsApp chat export (its first line is
	// not a message line), or a ZIP holds no chat text.
	ErrNotExport = fmt.Errorf("not a WhatsApp chat export: %w", transcript.ErrInvalid)
	// ErrAmbiguousDates is wrapped when no date of the file says whether the day or the month
	// comes first, and Options.DateOrder does not settle it. The file is held until the
	// watch's date_order: says which.
	ErrAmbiguousDates = fmt.Errorf("ambiguous dates: %w", transcript.ErrInvalid)
	// ErrBadDate is wrapped for a message line whose date or time does not exist in the
	// file's date order (or in the one Options.DateOrder gives).
	ErrBadDate = fmt.Errorf("bad date: %w", transcript.ErrInvalid)
	// ErrNoLocation is returned when Options.Location is nil: a configuration error.
	ErrNoLocation = errors.New("whatsapp: Options.Location is required (the watch's timezone: key)")
	// ErrMissingMedia is wrapped when a message references a media file that is not in the
	// ZIP or next to the text. The message is still returned, saying the file is missing.
	ErrMissingMedia = fmt.Errorf("referenced media file missing: %w", transcript.ErrAttachment)
	// ErrUnsafeEntry is wrapped for a ZIP entry that is never opened: an absolute name, one
	// that climbs out with "..", a backslash, a symlink, or a name that appears twice.
	ErrUnsafeEntry = fmt.Errorf("unsafe ZIP entry: %w", transcript.ErrInvalid)
	// ErrBomb is wrapped for an entry whose declared or actual uncompressed size is above the
	// Limits: a decompression bomb, or simply too large to read.
	ErrBomb = fmt.Errorf("decompression bomb: %w", transcript.ErrTooLarge)
	// ErrTooLarge is wrapped for a line, a message, a chat text or a number of people above
	// the Limits.
	ErrTooLarge = fmt.Errorf("whatsapp limit: %w", transcript.ErrTooLarge)
	// ErrChanged is wrapped when the text read by Walk is not the one Open read.
	ErrChanged = errors.New("the chat text changed while it was read")
)

// Error is a problem with an export: "<file>: <entry>: line <n>: <reason>" (Entry "" for a
// loose text or the ZIP as a whole, Line 0 for the file as a whole). Err is one of the
// sentinels above, for errors.Is.
type Error struct {
	File   string // the ZIP or the loose text, as named to Open
	Entry  string // the entry inside the ZIP, "" for a loose text
	Line   int
	Reason string
	Err    error
}

func (e *Error) Error() string {
	s := transcript.QuoteName(e.File) + ": "
	if e.Entry != "" {
		s += transcript.QuoteName(e.Entry) + ": "
	}
	if e.Line > 0 {
		s += "line " + strconv.Itoa(e.Line) + ": "
	}
	return s + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }
