package teams

import (
	"encoding/json"
	"strings"
)

var blocks = map[string]bool{"div": true, "p": true, "ul": true, "ol": true, "table": true, "tr": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "blockquote": true,
	"hr": true, "section": true, "article": true, "header": true, "footer": true, "dl": true, "dt": true, "dd": true}

// hidden elements: their content is not shown (<emoji> and <attachment> are replaced).
var hidden = map[string]bool{"script": true, "style": true, "head": true, "title": true, "emoji": true,
	"customemoji": true, "attachment": true, "template": true}

func (r *renderer) open(name string, attrs map[string]string, selfClosing bool) {
	switch {
	case name == "br":
		r.newline()
	case name == "blockquote": // a quoted message: its lines become "> ..."
		r.block()
		r.quotes = append(r.quotes, len(r.out))
	case name == "li":
		r.block()
		r.write("- ")
	case name == "pre" || name == "codeblock": // Teams writes code snippets as <codeblock>
		r.block()
		r.pre++
	case blocks[name]:
		r.block()
	case name == "td" || name == "th":
		if len(r.out) > 0 && r.out[len(r.out)-1] != '\n' {
			r.write(" | ")
		}
	case name == "at":
		adjacent := len(r.out) == r.lastEnd // only whitespace since the last mention
		r.flushSpace()
		r.at = &atState{id: strings.TrimSpace(attrs["id"]), start: len(r.out), adjacent: adjacent}
	case name == "a":
		r.flushSpace()
		r.links = append(r.links, link{href: attrs["href"], start: len(r.out)})
	case name == "img":
		r.write(imageText(attrs))
	case name == "emoji":
		r.write(firstOf(attrs["alt"], attrs["title"]))
	case name == "customemoji":
		if alt := firstOf(attrs["alt"], attrs["title"]); alt != "" {
			r.write(":" + alt + ":")
		}
	case name == "attachment":
		r.write(r.attachmentText(strings.TrimSpace(attrs["id"])))
	}
	if hidden[name] && !selfClosing {
		r.skip, r.skipDepth = name, 1
	}
}

func (r *renderer) close(name string) {
	switch {
	case name == "pre" || name == "codeblock":
		if r.pre > 0 {
			r.pre--
		}
		r.block()
	case name == "blockquote" && len(r.quotes) > 0:
		r.block()
		start := r.quotes[len(r.quotes)-1]
		r.quotes = r.quotes[:len(r.quotes)-1]
		if start <= len(r.out) {
			quoted := strings.TrimSuffix(string(r.out[start:]), "\n")
			r.out = append(r.out[:start], "> "+strings.ReplaceAll(quoted, "\n", "\n> ")+"\n"...)
		}
	case blocks[name] || name == "li":
		r.block()
	case name == "at" && r.at != nil:
		r.mention()
	case name == "a" && len(r.links) > 0:
		l := r.links[len(r.links)-1]
		r.links = r.links[:len(r.links)-1]
		r.linkEnd(l)
	}
}

func imageText(attrs map[string]string) string {
	alt := strings.TrimSpace(attrs["alt"])
	if alt == "" || strings.EqualFold(alt, "image") {
		return "[image]"
	}
	return "[image: " + alt + "]"
}

// linkEnd adds the address after a link's text, unless the text is the address.
func (r *renderer) linkEnd(l link) {
	href := cleanURL(l.href)
	if href == "" && strings.HasPrefix(strings.ToLower(l.href), "mailto:") {
		href = strings.TrimSpace(l.href)
	}
	if href == "" || l.start > len(r.out) {
		return
	}
	label := strings.TrimSpace(string(r.out[l.start:]))
	plain := strings.TrimPrefix(href, "mailto:")
	if label == href || label == plain || label == l.href {
		return
	}
	if label == "" {
		r.write(plain)
		return
	}
	r.write(" (" + plain + ")")
}

