package slack

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/transcript"
)

// message is what is kept of one element of a day file. The URLs that carry the export's
// token (url_private, url_private_download, thumb_*) are deliberately not decoded.
type message struct {
	Type         string `json:"type"`
	Subtype      string `json:"subtype"`
	User         string `json:"user"`
	BotID        string `json:"bot_id"`
	Username     string `json:"username"`
	Text         string `json:"text"`
	TS           string `json:"ts"`
	ThreadTS     string `json:"thread_ts"`
	ParentUserID string `json:"parent_user_id"`
	Inviter      string `json:"inviter"`
	Topic        string `json:"topic"`
	Purpose      string `json:"purpose"`
	Name         string `json:"name"`
	OldName      string `json:"old_name"`
	BotProfile   *struct {
		Name string `json:"name"`
	} `json:"bot_profile"`
	UserProfile *struct {
		RealName    string `json:"real_name"`
		DisplayName string `json:"display_name"`
	} `json:"user_profile"`
	Edited *struct {
		User string `json:"user"`
		TS   string `json:"ts"`
	} `json:"edited"`
	Reactions []struct {
		Name  string   `json:"name"`
		Users []string `json:"users"`
		Count int      `json:"count"`
	} `json:"reactions"`
	Files       []file       `json:"files"`
	File        *file        `json:"file"` // legacy file_share / file_comment
	Attachments []attachment `json:"attachments"`
	Comment     *struct {
		User    string `json:"user"`
		Comment string `json:"comment"`
	} `json:"comment"`
	Room *room `json:"room"`
}

type file struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Title     string `json:"title"`
	Mimetype  string `json:"mimetype"`
	Size      int64  `json:"size"`
	Mode      string `json:"mode"`
	Permalink string `json:"permalink"`
}

