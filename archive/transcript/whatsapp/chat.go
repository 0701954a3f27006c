package whatsapp

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
)

// Chat is an opened WhatsApp export: its text has been read once (Open) and is read again,
// as a stream, by Walk. A ZIP's io.ReaderAt, or the fs.FS of a loose text, must stay open and
// unchanged while the Chat is used. Not safe for concurrent Walks.
type Chat struct {
	name   string // the ZIP or the loose text, relative to the watch root
	entry  string // the chat text inside the ZIP; "" for a loose text
	title  string
	id     string
	limits Limits
	loc    *time.Location
	order  DateOrder
	style  style

	open    func() (io.ReadCloser, error) // the chat text
	media   map[string]*zip.File          // ZIP: media beside the chat text, by name
	fsys    fs.FS                         // loose: the watch
	dir     string                        // loose: the text's folder in fsys
	stat    map[string]transcript.FileRef // loose: media found by the first pass
	refused map[string]bool               // ZIP: media entries refused as too large, reported once

	people   []transcript.Participant
	messages int
	problems []error
}

// OpenZip opens the export ZIP in r (size bytes); name is its path in the watch (for errors,
// for Path and for the title). It reads the chat text once, and fails with an *Error when the
// ZIP does not open, holds no chat text (ErrNotExport) or the text cannot be read as one
// (ErrNotExport, ErrAmbiguousDates, ErrBadDate, ErrTooLarge, ErrBomb). Problems with single
// entries and messages (ErrUnsafeEntry, ErrMissingMedia) are kept: see Problems.
func OpenZip(r io.ReaderAt, size int64, name string, opts Options) (*Chat, error) {
	c, err := newChat(name, opts)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are refused one by one
		return nil, &Error{File: name, Reason: fmt.Sprintf("not a readable ZIP: %v", err), Err: fmt.Errorf("%w: %w", transcript.ErrInvalid, err)}
	}
	chat, err := c.findChat(c.safeEntries(zr))
	if err != nil {
		return nil, err
	}
	c.entry = chat.Name
	c.title = zipTitle(name, chat.Name)
	c.open = func() (io.ReadCloser, error) { return c.zip().Open(chat, c.limits.MaxText) }
	return c, c.survey()
}

// OpenText opens a loose chat text at relPath in fsys (the watch root, opened by the caller
// with its own safety rules); media files are looked for in the text's folder. Errors as for
// OpenZip.
func OpenText(fsys fs.FS, relPath string, opts Options) (*Chat, error) {
	c, err := newChat(relPath, opts)
	if err != nil {
		return nil, err
	}
	c.fsys, c.dir, c.stat = fsys, path.Dir(relPath), map[string]transcript.FileRef{}
	c.title = textTitle(relPath)
	c.open = func() (io.ReadCloser, error) {
		f, err := fsys.Open(relPath)
		if err != nil {
			return nil, &Error{File: relPath, Reason: fmt.Sprintf("cannot open: %v", errors.Unwrap(err)), Err: err}
		}
		return f, nil
	}
	return c, c.survey()
}

func newChat(name string, opts Options) (*Chat, error) {
	if opts.Location == nil {
		return nil, ErrNoLocation
	}
	if _, err := ParseDateOrder(string(opts.DateOrder)); err != nil {
		return nil, fmt.Errorf("whatsapp: %w", err)
	}
	return &Chat{name: name, limits: opts.Limits.withDefaults(), loc: opts.Location, order: opts.DateOrder}, nil
}

// Name is the name given to Open.
func (c *Chat) Name() string { return c.name }

// Entry is the chat text's entry in the ZIP, "" for a loose text.
func (c *Chat) Entry() string { return c.entry }

// Title is the chat's name from the file name: "WhatsApp Chat - Deal team.zip" and
// "WhatsApp Chat with Deal team.txt" are both "Deal team".
func (c *Chat) Title() string { return c.title }

// ID identifies the chat: "whatsapp/<title>/<8 hex digits of its people>". It is
// transcript.Conversation.ID of every Batch.
func (c *Chat) ID() string { return c.id }

// DateOrder is the order the dates were read in (inferred, or Options.DateOrder).
func (c *Chat) DateOrder() DateOrder { return c.order }

// Participants are the chat's authors in order of first appearance (plus the WhatsApp
// participant of system lines, if any).
func (c *Chat) Participants() []transcript.Participant { return slices.Clone(c.people) }

// Messages is the number of messages (events) in the chat.
func (c *Chat) Messages() int { return c.messages }

// Problems are what Open found wrong with single entries and messages: each an *Error
// (ErrUnsafeEntry, ErrMissingMedia, ErrBomb for a media entry). The chat can still be walked;
// the caller decides whether to hold it instead. Walk returns them too.
func (c *Chat) Problems() []error { return slices.Clone(c.problems) }

func (c *Chat) errorf(line int, err error, format string, args ...any) *Error {
	return &Error{File: c.name, Entry: c.entry, Line: line, Reason: fmt.Sprintf(format, args...), Err: err}
}

var (
	copySuffix = regexp.MustCompile(` \(\d+\)$`) // "WhatsApp Chat - Deal team (1).zip", a second download
	iosPrefix  = []string{"WhatsApp Chat - ", "WhatsApp-Chat - "}
	andPrefix  = []string{"WhatsApp Chat with ", "WhatsApp Chat mit ", "WhatsApp-Chat mit ",
		"Discussion WhatsApp avec ", "Chat de WhatsApp con ", "Chat WhatsApp con "}
)

func cutName(base, ext string, prefixes []string) string {
	stem, ok := strings.CutSuffix(base, ext)
	if !ok {
		return ""
	}
	stem = copySuffix.ReplaceAllString(stem, "")
	for _, p := range prefixes {
		if t, ok := strings.CutPrefix(stem, p); ok && strings.TrimSpace(t) != "" {
			return strings.TrimSpace(t)
		}
	}
	return ""
}

func androidTitle(base string) string { return cutName(base, ".txt", andPrefix) }
func iosTitle(dir string) string      { return cutName(dir+".zip", ".zip", iosPrefix) }

func zipTitle(zipName, entry string) string {
	if t := androidTitle(path.Base(entry)); t != "" {
		return t
	}
	base := path.Base(zipName)
	for _, prefixes := range [][]string{iosPrefix, andPrefix} {
		if t := cutName(base, path.Ext(base), prefixes); t != "" {
			return t
		}
	}
	return copySuffix.ReplaceAllString(strings.TrimSuffix(base, path.Ext(base)), "")
}

func textTitle(relPath string) string {
	if t := androidTitle(path.Base(relPath)); t != "" {
		return t
	}
	if t := iosTitle(path.Base(path.Dir(relPath))); t != "" {
		return t
	}
	base := path.Base(relPath)
	return strings.TrimSuffix(base, path.Ext(base))
}

func shortHash(n int, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:n]
}
