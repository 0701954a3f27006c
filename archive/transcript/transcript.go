package transcript

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/archivist-project/archivist/watcher/beneath"
)

const (
	// MaxTranscriptSize bounds the bytes Read accepts for one transcript (about 100,000
	// messages); a larger file is refused with ErrTooLarge, never read into memory. Parsing
	// keeps a tree of the JSON, several times the file's size, so the bound is also one on
	// the daemon's memory.
	MaxTranscriptSize = 16 << 20
	// MaxAttachmentSize is Global Relay's per-file limit (1.0 GB): the /files endpoint
	// answers 400 above it, so a transcript stating or referencing a larger file is held.
	MaxAttachmentSize = 1 << 30
)

// Format names, the values of Conversation.Format.
const (
	FormatNative  = "native"
	FormatGenesys = "genesys"
	FormatSlack   = "slack" // a Slack workspace export ZIP, read by package transcript/slack
)

var (
	// ErrInvalid is wrapped by every *Error about a transcript's content: bad JSON, a rule
	// of the format broken, an attachment path that leaves the root. Retrying cannot help:
	// the transcript is held until it is replaced.
	ErrInvalid = errors.New("invalid transcript")
	// ErrTooLarge is wrapped when a transcript exceeds MaxTranscriptSize or an attachment
	// exceeds the size limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnknownFormat is wrapped when no format matches a file name.
	ErrUnknownFormat = errors.New("no transcript format matches the file name")
	// ErrAttachment is wrapped by CheckFiles when a referenced attachment is missing, a
	// symlink, not a regular file, or not the size the transcript states.
	ErrAttachment = errors.New("attachment unusable")
)

// Conversation is a parsed transcript in the format-neutral shape the pipeline archives.
type Conversation struct {
	Format  string // FormatNative or FormatGenesys
	Version int    // the format's version (native: "version"; Genesys: 1)
	// ID is the conversation id, stable across re-exports of the same conversation. Native:
	// conversation.id. Genesys: the chat id (see ChatID), else the transcript's path relative
	// to the watch root.
	ID string
	// ChatID is the id the source system knows the conversation by, for forwarding back to
	// it (Genesys: the {id} of /chats/{id}); "" for native transcripts and for Genesys
	// exports that do not state it. Unlike ID it is never a fallback.
	ChatID       string
	Title        string
	CreatedAt    time.Time     // UTC; zero if the transcript does not say (use the first event's time)
	Participants []Participant // in transcript order (Genesys: order of first appearance)
	Events       []Event       // in transcript order; IDs unique within the conversation
}

// Participant is one person (or bot) in a conversation.
type Participant struct {
	ID          string // unique within the conversation; events refer to it
	DisplayName string
	Email       string // "" if unknown (always for Genesys)
	Role        string // Genesys from.type (Agent, Client, External, ...); "" for native
}

// Event types.
const (
	EventMessage = "message"
	EventFile    = "file"
	EventJoined  = "joined" // From joined the conversation (Global Relay User_joined)
	EventNotice  = "notice" // something happened, told by SystemText (Global Relay User_event)
)

// EventInvited is an invitation: From added the Affected participants (Global Relay Invitation).
const EventInvited = "invited"

// Event is one thing that happened in a conversation.
//
// A "message" event has Text, SystemText or both; one with only SystemText is a system notice
// (a Genesys participant joining, a notice), not something the participant typed. A "file"
// event has at least one file; its Text is what the sender wrote with it.
type Event struct {
	ID string // unique within the conversation (native: "id"; Genesys: index)
	// Positional is true when ID is only the event's position in the file (a Genesys message
	// without index or id): then it says nothing about which event it is, and the pipeline
	// recognises an event archived before by its content alone.
	Positional bool
	Time       time.Time // UTC
	Type       string    // EventMessage or EventFile
	From       string    // a Participant.ID
	To         []string  // Participant.IDs the event was addressed to; nil = shared with everyone
	Text       string
	SystemText string
	Files      []FileRef // EventFile only
	// Affected are the Participant.IDs an event is about, not by (Global Relay affectedUser):
	// the members an invitation added or a removal removed; nil for most events.
	Affected []string
	// Key identifies the event across exports, for archiving each message exactly once
	// (Slack: workspace, conversation and ts); "" when the format has none.
	Key string
}

