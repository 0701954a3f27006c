package teams

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/transcript"
)

// FormatTeams is the value of transcript.Conversation.Format for Teams batches.
const FormatTeams = "teams"

// Suffix names a Teams dump: "<anything>.teams.json".
const Suffix = ".teams.json"

// Match reports whether relPath names a Teams dump, by its file name.
func Match(relPath string) bool {
	base := path.Base(relPath)
	return len(base) > len(Suffix) && strings.HasSuffix(strings.ToLower(base), Suffix)
}

// Options configure Read. The zero value is the default.
type Options struct {
	// Directory names people the export leaves unnamed (system messages carry only ids);
	// nil: they are named by their id. Emails are resolved by the caller, not here.
	Directory *identity.Directory
	// Conversation is the conversation key for messages that state neither chatId nor
	// channelIdentity in a file whose @odata.context does not name one either; "" makes
	// them problems (ErrNoConversation).
	Conversation string
	// MaxMessage bounds the bytes of one JSON value (a chatMessage, with its replies when
	// the dump used $expand=replies; default 16 MiB: Teams caps a message at about 28 KB of
	// text, cards and HTML add some, and an expanded thread holds up to 1,000 replies).
	MaxMessage int64
	// BatchSize is the most events in one Batch (default 500).
	BatchSize int
}

func (o Options) withDefaults() Options {
	if o.MaxMessage <= 0 {
		o.MaxMessage = 16 << 20
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	return o
}

// Batch is consecutive messages of one conversation from the file, at most
// Options.BatchSize of them.
type Batch struct {
	// Conversation identifies the conversation across dumps: "chats/<chatId>" or
	// "teams/<teamId>/channels/<channelId>" (or Options.Conversation).
	Conversation string
	ChatID       string // the chatId, or the channelId for a channel; "" for Options.Conversation
	TeamID       string // the team of a channel; "" for chats
	// Participants are the senders, initiators and affected members of Events, in order of
	// first appearance. Resolve their emails with package identity, source "teams", id
	// Participant.ID (the Entra object id; a bot's application id); Email is set only when
	// the export states one (an emailUser sender).
	Participants []transcript.Participant
	// Events, one per message, in createdDateTime order (the file's order for equal times);
	// Event.ID is the message id, Event.Key "teams/<Conversation>/messages/<id>".
	Events []transcript.Event
}

// Transcript is the batch as a format-neutral conversation (ID = Batch.Conversation).
func (b *Batch) Transcript() *transcript.Conversation {
	return &transcript.Conversation{Format: FormatTeams, Version: 1, ID: b.Conversation, ChatID: b.ChatID,
		Participants: b.Participants, Events: b.Events}
}

// Read streams the chatMessages in r (name names the file in errors) and calls visit for
// each Batch. A message that cannot be understood is a problem that does not stop the
// reading; JSON that breaks off, or a value above MaxMessage, stops it, after the batches
// read so far were visited. Read returns visit's first error as it is (stopping there),
// ctx's error, or else errors.Join of every problem (each a *transcript.Error naming the
// file and the JSON path), nil if there was none.
func Read(ctx context.Context, r io.Reader, name string, opts Options, visit func(*Batch) error) error {
	opts = opts.withDefaults()
	m := &meter{r: r, max: opts.MaxMessage}
	br := bufio.NewReaderSize(m, 64<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3) //nolint:errcheck // Peek just saw these bytes
	}
	rd := &reader{ctx: ctx, name: name, opts: opts, dec: json.NewDecoder(br), visit: visit}
	rd.dec.UseNumber() // a number out of float64's range is not a reason to stop
	m.dec = rd.dec
	m.buffered = br.Buffered
	err := rd.run()
	if err == nil {
		err = rd.flush()
	}
	if err != nil {
		return err
	}
	if rd.dropped > 0 {
		rd.problems = append(rd.problems, &transcript.Error{File: name, Err: transcript.ErrInvalid,
			Reason: fmt.Sprintf("%d more problems not listed", rd.dropped)})
	}
	return errors.Join(rd.problems...)
}

// meter bounds the bytes buffered for one JSON value: a value is complete within MaxMessage
// bytes past the decoder's offset, or the read fails.
type meter struct {
	r        io.Reader
	max      int64
	n        int64
	dec      *json.Decoder
	buffered func() int
}

func (m *meter) Read(p []byte) (int, error) {
	if m.dec != nil && m.n-int64(m.buffered())-m.dec.InputOffset() > m.max {
		return 0, errTooLarge
	}
	if int64(len(p)) > m.max {
		p = p[:m.max]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &readError{err}
	}
	return n, err
}

// readError is a failure to read the file itself, not a problem with its content.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

type reader struct {
	ctx      context.Context
	name     string
	opts     Options
	dec      *json.Decoder
	visit    func(*Batch) error
	problems []error
	dropped  int

	names   map[string]string // id -> displayName seen in the file
	context string            // the current page's @odata.context
	batch   *Batch
	inBatch map[string]bool // ids in batch
	people  map[string]int  // participant id -> index in batch.Participants
}

// errStop is returned by the parsing steps when the stream cannot be read on; the problem has
// been recorded.
var errStop = errors.New("stop")

func (rd *reader) run() error {
	for page := 0; ; page++ {
		root := "$"
		if page > 0 {
			root = fmt.Sprintf("$(value %d)", page+1) // pages written one after the other
		}
		tok, err := rd.dec.Token()
		if errors.Is(err, io.EOF) {
			if page == 0 {
				rd.problem("", ErrNotChatMessages, "empty file: not JSON")
			}
			return nil
		}
		if err != nil {
			return ignoreStop(rd.broken(root, err, page == 0))
		}
		switch tok {
		case json.Delim('['):
			err = rd.array(root)
		case json.Delim('{'):
			err = rd.object(root)
		default:
			rd.problem(root, ErrNotChatMessages, "a JSON %s, not a Graph list response or an array of chatMessages", kind(tok))
			return nil
		}
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func kind(tok json.Token) string {
	switch tok.(type) {
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// broken records why the stream cannot be read on; at the very start, it is not JSON.
func (rd *reader) broken(jsonPath string, err error, atStart bool) error {
	if errors.Is(err, errTooLarge) {
		rd.problem(jsonPath, ErrMessageTooLarge, "a JSON value larger than %d bytes: reading stopped here", rd.opts.MaxMessage)
		return errStop
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	var re *readError
	if errors.As(err, &re) {
		return fmt.Errorf("read %s: %w", rd.name, re.err) // the file could not be read
	}
	if atStart {
		rd.problem("", ErrNotChatMessages, "not JSON: %v", err)
		return errStop
	}
	rd.problem(jsonPath, transcript.ErrInvalid, "invalid JSON: %v; reading stopped here", err)
	return errStop
}

func ignoreStop(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}
