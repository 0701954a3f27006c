package events

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/archivist-project/archivist/archive/filekey"
	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/transcript"
	"github.com/archivist-project/archivist/journal"
)

// Transcripts: the events of a parsed transcript become requests of at most Limits events and
// bytes each, leaving out the events the conversation's ledger already holds.

// Chunk is one request of a conversation's events.
type Chunk struct {
	Req         *globalrelay.Conversation
	IDs         []string
	Digests     []string // content digests of the events, parallel to IDs
	Keys        []string // the events' transcript.Event.Key, parallel to IDs ("" for none)
	Attachments []uint64
	Shares      map[uint64]journal.Share // how the transcript shared each attachment, for forwards
}

// Span names the chunk's events for a person: "m1" or "m1..m9".
func (c Chunk) Span() string {
	if len(c.IDs) == 1 {
		return c.IDs[0]
	}
	return c.IDs[0] + ".." + c.IDs[len(c.IDs)-1]
}

// event is one event mapped to the wire, with what the journal records of it.
type event struct {
	ev     globalrelay.Event
	digest string
	key    string
	refs   []uint64
	shares map[uint64]journal.Share
}

// Chunks builds the requests for the events of conv the archive does not hold yet, in order,
// each within the limits of lim. before is how many events it holds already. atts are the
// records of the files the events reference, by path (every one must be there); state is the
// conversation's ledger; legacy says its ids predate digests and match these very bytes.
//
// An event is held when the ledger has its id with the same content digest; one whose id is
// only its position is recognised by its content alone. An id the ledger has with another
// content is sent again, its systemText saying it replaces the earlier version. Ids of a
// ledger from before digests match only the same transcript bytes dropped again (legacy).
func Chunks(src Source, lim Limits, conv *transcript.Conversation, atts map[string]*journal.Record, state *journal.Conversation, legacy bool) (out []Chunk, before int, err error) {
	overview, people := conversationOverview(lim.ConversationType, conv)
	base, err := json.Marshal(globalrelay.Conversation{Overview: overview})
	if err != nil {
		return nil, 0, fmt.Errorf("encode the overview of conversation %s: %w", conv.ID, err)
	}
	cur := Chunk{}
	size := len(base)
	flush := func() {
		if len(cur.IDs) > 0 {
			out = append(out, cur)
		}
		cur, size = Chunk{}, len(base)
	}
	for _, e := range conv.Events {
		ce, err := wireEvent(src, conv, e, atts, people)
		if err != nil {
			return nil, 0, err
		}
		switch {
		case e.Positional && state.HasContent(ce.digest),
			!e.Positional && state.Has(e.ID, ce.digest),
			legacy && state.Posted[e.ID]:
			before++
			continue
		case !e.Positional && state.Known(e.ID):
			ce.ev.SystemText = replaces(e.ID, ce.ev.SystemText)
		}
		b, err := json.Marshal(ce.ev)
		if err != nil {
			return nil, 0, fmt.Errorf("encode event %s of conversation %s: %w", e.ID, conv.ID, err)
		}
		if len(cur.IDs) > 0 && (len(cur.IDs) >= lim.MaxEvents || size+len(b)+1 > lim.MaxBytes) {
			flush()
		}
		cur.add(overview, e.ID, ce)
		size += len(b) + 1
	}
	flush()
	return out, before, nil
}

// add appends event ce (id) to the chunk.
func (c *Chunk) add(overview globalrelay.Overview, id string, ce event) {
	if c.Req == nil {
		c.Req = &globalrelay.Conversation{Overview: overview}
	}
	c.Req.Events = append(c.Req.Events, ce.ev)
	c.IDs = append(c.IDs, id)
	c.Digests = append(c.Digests, ce.digest)
	c.Keys = append(c.Keys, ce.key)
	c.Attachments = append(c.Attachments, ce.refs...)
	for id, sh := range ce.shares {
		if c.Shares == nil {
			c.Shares = map[uint64]journal.Share{}
		}
		c.Shares[id] = sh
	}
}

// replaces is the systemText of an event sent again because its content changed.
func replaces(id, systemText string) string {
	note := fmt.Sprintf("Replaces the earlier archived version of event %s of this conversation.", id)
	if systemText == "" {
		return note
	}
	return systemText + " (" + note + ")"
}

// conversationOverview is the overview of every request of conv, and its participants by id.
func conversationOverview(conversationType string, conv *transcript.Conversation) (globalrelay.Overview, map[string]transcript.Participant) {
	people := map[string]transcript.Participant{}
	for _, pt := range conv.Participants {
		people[pt.ID] = pt
	}
	overview := globalrelay.Overview{ConversationType: conversationType}
	for _, pt := range conv.Participants {
		overview.InitialParticipants = append(overview.InitialParticipants, globalrelay.Participant{DisplayName: pt.DisplayName, CorporateEmail: pt.Email})
	}
	if len(conv.Participants) > 0 {
		overview.InitiatorName, overview.InitiatorEmail = conv.Participants[0].DisplayName, conv.Participants[0].Email
	}
	if len(conv.Events) > 0 && len(conv.Events[0].From) > 0 {
		first := people[conv.Events[0].From]
		overview.InitiatorName, overview.InitiatorEmail = first.DisplayName, first.Email
	}
	switch {
	case !conv.CreatedAt.IsZero():
		overview.CreatedAt = conv.CreatedAt.UnixMilli()
	case len(conv.Events) > 0:
		overview.CreatedAt = conv.Events[0].Time.UnixMilli()
	}
	overview.CreatedBy = overview.InitiatorName
	return overview, people
}

