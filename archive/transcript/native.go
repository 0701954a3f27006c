package transcript

import (
	"fmt"
	"net/mail"
	"path"
	"slices"
	"strings"
	"time"
)

// Native is archivist's own transcript format (docs/transcript-format.md): files named
// *.transcript.json, strict (unknown fields, duplicate keys and unknown versions are refused),
// attachments referenced by path relative to the transcript's folder.
type Native struct{}

var _ Format = Native{}

// NativeSuffix is how native transcript file names end.
const NativeSuffix = ".transcript.json"

// nativeVersions are the versions of the native format this package reads.
var nativeVersions = []int64{1}

func (Native) Name() string { return FormatNative }

func (Native) Match(relPath string) bool { return hasSuffixName(relPath, NativeSuffix) }

func (Native) Parse(relPath string, data []byte) (*Conversation, error) {
	dir, root, err := parseTranscript(relPath, data)
	if err != nil {
		return nil, err
	}
	n := nativeParser{checker: checker{file: relPath}, dir: dir}
	return n.conversation(root)
}

type nativeParser struct {
	checker
	dir          string
	participants unique
}

func (n *nativeParser) conversation(root *value) (*Conversation, error) {
	if err := n.object(root); err != nil {
		return nil, err
	}
	// The version first: a newer version may have fields this one does not know, and
	// "unsupported version" is the useful message then.
	version, err := n.version(root)
	if err != nil {
		return nil, err
	}
	if err := n.known(root, "version", "conversation", "participants", "events"); err != nil {
		return nil, err
	}
	c := &Conversation{Format: FormatNative, Version: int(version)}
	if err := n.header(root, c); err != nil {
		return nil, err
	}
	if c.Participants, err = n.participantList(root); err != nil {
		return nil, err
	}
	if c.Events, err = n.eventList(root); err != nil {
		return nil, err
	}
	return c, nil
}

// header reads the "conversation" object: its id, title and createdAt.
func (n *nativeParser) header(root *value, c *Conversation) error {
	conv, err := n.member(root, "conversation", true)
	if err != nil {
		return err
	}
	if err := n.object(conv); err != nil {
		return err
	}
	if err := n.known(conv, "id", "title", "createdAt"); err != nil {
		return err
	}
	if c.ID, err = n.id(conv, "id"); err != nil {
		return err
	}
	if c.Title, err = n.str(conv, "title", false); err != nil {
		return err
	}
	if v := conv.get("createdAt"); v != nil {
		if c.CreatedAt, err = n.time(v); err != nil {
			return err
		}
	}
	return nil
}

