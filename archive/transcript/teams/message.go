package teams

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/archivist-project/archivist/archive/identity"
	"github.com/archivist-project/archivist/archive/transcript"
)

// Source is the identity directory's source for Teams ids.
const Source = "teams"

// system is the sender of system messages that name no initiator.
var system = transcript.Participant{ID: "teams-system", DisplayName: "Microsoft Teams", Role: "system"}

// message maps one element of the file to an event and adds it to the batch.
func (rd *reader) message(at string, raw json.RawMessage) error {
	m, sentinel, reason := decodeMessage(raw)
	if m == nil && sentinel == ErrNotChatMessages && isPage(raw) {
		return rd.nestedPage(at, raw) // exporters that keep the pages in an array
	}
	if m == nil {
		rd.problem(at, sentinel, "%s", reason)
		return nil
	}
	if err := rd.chatMessage(at, m); err != nil {
		return err
	}
	// $expand=replies puts a channel post's replies inside it: they are messages of the
	// same channel, answering it.
	for i, raw := range m.Replies {
		r, sentinel, reason := decodeMessage(raw)
		at := fmt.Sprintf("%s.replies[%d]", at, i)
		if r == nil {
			rd.problem(at, sentinel, "%s", reason)
			continue
		}
		if r.ChatID == "" && r.ChannelIdentity == nil {
			r.ChatID, r.ChannelIdentity = m.ChatID, m.ChannelIdentity
		}
		if r.ReplyToID == "" {
			r.ReplyToID = m.ID
		}
		r.Replies = nil
		if err := rd.chatMessage(at, r); err != nil {
			return err
		}
	}
	return nil
}

func (rd *reader) chatMessage(at string, m *chatMessage) error {
	conv, chatID, teamID := rd.conversationOf(m)
	if conv == "" {
		rd.problem(at, ErrNoConversation, "message %s states neither chatId nor channelIdentity, and the file's @odata.context names no chat or channel", m.ID)
		return nil
	}
	t, err := parseTime(m.CreatedDateTime)
	if err != nil {
		rd.problem(at+".createdDateTime", transcript.ErrInvalid, "message %s: %v", m.ID, err)
		return nil
	}
	b := &builder{rd: rd, m: m, at: at, seen: map[string]bool{}}
	ev := b.build()
	ev.ID, ev.Time, ev.Key = m.ID, t, "teams/"+conv+"/messages/"+m.ID
	b.recipients(&ev, chatID, teamID)
	return rd.add(conv, chatID, teamID, ev, b.people)
}

var (
	contextChat    = regexp.MustCompile(`chats\('([^']+)'\)/messages`)
	contextChannel = regexp.MustCompile(`teams\('([^']+)'\)/channels\('([^']+)'\)/messages`)
)

// conversationOf is the message's conversation key: its chatId, else its channelIdentity,
// else the chat or channel the page's @odata.context names, else Options.Conversation.
func (rd *reader) conversationOf(m *chatMessage) (key, chatID, teamID string) {
	if c := strings.TrimSpace(m.ChatID); c != "" {
		return "chats/" + c, c, ""
	}
	if ci := m.ChannelIdentity; ci != nil && strings.TrimSpace(ci.TeamID) != "" && strings.TrimSpace(ci.ChannelID) != "" {
		team, ch := strings.TrimSpace(ci.TeamID), strings.TrimSpace(ci.ChannelID)
		return "teams/" + team + "/channels/" + ch, ch, team
	}
	if g := contextChannel.FindStringSubmatch(rd.context); g != nil {
		team, ch := unescape(g[1]), unescape(g[2])
		return "teams/" + team + "/channels/" + ch, ch, team
	}
	if g := contextChat.FindStringSubmatch(rd.context); g != nil {
		c := unescape(g[1])
		return "chats/" + c, c, ""
	}
	return rd.opts.Conversation, "", ""
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// parseTime reads a Graph DateTimeOffset ("2021-03-28T20:48:29.832Z"), in UTC.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("missing")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1970 {
		return time.Time{}, fmt.Errorf("%q is not a date and time like 2021-03-28T20:48:29.832Z", s)
	}
	return t.UTC(), nil
}

func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// whenString renders a Graph time for a note, or the string itself if it is not one.
func whenString(s string) string {
	if t, err := parseTime(s); err == nil {
		return when(t)
	}
	return s
}

// add puts the event into the batch, flushing the batch first when the conversation
// changes or it is full. The same message twice in a batch is kept once.
func (rd *reader) add(conv, chatID, teamID string, ev transcript.Event, people []transcript.Participant) error {
	if rd.batch != nil && (rd.batch.Conversation != conv || len(rd.batch.Events) >= rd.opts.BatchSize) {
		if err := rd.flush(); err != nil {
			return err
		}
	}
	if rd.batch == nil {
		rd.batch = &Batch{Conversation: conv, ChatID: chatID, TeamID: teamID}
		rd.inBatch, rd.people = map[string]bool{}, map[string]int{}
	}
	if rd.inBatch[ev.ID] {
		return nil
	}
	rd.inBatch[ev.ID] = true
	rd.batch.Events = append(rd.batch.Events, ev)
	for _, p := range people {
		if i, ok := rd.people[p.ID]; ok {
			if q := &rd.batch.Participants[i]; q.DisplayName == q.ID && p.DisplayName != p.ID {
				q.DisplayName = p.DisplayName // a later message names who an earlier one did not
			}
			continue
		}
		rd.people[p.ID] = len(rd.batch.Participants)
		rd.batch.Participants = append(rd.batch.Participants, p)
	}
	return nil
}