type attachment struct {
	Fallback string `json:"fallback"`
	Pretext  string `json:"pretext"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}

type room struct {
	Name               string   `json:"name"`
	CreatedBy          string   `json:"created_by"`
	DateStart          int64    `json:"date_start"`
	DateEnd            int64    `json:"date_end"`
	Participants       []string `json:"participants"`
	ParticipantHistory []string `json:"participant_history"`
}

// ts is a Slack message timestamp, "seconds.micros".
type ts struct {
	micros int64
	canon  string // "%d.%06d"
}

func (t ts) time() time.Time { return time.UnixMicro(t.micros).UTC() }

// maxSeconds is the end of year 9999.
const maxSeconds = 253402300799

func parseTS(s string) (ts, error) {
	sec, frac, _ := strings.Cut(s, ".")
	if sec == "" || len(sec) > 12 || len(frac) > 9 || !digits(sec) || !digits(frac) {
		return ts{}, fmt.Errorf("%q is not a Slack timestamp (seconds.micros)", s)
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n > maxSeconds {
		return ts{}, fmt.Errorf("%q is out of range", s)
	}
	frac = (frac + "000000")[:6]
	us, _ := strconv.ParseInt(frac, 10, 64) // six digits, checked above
	return ts{micros: n*1_000_000 + us, canon: strconv.FormatInt(n, 10) + "." + frac}, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// person is the participant for a user id; fallbackName is used when users.json does not
// know the id.
func (x *Export) person(id, fallbackName string) transcript.Participant {
	if u := x.users[id]; u != nil {
		p := transcript.Participant{ID: scrub(id), DisplayName: scrub(u.displayName()), Email: strings.TrimSpace(u.Profile.Email)}
		if u.IsBot {
			p.Role = "bot"
		}
		return p
	}
	p := transcript.Participant{ID: scrub(id), DisplayName: scrub(strings.TrimSpace(fallbackName))}
	if id == "USLACKBOT" {
		p.Role = "bot"
		if p.DisplayName == "" {
			p.DisplayName = "Slackbot"
		}
	}
	if p.DisplayName == "" {
		p.DisplayName = p.ID
	}
	return p
}

// sender is who sent m: its user; else its bot (the bot's user in users.json if there is
// one), named by the message's username or bot profile; else its username.
func (x *Export) sender(m *message) transcript.Participant {
	botName := m.Username
	if botName == "" && m.BotProfile != nil {
		botName = m.BotProfile.Name
	}
	switch {
	case m.User != "":
		name := botName
		if m.UserProfile != nil {
			name = firstOf(m.UserProfile.RealName, m.UserProfile.DisplayName, name)
		}
		p := x.person(m.User, name)
		if m.BotID != "" && botName != "" && x.users[m.User] == nil {
			p.Role = "bot"
		}
		return p
	case m.BotID != "":
		if u := x.bots[m.BotID]; u != nil {
			p := x.person(u.ID, "")
			p.DisplayName, p.Role = scrub(firstOf(botName, p.DisplayName)), "bot"
			return p
		}
		return transcript.Participant{ID: scrub(m.BotID), DisplayName: scrub(firstOf(botName, m.BotID)), Role: "bot"}
	case botName != "":
		return transcript.Participant{ID: scrub(botName), DisplayName: scrub(botName), Role: "bot"}
	case m.Comment != nil && m.Comment.User != "": // a legacy file comment
		return x.person(m.Comment.User, "")
	default:
		return transcript.Participant{ID: "unknown", DisplayName: "Unknown sender"}
	}
}

// firstOf returns the first non-empty of its arguments, trimmed.
func firstOf(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// dayBuilder turns the messages of one day file into events.
type dayBuilder struct {
	x            *Export
	c            *Conversation
	st           *convState
	d            *Day
	entry        string
	participants map[string]bool
	problems     []error
}

func (b *dayBuilder) use(p transcript.Participant) {
	if !b.participants[p.ID] {
		b.participants[p.ID] = true
		b.d.Participants = append(b.d.Participants, p)
	}
}

func (b *dayBuilder) add(s stamped) {
	m := s.m
	from := b.x.sender(m)
	ev := transcript.Event{ID: s.t.canon, Time: s.t.time(), From: from.ID,
		Key: "slack/" + b.x.workspace + "/" + b.c.ID + "/" + s.t.canon}
	var notes []string
	switch kindOf(m.Subtype) {
	case kindMessage:
		ev.Type, ev.Text = transcript.EventMessage, b.x.messageText(m)
		if m.Subtype == "me_message" {
			notes = append(notes, "A /me message.")
		}
		if m.Subtype == "thread_broadcast" {
			notes = append(notes, "Also sent to the channel.")
		}
		var fnotes []string
		ev.Files, fnotes = b.files(m, s.index)
		notes = append(notes, fnotes...)
		if len(ev.Files) > 0 {
			ev.Type = transcript.EventFile
		} else if ev.Text == "" && len(fnotes) == 0 {
			notes = append(notes, "The message has no text.")
		}
	case kindJoined:
		ev.Type = transcript.EventJoined
		notes = append(notes, withActor(firstOf(b.x.render(m.Text), "joined the channel."), from))
		if m.Inviter != "" {
			notes = append(notes, "Invited by "+b.x.person(m.Inviter, "").DisplayName+".")
		}
	default:
		ev.Type = transcript.EventNotice
		if text := b.x.noticeText(m, from); m.Subtype == "tombstone" {
			notes = append(notes, text) // Slack's placeholder sender is not the one who deleted it
		} else {
			notes = append(notes, withActor(text, from))
		}
	}
	notes = append(notes, b.annotations(m, from)...)
	ev.SystemText = scrub(strings.Join(notes, "\n"))
	ev.Text = scrub(ev.Text)
	if b.c.Kind == KindDM || b.c.Kind == KindGroupDM {
		for _, id := range b.c.Members {
			if id = scrub(id); id != from.ID {
				ev.To = append(ev.To, id)
			}
		}
	}
	b.use(from)
	for _, id := range ev.To {
		b.use(b.x.person(id, ""))
	}
	b.d.Events = append(b.d.Events, ev)
}

type kind int

const (
	kindMessage kind = iota
	kindJoined
	kindNotice
)

func kindOf(subtype string) kind {
	switch subtype {
	case "", "thread_broadcast", "reply_broadcast", "me_message", "bot_message", "file_share", "file_comment", "file_mention":
		return kindMessage
	case "channel_join", "group_join":
		return kindJoined
	default:
		return kindNotice
	}
}

// messageText is the rendered text of a message: its text, else its legacy file comment,
// else the text of its attachments (bots often post only those).
func (x *Export) messageText(m *message) string {
	if t := x.render(m.Text); t != "" {
		return t
	}
	if m.Comment != nil && m.Comment.Comment != "" {
		return x.render(m.Comment.Comment)
	}
	var parts []string
	for _, a := range m.Attachments {
		if t := firstOf(a.Fallback, strings.TrimSpace(strings.Join([]string{a.Pretext, a.Title, a.Text}, "\n"))); t != "" {
			parts = append(parts, x.render(t))
		}
	}
	return strings.Join(parts, "\n")
}

// annotations say what else Slack showed with a message: the thread it answers, its edit,
// its reactions.
func (b *dayBuilder) annotations(m *message, from transcript.Participant) []string {
	var notes []string
	if m.ThreadTS != "" && m.ThreadTS == m.TS {
		b.st.parents[m.ThreadTS] = from.DisplayName
	} else if m.ThreadTS != "" {
		parent := ""
		if m.ParentUserID != "" {
			parent = b.x.person(m.ParentUserID, "").DisplayName
		} else if p, ok := b.st.parents[m.ThreadTS]; ok {
			parent = p
		}
		at := m.ThreadTS
		if t, err := parseTS(m.ThreadTS); err == nil {
			at = when(t.time())
		}
		if parent != "" {
			notes = append(notes, fmt.Sprintf("Reply in the thread of %s's message of %s.", parent, at))
		} else {
			notes = append(notes, fmt.Sprintf("Reply in the thread of the message of %s.", at))
		}
	}
	if m.Edited != nil {
		note := "Edited"
		if t, err := parseTS(m.Edited.TS); err == nil {
			note += " " + when(t.time())
		}
		if m.Edited.User != "" && m.Edited.User != from.ID {
			note += " by " + b.x.person(m.Edited.User, "").DisplayName
		}
		notes = append(notes, note+"; this is the final text.")
	}
	if r := b.x.reactions(m); r != "" {
		notes = append(notes, r)
	}
	return notes
}

func (x *Export) reactions(m *message) string {
	var parts []string
	for _, r := range m.Reactions {
		names := make([]string, 0, len(r.Users))
		for _, id := range r.Users {
			names = append(names, x.person(id, "").DisplayName)
		}
		part := ":" + r.Name + ":"
		switch {
		case len(names) > 0:
			part += " " + strings.Join(names, ", ")
			if r.Count > len(names) {
				part += fmt.Sprintf(" and %d more", r.Count-len(names))
			}
		case r.Count > 0:
			part += fmt.Sprintf(" ×%d", r.Count)
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return ""
	}
	return "Reactions: " + strings.Join(parts, "; ") + "."
}

// withActor makes a notice say who: Slack's own texts start with a mention of the actor
// ("<@U1> has joined the channel"), but not every exporter's do.
func withActor(text string, from transcript.Participant) string {
	if strings.Contains(text, from.DisplayName) {
		return text
	}
	return from.DisplayName + " " + text
}

// noticeSentences describe subtypes whose text is empty.
var noticeSentences = map[string]string{
	"channel_leave": "left the channel", "group_leave": "left the channel",
	"channel_archive": "archived the channel", "group_archive": "archived the channel",
	"channel_unarchive": "unarchived the channel", "group_unarchive": "unarchived the channel",
	"pinned_item": "pinned a message", "unpinned_item": "unpinned a message",
	"channel_convert_to_private": "made the channel private", "bot_add": "added an integration",
	"bot_remove": "removed an integration", "sh_room_created": "started a call",
}

func (x *Export) noticeText(m *message, from transcript.Participant) string {
	text := x.render(m.Text)
	switch m.Subtype {
	case "tombstone":
		return "A message was deleted; its thread replies were kept."
	case "huddle_thread", "sh_room_created":
		if m.Room != nil {
			return firstOf(x.huddle(m.Room, from), text)
		}
	case "channel_topic", "group_topic":
		return firstOf(text, "set the channel topic: "+x.render(m.Topic))
	case "channel_purpose", "group_purpose":
		return firstOf(text, "set the channel purpose: "+x.render(m.Purpose))
	case "channel_name", "group_name":
		return firstOf(text, fmt.Sprintf("renamed the channel from %q to %q.", m.OldName, m.Name))
	}
	if s, ok := noticeSentences[m.Subtype]; ok {
		return firstOf(text, s+".")
	}
	if text == "" {
		text = "(no text)"
	}
	return fmt.Sprintf("Slack event %q from %s: %s", m.Subtype, from.DisplayName, text)
}

func (x *Export) huddle(r *room, from transcript.Participant) string {
	var b strings.Builder
	starter := from.DisplayName
	if r.CreatedBy != "" {
		starter = x.person(r.CreatedBy, "").DisplayName
	}
	b.WriteString("Huddle")
	if r.Name != "" {
		fmt.Fprintf(&b, " %q", r.Name)
	}
	b.WriteString(" started by " + starter)
	if r.DateStart > 0 && r.DateStart <= maxSeconds {
		b.WriteString(" at " + when(time.Unix(r.DateStart, 0)))
		if r.DateEnd >= r.DateStart && r.DateEnd <= maxSeconds {
			fmt.Fprintf(&b, ", ended at %s (%s)", when(time.Unix(r.DateEnd, 0)), time.Duration(r.DateEnd-r.DateStart)*time.Second)
		}
	}
	ids := r.ParticipantHistory
	if len(ids) == 0 {
		ids = r.Participants
	}
	if len(ids) > 0 {
		names := make([]string, 0, len(ids))
		for _, id := range ids {
			names = append(names, x.person(id, "").DisplayName)
		}
		b.WriteString("; participants: " + strings.Join(names, ", "))
	}
	return b.String() + "."
}
