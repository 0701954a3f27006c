package transcript

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Genesys reads a Genesys Web Services (Engage) chat transcript: files named *.genesys.json
// holding the object of a chat notification or message log, {"chatPath", "chatUri",
// "messages": [...]}. It is lenient about members it does not use (vendors add fields) and
// strict about those it does. See docs/transcript-format.md for the mapping.
type Genesys struct{}

var _ Format = Genesys{}

// GenesysSuffix is how Genesys transcript file names end.
const GenesysSuffix = ".genesys.json"

// GenesysAttachmentDir is the folder, next to a Genesys transcript, holding its attachments:
// attachment {id, name} is expected at <transcript folder>/attachments/<id>/<name>.
const GenesysAttachmentDir = "attachments"

func (Genesys) Name() string { return FormatGenesys }

func (Genesys) Match(relPath string) bool { return hasSuffixName(relPath, GenesysSuffix) }

func (Genesys) Parse(relPath string, data []byte) (*Conversation, error) {
	dir, root, err := parseTranscript(relPath, data)
	if err != nil {
		return nil, err
	}
	g := genesysParser{checker: checker{file: relPath}, dir: dir, participants: map[string]bool{}}
	c := &Conversation{Format: FormatGenesys, Version: 1}
	if err := g.object(root); err != nil {
		return nil, err
	}
	if c.ChatID, err = g.chatID(root); err != nil {
		return nil, err
	}
	c.ID = c.ChatID
	if c.ID == "" {
		c.ID = path.Clean(relPath)
	}
	msgs, err := g.array(root, "messages", true)
	if err != nil {
		return nil, err
	}
	if len(msgs.elems) == 0 {
		return nil, invalidf(relPath, msgs.path, "is empty; there is nothing to archive")
	}
	ids := unique{}
	for i, mv := range msgs.elems {
		e, keep, err := g.message(c, i, mv, ids)
		if err != nil {
			return nil, err
		}
		if keep {
			c.Events = append(c.Events, e)
		}
	}
	if len(c.Events) == 0 {
		return nil, invalidf(relPath, msgs.path, "holds only typing notifications and empty messages; there is nothing to archive")
	}
	return c, nil
}

type genesysParser struct {
	checker
	dir          string
	participants map[string]bool
}

// chatID takes the chat id from chatPath ("/chats/{id}") or chatUri (".../chats/{id}"); if
// both are present they must agree. "" if neither is.
func (g *genesysParser) chatID(root *value) (string, error) {
	fromPath, fromURI := "", ""
	if v := root.get("chatPath"); v != nil {
		if v.kind != kindString {
			return "", wrongKind(g.file, v, "a string")
		}
		id, ok := strings.CutPrefix(v.str, "/chats/")
		if !ok || chatIDProblem(id) != "" {
			return "", invalidf(g.file, v.path, "%s is not /chats/{id}", quote(v.str))
		}
		fromPath = id
	}
	if v := root.get("chatUri"); v != nil {
		if v.kind != kindString {
			return "", wrongKind(g.file, v, "a string")
		}
		u, err := url.Parse(v.str)
		var id string
		if err == nil {
			dir, last := path.Split(strings.TrimSuffix(u.Path, "/"))
			if strings.HasSuffix(dir, "/chats/") {
				id = last
			}
		}
		if id == "" || chatIDProblem(id) != "" {
			return "", invalidf(g.file, v.path, "%s does not end in /chats/{id}", quote(v.str))
		}
		fromURI = id
		if fromPath != "" && fromURI != fromPath {
			return "", invalidf(g.file, v.path, "names chat %s but $.chatPath names %s", quote(fromURI), quote(fromPath))
		}
	}
	if fromPath != "" {
		return fromPath, nil
	}
	return fromURI, nil
}

// chatIDProblem restricts chat ids to what can go into a URL path segment unescaped.
func chatIDProblem(id string) string {
	if id == "" || len(id) > maxIDLen {
		return "bad length"
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "bad character"
		}
	}
	if isDotName(id) {
		return "dot name"
	}
	return ""
}

// Genesys message types with a meaning of their own; any other type (Notice, SystemCommand,
// ...) is a system message.
const (
	genesysMessage       = "Message"
	genesysPushURL       = "PushUrl"
	genesysJoined        = "ParticipantJoined"
	genesysLeft          = "ParticipantLeft"
	genesysTypingStarted = "TypingStarted"
	genesysTypingStopped = "TypingStopped"
)