// participantList reads the "participants", which must not be empty; it records their ids
// for the events' references.
func (n *nativeParser) participantList(root *value) ([]Participant, error) {
	parts, err := n.array(root, "participants", true)
	if err != nil {
		return nil, err
	}
	if len(parts.elems) == 0 {
		return nil, invalidf(n.file, parts.path, "is empty; a conversation needs participants")
	}
	n.participants = unique{}
	var out []Participant
	for _, pv := range parts.elems {
		p, err := n.participant(pv)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// eventList reads the "events", which must not be empty, each id once.
func (n *nativeParser) eventList(root *value) ([]Event, error) {
	events, err := n.array(root, "events", true)
	if err != nil {
		return nil, err
	}
	if len(events.elems) == 0 {
		return nil, invalidf(n.file, events.path, "is empty; there is nothing to archive")
	}
	ids := unique{}
	var out []Event
	for _, ev := range events.elems {
		e, err := n.event(ev, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (n *nativeParser) version(root *value) (int64, error) {
	supported := fmt.Sprint(nativeVersions)
	supported = strings.Trim(supported, "[]")
	v := root.get("version")
	if v == nil {
		return 0, invalidf(n.file, "$.version", "is required (supported: %s)", supported)
	}
	written := v.str
	if v.kind != kindNumber {
		written = v.kind.String()
		if v.kind == kindString {
			written = quote(v.str)
		}
	}
	ver, ok := parseInt(v.str)
	if v.kind != kindNumber || !ok || !slices.Contains(nativeVersions, ver) {
		return 0, invalidf(n.file, v.path, "unsupported version %s (supported: %s)", written, supported)
	}
	return ver, nil
}

func (n *nativeParser) participant(pv *value) (Participant, error) {
	var p Participant
	if err := n.object(pv); err != nil {
		return p, err
	}
	if err := n.known(pv, "id", "displayName", "email"); err != nil {
		return p, err
	}
	var err error
	if p.ID, err = n.id(pv, "id"); err != nil {
		return p, err
	}
	if err := n.participants.add(n.checker, pv.raw("id"), p.ID); err != nil {
		return p, err
	}
	if p.DisplayName, err = n.str(pv, "displayName", true); err != nil {
		return p, err
	}
	if p.Email, err = n.str(pv, "email", false); err != nil {
		return p, err
	}
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email || a.Name != "" {
			return p, invalidf(n.file, memberPath(pv.path, "email"), "%s is not an email address (like \"name@example.com\")", quote(p.Email))
		}
	}
	return p, nil
}

func (n *nativeParser) event(ev *value, ids unique) (Event, error) {
	var e Event
	if err := n.object(ev); err != nil {
		return e, err
	}
	if err := n.known(ev, "id", "time", "type", "from", "to", "text", "systemText", "files"); err != nil {
		return e, err
	}
	var err error
	if e.ID, err = n.id(ev, "id"); err != nil {
		return e, err
	}
	if err := ids.add(n.checker, ev.raw("id"), e.ID); err != nil {
		return e, err
	}
	tv, err := n.member(ev, "time", true)
	if err != nil {
		return e, err
	}
	if e.Time, err = n.time(tv); err != nil {
		return e, err
	}
	if e.Type, err = n.str(ev, "type", true); err != nil {
		return e, err
	}
	if e.Type != EventMessage && e.Type != EventFile {
		return e, invalidf(n.file, memberPath(ev.path, "type"), "%s is not an event type (message, file)", quote(e.Type))
	}
	if e.From, err = n.str(ev, "from", true); err != nil {
		return e, err
	}
	if err := n.knownParticipant(ev.raw("from"), e.From); err != nil {
		return e, err
	}
	if e.To, err = n.recipients(ev); err != nil {
		return e, err
	}
	if e.Text, err = n.str(ev, "text", false); err != nil {
		return e, err
	}
	if e.SystemText, err = n.str(ev, "systemText", false); err != nil {
		return e, err
	}
	e.Files, err = n.eventFiles(ev, e)
	return e, err
}

// eventFiles reads the "files" of event ev: required, and not empty, for a file event; a
// message has none, but text.
func (n *nativeParser) eventFiles(ev *value, e Event) ([]FileRef, error) {
	files, err := n.array(ev, "files", false)
	if err != nil {
		return nil, err
	}
	switch e.Type {
	case EventMessage:
		if e.Text == "" {
			return nil, invalidf(n.file, memberPath(ev.path, "text"), "is required for a message")
		}
		if files != nil {
			return nil, invalidf(n.file, files.path, "only file events have files")
		}
	case EventFile:
		if files == nil {
			return nil, invalidf(n.file, memberPath(ev.path, "files"), "is required for a file event")
		}
		if len(files.elems) == 0 {
			return nil, invalidf(n.file, files.path, "is empty; a file event needs at least one file")
		}
		var out []FileRef
		for _, fv := range files.elems {
			f, err := n.fileRef(fv)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		return out, nil
	}
	return nil, nil
}

func (n *nativeParser) knownParticipant(v *value, id string) error {
	if _, ok := n.participants[id]; !ok {
		return invalidf(n.file, v.path, "%s is not a participant id", quote(id))
	}
	return nil
}

func (n *nativeParser) recipients(ev *value) ([]string, error) {
	tv, err := n.array(ev, "to", false)
	if tv == nil {
		return nil, err
	}
	if len(tv.elems) == 0 {
		return nil, invalidf(n.file, tv.path, "is empty; leave \"to\" out to share with everyone")
	}
	seen := unique{}
	to := make([]string, 0, len(tv.elems))
	for _, v := range tv.elems {
		if v.kind != kindString {
			return nil, wrongKind(n.file, v, "a participant id")
		}
		if err := n.knownParticipant(v, v.str); err != nil {
			return nil, err
		}
		if err := seen.add(n.checker, v, v.str); err != nil {
			return nil, err
		}
		to = append(to, v.str)
	}
	return to, nil
}

func (n *nativeParser) fileRef(fv *value) (FileRef, error) {
	f := FileRef{Size: -1, JSONPath: fv.path}
	if err := n.object(fv); err != nil {
		return f, err
	}
	if err := n.known(fv, "path", "href", "name", "size"); err != nil {
		return f, err
	}
	p, err := n.str(fv, "path", false)
	if err != nil {
		return f, err
	}
	href, err := n.str(fv, "href", false)
	if err != nil {
		return f, err
	}
	pv, hv := fv.get("path"), fv.get("href")
	switch {
	case pv != nil && hv != nil:
		return f, invalidf(n.file, fv.path, "has both path and href; give exactly one")
	case pv == nil && hv == nil:
		return f, invalidf(n.file, fv.path, "needs a path (a file next to the transcript) or an href (a link)")
	case pv != nil:
		resolved, reason := resolveAttachment(n.dir, p)
		if reason != "" {
			return f, invalidf(n.file, pv.path, "%s", reason)
		}
		f.Path = resolved
		f.Name = path.Base(resolved)
	default:
		name, reason := checkHref(href)
		if reason != "" {
			return f, invalidf(n.file, hv.path, "%s", reason)
		}
		f.Href, f.Name = href, name
	}
	if nv := fv.get("name"); nv != nil {
		if f.Name, err = n.str(fv, "name", true); err != nil {
			return f, err
		}
		if reason := fileNameProblem(f.Name); reason != "" {
			return f, invalidf(n.file, nv.path, "%s", reason)
		}
	} else if f.Name == "" {
		return f, invalidf(n.file, memberPath(fv.path, "name"), "is required: the link's URL does not end in a file name")
	}
	if sv := fv.get("size"); sv != nil {
		if f.Size, err = statedSize(n.file, sv); err != nil {
			return f, err
		}
	}
	return f, nil
}

// time parses an RFC 3339 string or an integer of epoch milliseconds. A string of digits is
// refused rather than guessed at: epoch values must be JSON numbers.
func (n *nativeParser) time(v *value) (time.Time, error) {
	switch v.kind {
	case kindString:
		if v.str != "" && strings.Trim(v.str, "0123456789") == "" {
			return time.Time{}, invalidf(n.file, v.path, "%s is a string of digits; epoch milliseconds must be a JSON number, not a string", quote(v.str))
		}
		t, err := time.Parse(time.RFC3339Nano, v.str)
		if err != nil {
			return time.Time{}, invalidf(n.file, v.path, "%s is not an RFC 3339 time (like \"2023-05-24T10:05:18Z\")", quote(v.str))
		}
		if reason := checkTimeRange(t, v.str); reason != "" {
			return time.Time{}, invalidf(n.file, v.path, "%s", reason)
		}
		return t.UTC(), nil
	case kindNumber:
		t, reason := parseEpochMillis(v.str)
		if reason != "" {
			return time.Time{}, invalidf(n.file, v.path, "%s", reason)
		}
		return t, nil
	default:
		return time.Time{}, wrongKind(n.file, v, "an RFC 3339 string or epoch milliseconds")
	}
}