// FileRef is one file of a file event: an attachment on disk (Path) or an external link (Href).
type FileRef struct {
	// Path locates an attachment on disk: slash-separated, clean and relative to the watch
	// root (resolved from the transcript's folder). It is guaranteed to stay inside the root,
	// but nothing has been opened yet: the file may be missing, a symlink or too large. Open
	// it only with package beneath, which refuses symlinks (see CheckFiles). "" for a link.
	Path string
	Href string // external link, http or https with a host; "" for a file on disk
	Name string // file name to display; defaults to the base name of Path or of Href's path
	Size int64  // size the transcript states, -1 if it states none
	// JSONPath is where the transcript references the file ("$.events[1].files[0]"), so a
	// problem found later with the file can be reported like any other transcript error.
	JSONPath string
	// Entry names the file's bytes inside the export archive the conversation was read from
	// (Slack: "__uploads/F0123/report.pdf"); Path and Href are then "". Read it only through
	// the reader that produced the conversation.
	Entry string
}

// Format is one transcript format. Adding a format is one file implementing it plus one line
// in formats below.
type Format interface {
	// Name is the value of Conversation.Format.
	Name() string
	// Match reports whether relPath names a transcript of this format, by its file name.
	Match(relPath string) bool
	// Parse validates and converts a transcript; relPath is its path relative to the watch
	// root (slash-separated), from which attachment paths are resolved. Parse reads nothing
	// but data. Errors are *Error.
	Parse(relPath string, data []byte) (*Conversation, error)
}

// formats is the registry, tried in order by Detect.
var formats = []Format{
	Native{},
	Genesys{},
}

// Formats returns the known formats.
func Formats() []Format { return slices.Clone(formats) }

// Detect returns the format whose file naming relPath matches.
func Detect(relPath string) (Format, bool) {
	for _, f := range formats {
		if f.Match(relPath) {
			return f, true
		}
	}
	return nil, false
}

// Read opens relPath beneath root with beneath.Open (no symlink in any component, nothing
// outside the root, FIFOs, sockets and devices refused without being opened), reads at most
// MaxTranscriptSize bytes, and parses them with the format Detect finds. Errors are *Error.
func Read(root, relPath string) (*Conversation, error) {
	format, ok := Detect(relPath)
	if !ok {
		return nil, &Error{File: relPath, Reason: ErrUnknownFormat.Error(), Err: ErrUnknownFormat}
	}
	data, err := readBounded(root, relPath)
	if err != nil {
		return nil, err
	}
	return format.Parse(relPath, data)
}

func readBounded(root, relPath string) ([]byte, error) {
	f, err := beneath.Open(root, relPath)
	if err != nil {
		return nil, fileError(relPath, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileError(relPath, err)
	}
	tooLarge := &Error{File: relPath, Err: ErrTooLarge,
		Reason: fmt.Sprintf("transcript is larger than the %d MiB limit", MaxTranscriptSize>>20)}
	if fi.Size() > MaxTranscriptSize {
		return nil, tooLarge
	}
	// The size may grow after the Stat; the limit holds for what is actually read.
	data, err := io.ReadAll(io.LimitReader(f, MaxTranscriptSize+1))
	if err != nil {
		return nil, fileError(relPath, err)
	}
	if len(data) > MaxTranscriptSize {
		return nil, tooLarge
	}
	return data, nil
}

// fileError reports a failure to open or read the transcript itself; Err keeps the cause
// (beneath.ErrSymlink, beneath.ErrNotRegular, beneath.ErrOutsideRoot, fs.ErrNotExist, ...).
func fileError(relPath string, err error) *Error {
	reason := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		reason = pe.Err
	}
	return &Error{File: relPath, Reason: reason.Error(), Err: err}
}

// Error is a problem with one transcript, for the journal's hold reason and the log:
// "<file>: <jsonPath>: <reason>", e.g.
//
//	exports/c1.transcript.json: $.events[3].files[0].path: "../../etc/passwd" climbs out of the watch root
//
// JSONPath is "" when the problem is with the file as a whole (it cannot be opened, it is too
// large). Err is ErrInvalid, ErrTooLarge, ErrUnknownFormat or ErrAttachment, or for a file
// that cannot be opened or read the cause (beneath.ErrSymlink, fs.ErrNotExist, ...), for
// errors.Is.
type Error struct {
	File     string // the transcript, relative to the watch root
	JSONPath string
	Reason   string
	Err      error
}

func (e *Error) Error() string {
	file := e.File
	if !utf8.ValidString(file) || strings.ContainsFunc(file, func(r rune) bool { return !unicode.IsPrint(r) }) {
		file = strconv.Quote(file) // a file name must not forge a log line
	}
	if e.JSONPath == "" {
		return file + ": " + e.Reason
	}
	return file + ": " + e.JSONPath + ": " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

func invalidf(file, jsonPath, format string, args ...any) *Error {
	return &Error{File: file, JSONPath: jsonPath, Reason: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

// hasSuffixName reports whether the base name of relPath ends in suffix and has something
// before it (".transcript.json" alone is not a transcript).
func hasSuffixName(relPath, suffix string) bool {
	base := path.Base(relPath)
	return len(base) > len(suffix) && strings.HasSuffix(base, suffix)
}
