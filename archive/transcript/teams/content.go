package teams

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/archivist-project/archivist/archive/transcript"
)

// build maps the message to an event (without ID, Time and Key).
func (b *builder) build() transcript.Event {
	m := b.m
	var ev transcript.Event
	var detail *eventDetail
	if len(m.EventDetail) > 0 && string(m.EventDetail) != "null" {
		detail = new(eventDetail)
		if err := json.Unmarshal(m.EventDetail, detail); err != nil {
			detail = &eventDetail{Type: "(unreadable eventDetail)"}
		}
	}
	b.learnAll(detail)
	switch {
	case m.DeletedDateTime != "":
		b.deleted(&ev)
	case detail != nil || strings.EqualFold(m.MessageType, "systemEventMessage"):
		if detail == nil {
			detail = &eventDetail{}
		}
		b.system(&ev, detail)
	default:
		b.chat(&ev)
	}
	b.annotations()
	ev.SystemText = strings.Join(b.notes, "\n")
	return ev
}

// chat maps a message someone (or a bot) sent.
func (b *builder) chat(ev *transcript.Event) {
	m := b.m
	ev.From = b.use(b.party(m.From))
	if t := m.MessageType; t != "" && !strings.EqualFold(t, "message") {
		b.notes = append(b.notes, fmt.Sprintf("Teams message of type %q.", t))
	}
	ev.Text = b.text()
	ev.Files = b.files()
	ev.Type = transcript.EventMessage
	if len(ev.Files) > 0 {
		ev.Type = transcript.EventFile
	}
	if ev.Text == "" && len(ev.Files) == 0 && m.PolicyViolation == nil {
		b.notes = append(b.notes, "The message has no text.")
	}
	if m.LastEditedDateTime != "" {
		b.notes = append(b.notes, "Edited "+whenString(m.LastEditedDateTime)+"; this is the final text.")
	}
}

// deleted maps a deleted message: Teams keeps its metadata, not its content.
func (b *builder) deleted(ev *transcript.Event) {
	from := b.party(b.m.From)
	ev.From, ev.Type = b.use(from), transcript.EventNotice
	note := "A message"
	if from.ID != system.ID {
		note += " by " + from.DisplayName
	}
	note += " was deleted " + whenString(b.m.DeletedDateTime) + "."
	if ev.Text = b.text(); ev.Text != "" {
		note += " The export still holds its text."
	} else {
		note += " Its content is gone."
	}
	b.notes = append(b.notes, note)
}

// text renders the body, the subject of a channel post and the text of its cards.
func (b *builder) text() string {
	var parts []string
	if s := strings.TrimSpace(b.m.Subject); s != "" {
		parts = append(parts, s)
	}
	r := newRenderer(b)
	if body := b.m.Body; body != nil && body.Content != "" {
		if strings.EqualFold(body.ContentType, "text") {
			parts = append(parts, plainText(body.Content))
		} else {
			parts = append(parts, r.render(body.Content))
		}
	}
	for _, a := range b.m.Attachments {
		if isCard(a.ContentType) {
			parts = append(parts, cardText(a))
		}
	}
	if len(r.mentioned) > 0 {
		b.notes = append(b.notes, "Mentioned: "+strings.Join(r.mentioned, ", ")+".")
	}
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "\n")
}

func isCard(contentType string) bool {
	return strings.Contains(strings.ToLower(contentType), ".card.")
}

// files are the message's file references: links to where the file is kept (SharePoint,
// OneDrive), never its bytes.
func (b *builder) files() []transcript.FileRef {
	var refs []transcript.FileRef
	for i, a := range b.m.Attachments {
		ct := strings.ToLower(a.ContentType)
		if isCard(ct) || ct == "messagereference" || ct == "meetingreference" || ct == "tabreference" {
			continue
		}
		name := fileName(a)
		href := cleanURL(a.ContentURL)
		if href == "" {
			if ct == "reference" || a.ContentURL != "" {
				b.notes = append(b.notes, fmt.Sprintf("File %s: the export states no usable link to it.", name))
			}
			continue
		}
		refs = append(refs, transcript.FileRef{Href: href, Name: name, Size: -1,
			JSONPath: fmt.Sprintf("%s.attachments[%d]", b.at, i)})
	}
	return refs
}

func fileName(a attachment) string {
	n := strings.TrimSpace(a.Name)
	if n == "" {
		if u, err := url.Parse(a.ContentURL); err == nil {
			n = pathBase(u.Path)
		}
	}
	n = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, n)
	if n == "" || n == "." || n == ".." {
		n = "file"
	}
	return n
}

func pathBase(p string) string {
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// cleanURL is u normalised if it is an http(s) URL with a host and no user info; "" otherwise.
func cleanURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
		return ""
	}
	return p.String()
}

// plainText is a text body: Graph returns it HTML-escaped.
func plainText(s string) string {
	return strings.TrimSpace(unescapeEntities(strings.ReplaceAll(s, "\r\n", "\n")))
}