func (rd *reader) flush() error {
	b := rd.batch
	if b == nil {
		return nil
	}
	rd.batch = nil
	slices.SortStableFunc(b.Events, func(x, y transcript.Event) int { return x.Time.Compare(y.Time) })
	return rd.visit(b)
}

// builder maps one chatMessage.
type builder struct {
	rd     *reader
	m      *chatMessage
	at     string
	people []transcript.Participant
	seen   map[string]bool
	notes  []string

	mentionByID    map[string]mention    // built on the first <at>
	attachmentByID map[string]attachment // built on the first <attachment>
}

// use adds a participant and returns its id.
func (b *builder) use(p transcript.Participant) string {
	if !b.seen[p.ID] {
		b.seen[p.ID] = true
		b.people = append(b.people, p)
	}
	return p.ID
}

// person is the participant for an identity; app marks a bot, webhook or connector.
func (b *builder) person(id *graphID, app bool) transcript.Participant {
	if id == nil {
		return system
	}
	p := transcript.Participant{ID: strings.TrimSpace(id.ID), DisplayName: b.rd.nameOf(id)}
	if p.ID == "" {
		p.ID = "name:" + p.DisplayName // an anonymous guest the export gives no id
	}
	switch {
	case app || id.ApplicationIdentityType != "":
		p.Role = "bot"
	case id.UserIdentityType != "" && id.UserIdentityType != "aadUser":
		p.Role = id.UserIdentityType
	}
	if id.UserIdentityType == "emailUser" && identity.ValidEmail(p.ID) {
		p.Email = p.ID
	}
	return p
}

// party is the participant of an identity set: its user, else its application.
func (b *builder) party(s *identitySet) transcript.Participant {
	switch {
	case s == nil:
		return system
	case s.User != nil && (s.User.ID != "" || s.User.DisplayName != ""):
		return b.person(s.User, false)
	case s.Application != nil && (s.Application.ID != "" || s.Application.DisplayName != ""):
		return b.person(s.Application, true)
	}
	return b.person(s.who(), false)
}

// nameOf names an identity: the export's displayName, else the directory's, else the
// displayName the file gave the id elsewhere (system messages carry ids only), else its id.
func (rd *reader) nameOf(id *graphID) string {
	if n := strings.TrimSpace(id.DisplayName); n != "" {
		return n
	}
	key := strings.TrimSpace(id.ID)
	if e, ok := rd.opts.Directory.Lookup(Source, key); ok && e.Name != "" {
		return e.Name
	}
	if n := rd.names[key]; n != "" {
		return n
	}
	if key != "" {
		return key
	}
	return "Unknown"
}

// maxNames bounds the names remembered from one file.
const maxNames = 100_000

// learn remembers the displayNames of the identities a message states.
func (rd *reader) learn(ids ...*graphID) {
	for _, id := range ids {
		if id == nil || id.ID == "" || strings.TrimSpace(id.DisplayName) == "" || rd.names[id.ID] != "" {
			continue
		}
		if rd.names == nil {
			rd.names = map[string]string{}
		}
		if len(rd.names) < maxNames {
			rd.names[id.ID] = strings.TrimSpace(id.DisplayName)
		}
	}
}

// learnAll remembers every name in the message before its texts are written.
func (b *builder) learnAll(d *eventDetail) {
	m, rd := b.m, b.rd
	rd.learn(m.From.who(), m.OnBehalfOf.who())
	for _, x := range m.Mentions {
		rd.learn(x.Mentioned.who())
	}
	for _, r := range m.Reactions {
		rd.learn(r.who())
	}
	if d == nil {
		return
	}
	rd.learn(d.Initiator.who(), d.ConversationMemberUser)
	for i := range d.Members {
		rd.learn(&d.Members[i])
	}
	for _, p := range d.CallParticipants {
		rd.learn(p.Participant.who())
	}
}

// oneOnOne matches the id of a one-on-one chat, which names its two members' object ids.
var oneOnOne = regexp.MustCompile(`^19:([0-9a-fA-F-]{36})_([0-9a-fA-F-]{36})@unq\.gbl\.spaces$`)

// recipients addresses a message in a one-on-one chat to the other member; in group chats
// and channels the dump does not say who was there, and the message is shared with everyone.
func (b *builder) recipients(ev *transcript.Event, chatID, teamID string) {
	g := oneOnOne.FindStringSubmatch(chatID)
	if teamID != "" || g == nil || ev.Type != transcript.EventMessage && ev.Type != transcript.EventFile {
		return
	}
	for _, id := range g[1:] {
		if id != ev.From {
			ev.To = append(ev.To, b.use(b.person(&graphID{ID: id}, false)))
		}
	}
	if len(ev.To) > 1 { // the sender is neither member (a bot): no recipient can be told
		ev.To = nil
	}
}