// message converts messages[i]. keep is false for what is not archived: typing
// notifications and messages with nothing to show.
func (g *genesysParser) message(c *Conversation, i int, mv *value, ids unique) (e Event, keep bool, err error) {
	if err := g.object(mv); err != nil {
		return e, false, err
	}
	if e.From, err = g.from(c, mv); err != nil {
		return e, false, err
	}
	if e.Time, err = g.time(mv); err != nil {
		return e, false, err
	}
	if e.ID, e.Positional, err = g.eventID(i, mv, ids); err != nil {
		return e, false, err
	}
	typ, err := g.str(mv, "type", false)
	if err != nil {
		return e, false, err
	}
	text, err := g.str(mv, "text", false)
	if err != nil {
		return e, false, err
	}
	notice, err := g.str(mv, "noticeText", false)
	if err != nil {
		return e, false, err
	}
	if av := mv.get("attachment"); av != nil {
		f, err := g.attachment(av)
		if err != nil {
			return e, false, err
		}
		e.Type, e.Text, e.SystemText, e.Files = EventFile, text, notice, []FileRef{f}
		return e, true, nil
	}
	e.Type = EventMessage
	switch typ {
	case genesysTypingStarted, genesysTypingStopped:
		return e, false, nil
	case "", genesysMessage, genesysPushURL:
		e.Text, e.SystemText = text, notice
	default:
		// Shown to the participants by the system, not typed by the sender.
		var parts []string
		for _, s := range []string{notice, text} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) == 0 {
			nick := g.nickname(c, e.From)
			switch typ {
			case genesysJoined:
				parts = []string{nick + " joined the chat"}
			case genesysLeft:
				parts = []string{nick + " left the chat"}
			}
		}
		e.SystemText = strings.Join(parts, ": ")
	}
	return e, e.Text != "" || e.SystemText != "", nil
}

// from registers the sender as a participant (the first sighting names them) and returns
// their id: from.id, else from.participantId, else from.nickname.
func (g *genesysParser) from(c *Conversation, mv *value) (string, error) {
	fv, err := g.member(mv, "from", true)
	if err != nil {
		return "", err
	}
	if err := g.object(fv); err != nil {
		return "", err
	}
	var vals [4]string // id, participantId, nickname, type
	for k, key := range []string{"id", "participantId", "nickname", "type"} {
		if vals[k], err = g.str(fv, key, false); err != nil {
			return "", err
		}
	}
	id, idKey := "", ""
	for k, key := range []string{"id", "participantId", "nickname"} {
		if vals[k] != "" {
			id, idKey = vals[k], key
			break
		}
	}
	if id == "" {
		return "", invalidf(g.file, fv.path, "needs an id, participantId or nickname")
	}
	if reason := idProblem(id); reason != "" {
		return "", invalidf(g.file, memberPath(fv.path, idKey), "%s", reason)
	}
	if !g.participants[id] {
		g.participants[id] = true
		name := vals[2]
		if name == "" {
			name = id
		}
		c.Participants = append(c.Participants, Participant{ID: id, DisplayName: name, Role: vals[3]})
	}
	return id, nil
}

func (g *genesysParser) nickname(c *Conversation, id string) string {
	for _, p := range c.Participants {
		if p.ID == id {
			return p.DisplayName
		}
	}
	return id
}

// eventID is the message's index (Genesys numbers the messages of a chat), else its id, else
// its position in the messages array (positional: then it is no identity).
func (g *genesysParser) eventID(i int, mv *value, ids unique) (id string, positional bool, err error) {
	var at *value
	if v := mv.get("index"); v != nil {
		n, ok := parseInt(v.str)
		if v.kind != kindNumber || !ok || n < 0 {
			return "", false, invalidf(g.file, v.path, "want a whole number, 0 or more, got %s", describe(v))
		}
		id, at = strconv.FormatInt(n, 10), v
	} else if v := mv.get("id"); v != nil {
		s, err := g.id(mv, "id")
		if err != nil {
			return "", false, err
		}
		id, at = s, v
	} else {
		id, at, positional = strconv.Itoa(i), mv, true
	}
	if err := ids.add(g.checker, at, id); err != nil {
		return "", false, err
	}
	return id, positional, nil
}