// mention replaces the text of an <at> element: the mention's text, "@" before it unless it
// continues the previous mention of the same entity (Teams splits "Megan Bowen" into two).
func (r *renderer) mention() {
	st := r.at
	r.at = nil
	if st.start > len(r.out) {
		return
	}
	inner := strings.TrimSpace(string(r.out[st.start:]))
	r.out = r.out[:st.start]
	m, ok := r.b.mention(st.id)
	label := inner
	if ok {
		label = firstOf(m.MentionText, inner)
	}
	who := ""
	if ok {
		who, _ = r.b.mentionedWho(m)
	}
	if who != "" && who == r.lastWho && st.adjacent {
		r.write(label)
	} else {
		r.write("@" + label)
	}
	r.lastWho, r.lastEnd = who, len(r.out)
	if ok {
		r.noteMentioned(m, label)
	}
}

func (r *renderer) noteMentioned(m mention, label string) {
	who, desc := r.b.mentionedWho(m)
	if desc == "" {
		desc = label
	}
	if who == "" {
		who = "text:" + label
	}
	if !r.seenWho[who] {
		r.seenWho[who] = true
		r.mentioned = append(r.mentioned, desc)
	}
}

// mention finds the mentions[] entry of an <at id="N">.
func (b *builder) mention(id string) (mention, bool) {
	if b.mentionByID == nil {
		b.mentionByID = make(map[string]mention, len(b.m.Mentions))
		for _, m := range b.m.Mentions {
			var n json.Number
			var s string
			key := ""
			switch {
			case json.Unmarshal(m.ID, &n) == nil:
				key = n.String()
			case json.Unmarshal(m.ID, &s) == nil:
				key = strings.TrimSpace(s)
			default:
				continue
			}
			if _, dup := b.mentionByID[key]; !dup {
				b.mentionByID[key] = m
			}
		}
	}
	m, ok := b.mentionByID[id]
	return m, ok
}

// mentionedWho is the mentioned entity's key and how it is described in the note.
func (b *builder) mentionedWho(m mention) (who, desc string) {
	s := m.Mentioned
	if s == nil {
		return "", ""
	}
	kinds := []struct {
		id   *graphID
		kind string
	}{{s.User, ""}, {s.Application, "bot"}, {s.Conversation, ""}, {s.Tag, "tag"}}
	for _, k := range kinds {
		if k.id == nil || (k.id.ID == "" && k.id.DisplayName == "") {
			continue
		}
		kind := k.kind
		if k.id == s.Conversation {
			kind = firstOf(k.id.ConversationIdentityType, "conversation")
		}
		desc = b.rd.nameOf(k.id)
		if desc == k.id.ID && m.MentionText != "" {
			desc = m.MentionText
		}
		if kind != "" {
			desc += " (" + kind + ")"
		}
		return kind + ":" + firstOf(k.id.ID, k.id.DisplayName), desc
	}
	return "", ""
}

// attachmentText is what an <attachment id="..."> shows in the text.
func (r *renderer) attachmentText(id string) string {
	if r.b.attachmentByID == nil {
		r.b.attachmentByID = make(map[string]attachment, len(r.b.m.Attachments))
		for _, a := range r.b.m.Attachments {
			if _, dup := r.b.attachmentByID[strings.TrimSpace(a.ID)]; !dup {
				r.b.attachmentByID[strings.TrimSpace(a.ID)] = a
			}
		}
	}
	if a, ok := r.b.attachmentByID[id]; ok {
		ct := strings.ToLower(a.ContentType)
		switch {
		case isCard(ct), ct == "messagereference":
			return "" // the card's text follows the body; the quoted message is noted
		case ct == "meetingreference":
			return "[meeting: " + firstOf(a.Name, "meeting") + "]"
		case ct == "tabreference":
			return "[tab: " + firstOf(a.Name, a.ID) + "]"
		default:
			return "[file: " + fileName(a) + "]"
		}
	}
	if id == "" {
		return "[attachment]"
	}
	return "[attachment " + id + "]"
}