// wireEvent maps one transcript event to the wire and digests its content. An attachment
// is found in atts by its Path, or by its Entry for a file inside an export.
func wireEvent(src Source, conv *transcript.Conversation, e transcript.Event, atts map[string]*journal.Record, people map[string]transcript.Participant) (event, error) {
	person := func(id, userType string) globalrelay.Participant {
		pt := people[id]
		return globalrelay.Participant{DisplayName: pt.DisplayName, CorporateEmail: pt.Email, UserType: userType}
	}
	ce := event{key: e.Key, ev: globalrelay.Event{EventTime: e.Time.UnixMilli(), SystemText: e.SystemText,
		Participants: []globalrelay.Participant{person(e.From, globalrelay.UserInitiator)}}}
	for _, to := range e.To {
		ce.ev.Participants = append(ce.ev.Participants, person(to, globalrelay.UserRecipient))
	}
	for _, a := range e.Affected {
		ce.ev.Participants = append(ce.ev.Participants, person(a, globalrelay.UserAffected))
	}
	var sums []string // what identifies each file's content, for the digest
	switch {
	case e.Type == transcript.EventFile && len(e.Files) > 0:
		sums = ce.files(src, conv, e, atts)
	case e.Type == transcript.EventJoined:
		ce.ev.EventType = globalrelay.EventUserJoined
	case e.Type == transcript.EventInvited:
		ce.ev.EventType = globalrelay.EventInvitation
	case e.Text != "" && e.Type != transcript.EventNotice:
		ce.ev.EventType = globalrelay.EventMessage
	default:
		ce.ev.EventType = globalrelay.EventUserEvent // a system notice: only systemText
	}
	if e.Text != "" {
		ce.ev.Content = &globalrelay.Content{Message: e.Text}
	}
	digest, err := eventDigest(ce.ev, sums)
	if err != nil {
		return event{}, fmt.Errorf("digest event %s of conversation %s: %w", e.ID, conv.ID, err)
	}
	ce.digest = digest
	return ce, nil
}

// files makes ce the File_transfer event of e's files and returns what identifies each
// file's content.
func (ce *event) files(src Source, conv *transcript.Conversation, e transcript.Event, atts map[string]*journal.Record) []string {
	ce.ev.EventType = globalrelay.EventFileTransfer
	var sums []string
	for _, f := range e.Files {
		if f.Href != "" {
			ce.ev.Files = append(ce.ev.Files, globalrelay.FileRef{Filename: f.Name, FileKey: filekey.External(src.Watch, f.Href, f.Name), FileHref: f.Href})
			sums = append(sums, "")
			continue
		}
		a := atts[f.Path]
		if f.Entry != "" {
			a = atts[f.Entry]
		}
		ce.ev.Files = append(ce.ev.Files, globalrelay.FileRef{Filename: f.Name, FileKey: a.FileKey,
			IsInlined: src.InlineImages && strings.HasPrefix(a.MIME, "image/")})
		sums = append(sums, "sha256:"+a.SHA256)
		if a.ID == 0 {
			continue // bytes inside an export: stored under their key, no record of their own
		}
		ce.refs = append(ce.refs, a.ID)
		if ce.shares == nil {
			ce.shares = map[uint64]journal.Share{}
		}
		ce.shares[a.ID] = journal.Share{ChatID: conv.ChatID, EndUser: endUser(conv), Text: e.Text, Time: e.Time}
	}
	return sums
}

// eventDigest identifies the content of an event as sent: SHA-256 over its JSON without what
// does not come from the transcript (isInlined follows the watch's configuration, fileKeys
// the key scheme: an attachment counts by the SHA-256 of its bytes, a link by its href), the
// first 128 bits in unpadded base64url. The systemText is the transcript's, before any
// "replaces" note.
func eventDigest(ev globalrelay.Event, sums []string) (string, error) {
	ev.Files = slices.Clone(ev.Files)
	for i := range ev.Files {
		ev.Files[i].FileKey, ev.Files[i].IsInlined = sums[i], false
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:16]), nil
}

// endUser is the client participant of a conversation, the "from" of a Salesforce forward:
// the first Genesys participant of type Client, else none (the destination's default).
func endUser(conv *transcript.Conversation) string {
	for _, pt := range conv.Participants {
		if strings.EqualFold(pt.Role, "client") {
			return pt.ID
		}
	}
	return ""
}