// Layouts of Genesys' "timestamp" ("2016-07-21 17:23:20.000+0300"); fractional seconds are
// accepted by time.Parse without being in the layout. A time without a zone is refused.
var genesysLayouts = []string{
	"2006-01-02 15:04:05Z0700",
	"2006-01-02 15:04:05Z07:00",
	time.RFC3339Nano,
}

// time reads "timestamp" and "timestampSeconds". Despite its name, Genesys fills
// timestampSeconds with epoch milliseconds (1469111000000 for 2016-07-21 14:23:20 UTC); a
// value below 10^11 is read as seconds, since no millisecond value after 1973 and no second
// value before year 5138 is on the other side. With both present they must agree within a
// second, and the numeric one (exact, no zone to get wrong) is used.
func (g *genesysParser) time(mv *value) (time.Time, error) {
	var fromString, fromNumber time.Time
	sv, nv := mv.get("timestamp"), mv.get("timestampSeconds")
	if sv == nil && nv == nil {
		return time.Time{}, invalidf(g.file, memberPath(mv.path, "timestamp"), "is required (or timestampSeconds)")
	}
	if sv != nil {
		if sv.kind != kindString {
			return time.Time{}, wrongKind(g.file, sv, "a string")
		}
		var err error
		for _, layout := range genesysLayouts {
			if fromString, err = time.Parse(layout, sv.str); err == nil {
				break
			}
		}
		if err != nil {
			return time.Time{}, invalidf(g.file, sv.path, "%s is not a time like \"2016-07-21 17:23:20.000+0300\" or RFC 3339", quote(sv.str))
		}
		if reason := checkTimeRange(fromString, sv.str); reason != "" {
			return time.Time{}, invalidf(g.file, sv.path, "%s", reason)
		}
		fromString = fromString.UTC()
	}
	if nv == nil {
		return fromString, nil
	}
	n, ok := parseInt(nv.str)
	if nv.kind != kindNumber || !ok || n <= 0 {
		return time.Time{}, invalidf(g.file, nv.path, "want epoch milliseconds (a positive whole number), got %s", describe(nv))
	}
	lit := nv.str
	if n < minEpochMillis {
		lit = strconv.FormatInt(n*1000, 10) // epoch seconds
	}
	fromNumber, reason := parseEpochMillis(lit)
	if reason != "" {
		return time.Time{}, invalidf(g.file, nv.path, "%s", reason)
	}
	if sv != nil {
		if d := fromNumber.Sub(fromString); d > time.Second || d < -time.Second {
			return time.Time{}, invalidf(g.file, nv.path, "%s (%s) disagrees with timestamp %s",
				nv.str, fromNumber.Format(time.RFC3339Nano), quote(sv.str))
		}
	}
	return fromNumber, nil
}

// attachment maps {id, name, size} to the file at <transcript folder>/attachments/<id>/<name>.
func (g *genesysParser) attachment(av *value) (FileRef, error) {
	f := FileRef{Size: -1, JSONPath: av.path}
	if err := g.object(av); err != nil {
		return f, err
	}
	id, err := g.str(av, "id", true)
	if err != nil {
		return f, err
	}
	if reason := fileNameProblem(id); reason != "" {
		return f, invalidf(g.file, memberPath(av.path, "id"), "%s", reason)
	}
	if f.Name, err = g.str(av, "name", true); err != nil {
		return f, err
	}
	if reason := fileNameProblem(f.Name); reason != "" {
		return f, invalidf(g.file, memberPath(av.path, "name"), "%s", reason)
	}
	var reason string
	if f.Path, reason = resolveAttachment(g.dir, GenesysAttachmentDir+"/"+id+"/"+f.Name); reason != "" {
		return f, invalidf(g.file, av.path, "%s", reason) // unreachable: id and name are single names
	}
	if sv := av.get("size"); sv != nil {
		if f.Size, err = statedSize(g.file, sv); err != nil {
			return f, err
		}
	}
	return f, nil
}

// describe renders a value of the wrong kind or range for a reason.
func describe(v *value) string {
	switch v.kind {
	case kindNumber:
		return v.str
	case kindString:
		return "the string " + quote(v.str)
	default:
		return fmt.Sprint(v.kind)
	}
}
