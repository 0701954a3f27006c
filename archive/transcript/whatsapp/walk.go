package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
)

// Batch is consecutive events of one local day of the chat (a long day is cut into several
// batches of at most Limits.MaxBatch events).
type Batch struct {
	Chat *Chat
	Date string // the local day, "2023-05-24"
	// Participants are the senders of Events, in order of first appearance. Resolve them
	// with package identity: source "whatsapp", id Participant.ID (a phone number in E.164
	// form, else the name as shown); the export states no emails.
	Participants []transcript.Participant
	// Events in file order (equal times keep it). Event.Key is
	// "whatsapp/<title>/<local time>/<hash of time, author and text>/<n>", n counting the
	// identical messages before it; Event.ID is Key without "whatsapp/<title>/".
	Events []transcript.Event
}

// Transcript is the batch as a format-neutral conversation (ID = Chat.ID()).
func (b *Batch) Transcript() *transcript.Conversation {
	return &transcript.Conversation{Format: Format, Version: 1, ID: b.Chat.id, Title: b.Chat.title,
		Participants: b.Participants, Events: b.Events}
}

// Walk reads the chat text again and calls visit for each batch, in file order. It returns
// visit's first error as it is (stopping there), ctx's error, an *Error when the text reads
// differently than it did for Open (ErrChanged), or else errors.Join of Problems (nil if none).
func (c *Chat) Walk(ctx context.Context, visit func(*Batch) error) error {
	rc, err := c.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	s := c.newScanner(rc)
	k := &keyer{prefix: "whatsapp/" + c.title + "/", counts: map[string]int{}}
	var b *Batch
	seen := map[string]bool{}
	n := 0
	for ; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		m, err := s.next()
		if err != nil {
			return changed(err)
		}
		if m == nil {
			break
		}
		st, err := m.hdr.stamp(c.order)
		if err != nil || n >= c.messages {
			return c.errorf(m.line, ErrChanged, "the chat text changed since it was opened")
		}
		if b != nil && (b.Date != st.day() || len(b.Events) >= c.limits.MaxBatch) {
			if err := visit(b); err != nil {
				return err
			}
			b = nil
		}
		if b == nil {
			b = &Batch{Chat: c, Date: st.day()}
			clear(seen)
		}
		u := c.understand(m, c.style)
		p := c.person(u)
		if !seen[p.ID] {
			seen[p.ID] = true
			b.Participants = append(b.Participants, p)
		}
		b.Events = append(b.Events, c.event(u, p, st, k.key(st, p.ID, m.body, m.line)))
	}
	if n != c.messages {
		return c.errorf(0, ErrChanged, "the chat text changed since it was opened: %d messages, then %d", c.messages, n)
	}
	if b != nil {
		if err := visit(b); err != nil {
			return err
		}
	}
	return errors.Join(c.problems...)
}

// changed reports a read error of the second pass; errors the first pass did not see mean
// the text changed.
func changed(err error) error {
	var e *Error
	if errors.As(err, &e) && !errors.Is(err, ErrBomb) {
		e.Reason += " (the chat text changed since it was opened)"
		e.Err = errors.Join(e.Err, ErrChanged)
	}
	return err
}

// keyer gives each message its exactly-once key. Identical messages (same time, author and
// text) are told apart by their position among each other. Counts are kept for the hour
// before the latest time seen (a clock change repeats an hour), so memory stays bounded; a
// message dated more than an hour before one above it (a phone clock set back) cannot be
// counted among its twins and is told apart by its line instead ("/L<line>").
type keyer struct {
	prefix string
	latest time.Time // wall clock, as UTC
	counts map[string]int
	queue  []stamped // the stamps counted, oldest first (mostly)
}

type stamped struct {
	wall   time.Time
	hashes []string
}

const keyWindow = time.Hour

func (k *keyer) key(st stamp, author, body string, line int) string {
	wall := st.in(time.UTC)
	h := shortHash(16, st.local(), author, body)
	if wall.After(k.latest) {
		k.latest = wall
		for len(k.queue) > 0 && k.queue[0].wall.Before(k.latest.Add(-keyWindow)) {
			for _, old := range k.queue[0].hashes {
				delete(k.counts, old)
			}
			k.queue = k.queue[1:]
		}
	} else if wall.Before(k.latest.Add(-keyWindow)) {
		return fmt.Sprintf("%s%s/%s/L%d", k.prefix, st.local(), h, line)
	}
	n := k.counts[h]
	k.counts[h] = n + 1
	if n == 0 {
		if q := len(k.queue); q > 0 && k.queue[q-1].wall.Equal(wall) {
			k.queue[q-1].hashes = append(k.queue[q-1].hashes, h)
		} else {
			k.queue = append(k.queue, stamped{wall: wall, hashes: []string{h}})
		}
	}
	return fmt.Sprintf("%s%s/%s/%d", k.prefix, st.local(), h, n)
}

// event maps one message (see docs/transcript-format.md).
func (c *Chat) event(u msg, p transcript.Participant, st stamp, key string) transcript.Event {
	ev := transcript.Event{ID: strings.TrimPrefix(key, "whatsapp/"+c.title+"/"), Key: key, Time: st.in(c.loc),
		Type: transcript.EventMessage, From: p.ID, Text: u.text}
	var notes []string
	switch u.kind {
	case kindSystem:
		ev.Type, ev.Text = transcript.EventNotice, ""
		notes = append(notes, u.text)
	case kindDeleted:
		ev.Type = transcript.EventNotice
		notes = append(notes, fmt.Sprintf("%s deleted a message; its text is not in the export.", p.DisplayName))
	case kindOmitted:
		notes = append(notes, fmt.Sprintf("A media file was not included: the chat was exported without media (WhatsApp wrote %q).", shownName(u.file)))
	case kindAttached:
		if ref, ok := c.mediaRef(u.file, u.line); ok {
			ev.Type, ev.Files = transcript.EventFile, []transcript.FileRef{ref}
		} else {
			notes = append(notes, fmt.Sprintf("File %s was attached, but the export does not contain it.", u.file))
		}
	}
	if u.edited {
		notes = append(notes, "Edited; this is the final text.")
	}
	if ev.Type == transcript.EventMessage && ev.Text == "" && len(notes) == 0 {
		notes = append(notes, "The message has no text.")
	}
	ev.SystemText = strings.Join(notes, "\n")
	return ev
}

// OpenEntry opens the bytes of a media file named by a transcript.FileRef.Entry, bounded by
// Limits.MaxMedia and MaxRatio on the bytes actually read. Errors are *Error.
func (c *Chat) OpenEntry(entry string) (io.ReadCloser, error) {
	name := path.Base(entry)
	if f := c.media[name]; f != nil && f.Name == entry && !c.refused[name] && c.zip().CheckSize(f, c.limits.MaxMedia) == nil {
		return c.zip().Open(f, c.limits.MaxMedia)
	}
	return nil, c.entryError(entry, fs.ErrNotExist, "no such media file in the export")
}
