package slack

import (
	"archive/zip"
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/archivist-project/archivist/archive/transcript"
)

// Day is the events of one conversation on one day: one day file of the export.
type Day struct {
	Conversation *Conversation
	Date         string // "2023-05-24", the day file's name
	Entry        string // the day file's entry in the ZIP
	// Participants are the senders and recipients of Events, in order of first appearance;
	// Email is the export's profile.email ("" if it has none): resolve it with package
	// identity, source "slack", id Participant.ID.
	Participants []transcript.Participant
	// Events in ts order, one per message; Event.ID is the message's ts ("1684922718.000100"),
	// unique within the conversation; Event.Key is "slack/<workspace>/<conversation id>/<ts>".
	Events []transcript.Event
}

// Transcript is the day as a format-neutral conversation (ID = Conversation.Key).
func (d *Day) Transcript() *transcript.Conversation {
	return &transcript.Conversation{Format: transcript.FormatSlack, Version: 1, ID: d.Conversation.Key,
		ChatID: d.Conversation.ID, Title: d.Conversation.Title,
		Participants: d.Participants, Events: d.Events}
}

// Walk calls visit for each day with events, conversation by conversation (in the order of
// Conversations), days in date order. A day file that cannot be read, or a message in it that
// cannot be understood, is a problem that does not stop the walk. Walk returns visit's first
// error as it is (stopping there), ctx's error, or else errors.Join of every problem of the
// export (each an *Error, those found by Open first), nil if there was none.
func (x *Export) Walk(ctx context.Context, visit func(*Day) error) error {
	problems := slices.Clone(x.problems)
	for _, c := range x.convs {
		st := &convState{parents: map[string]string{}}
		for _, f := range x.days[c.folder] {
			if err := ctx.Err(); err != nil {
				return err
			}
			d, probs := x.readDay(c, f, st)
			problems = append(problems, probs...)
			if d == nil || len(d.Events) == 0 {
				continue
			}
			if err := visit(d); err != nil {
				return err
			}
		}
	}
	return errors.Join(problems...)
}

// convState is what is remembered across the days of one conversation: the senders of
// thread parents, so that a reply on a later day can name whom it answers.
type convState struct {
	parents map[string]string // thread ts -> sender's name
}

type stamped struct {
	m     *message
	t     ts
	index int
}

func (x *Export) readDay(c *Conversation, f *zip.File, st *convState) (*Day, []error) {
	msgs, problems, err := x.decodeDay(f)
	if err != nil {
		return nil, []error{err}
	}
	slices.SortStableFunc(msgs, func(a, b stamped) int { return cmp.Compare(a.t.micros, b.t.micros) })
	d := &Day{Conversation: c, Date: strings.TrimSuffix(path.Base(f.Name), ".json"), Entry: scrub(f.Name)}
	seen := map[string]bool{}
	b := &dayBuilder{x: x, c: c, st: st, d: d, entry: f.Name, participants: map[string]bool{}}
	for _, s := range msgs {
		if seen[s.t.canon] { // the same message twice in a day file: it has one identity
			continue
		}
		seen[s.t.canon] = true
		b.add(s)
	}
	return d, append(problems, b.problems...)
}

// decodeDay streams the messages of a day file. A message that is not an object of the
// expected shape, or has no valid ts, is a problem; JSON that is broken, or not an array,
// fails the whole day (err), so that a day is archived whole or not at all.
func (x *Export) decodeDay(f *zip.File) (msgs []stamped, problems []error, err error) {
	rc, err := x.zip().Open(f, x.limits.MaxDayFile)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3) //nolint:errcheck // Peek just saw these bytes
	}
	dec := json.NewDecoder(br)
	broken := func(err error) error {
		var e *Error
		if errors.As(err, &e) {
			return e // a read error (a bomb): already names the entry
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return x.errorf(f.Name, transcript.ErrInvalid, "invalid JSON: %v", err)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		if err != nil && !errors.As(err, new(*json.SyntaxError)) && !errors.Is(err, io.EOF) {
			return nil, nil, broken(err)
		}
		return nil, nil, x.errorf(f.Name, transcript.ErrInvalid, "not a JSON array")
	}
	for i := 0; dec.More(); i++ {
		m := new(message)
		if err := dec.Decode(m); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) { // the stream is broken
				return nil, nil, broken(err)
			}
			problems = append(problems, x.errorf(f.Name, transcript.ErrInvalid, "$[%d]: not a message: %v", i, err))
			continue
		}
		t, err := parseTS(m.TS)
		if err != nil {
			problems = append(problems, x.errorf(f.Name, transcript.ErrInvalid, "$[%d].ts: %v", i, err))
			continue
		}
		msgs = append(msgs, stamped{m, t, i})
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, broken(err)
	}
	return msgs, problems, nil
}

// title names a conversation for the archive.
func (x *Export) title(c *Conversation) string {
	switch c.Kind {
	case KindDM, KindGroupDM:
		names := make([]string, 0, len(c.Members))
		for _, id := range c.Members {
			names = append(names, x.person(id, "").DisplayName)
		}
		label := "Direct message"
		if c.Kind == KindGroupDM {
			label = "Group direct message"
		}
		if len(names) == 0 {
			return scrub(label + " " + c.ID)
		}
		return scrub(label + ": " + strings.Join(names, ", "))
	default:
		return scrub("#" + c.Name)
	}
}
