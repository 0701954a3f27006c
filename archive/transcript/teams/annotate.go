package teams

import (
	"encoding/json"
	"fmt"
	"strings"
)

// annotations say what else Teams showed with a message: the message it answers, who it
// was sent for, its importance, a policy block, its reactions.
func (b *builder) annotations() {
	m := b.m
	if id := strings.TrimSpace(m.ReplyToID); id != "" && id != m.ID {
		b.notes = append(b.notes, fmt.Sprintf("Reply to message %s.", id))
	}
	for _, a := range m.Attachments {
		if strings.EqualFold(a.ContentType, "messageReference") {
			b.notes = append(b.notes, b.quoted(a))
		}
	}
	if m.OnBehalfOf != nil && m.OnBehalfOf.who() != nil {
		b.notes = append(b.notes, "Sent on behalf of "+b.rd.nameOf(m.OnBehalfOf.who())+".")
	}
	if imp := strings.ToLower(m.Importance); imp == "high" || imp == "urgent" {
		b.notes = append(b.notes, "Importance: "+imp+".")
	}
	if pv := m.PolicyViolation; pv != nil {
		note := "Hidden by a data loss prevention policy"
		if pv.DLPAction != "" {
			note += " (" + pv.DLPAction + ")"
		}
		if j := strings.TrimSpace(pv.JustificationText); j != "" {
			note += "; justification: " + j
		}
		b.notes = append(b.notes, note+".")
	}
	if r := b.reactions(); r != "" {
		b.notes = append(b.notes, r)
	}
}

// quoted describes a messageReference attachment: a chat reply quoting another message.
func (b *builder) quoted(a attachment) string {
	var ref struct {
		MessageID      string       `json:"messageId"`
		MessagePreview string       `json:"messagePreview"`
		MessageSender  *identitySet `json:"messageSender"`
	}
	if raw := contentJSON(a.Content); raw != nil {
		json.Unmarshal(raw, &ref) //nolint:errcheck // what could be read is used; the id is the attachment's anyway
	}
	id := firstOf(ref.MessageID, a.ID)
	note := "Reply to message " + id
	if who := ref.MessageSender.who(); who != nil {
		note += " by " + b.rd.nameOf(who)
	}
	if p := strings.TrimSpace(ref.MessagePreview); p != "" {
		note += fmt.Sprintf(": %q", p)
	}
	return note + "."
}

// contentJSON is an attachment's content as JSON: Graph serializes it into a string; some
// exporters write the object itself. nil if there is none.
func contentJSON(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil || strings.TrimSpace(s) == "" {
			return nil
		}
		return []byte(s)
	}
	return raw
}

var reactionEmoji = map[string]string{"like": "👍", "heart": "❤️", "laugh": "😆", "surprised": "😮", "sad": "😢", "angry": "😠"}

func (b *builder) reactions() string {
	var parts []string
	for _, r := range b.m.Reactions {
		label := strings.TrimSpace(r.ReactionType)
		if e, ok := reactionEmoji[strings.ToLower(label)]; ok {
			label = e + " " + label
		} else if d := strings.TrimSpace(r.DisplayName); d != "" && d != label {
			label += " " + d
		}
		if label == "" {
			label = "a reaction"
		}
		if who := r.who(); who != nil {
			label += " by " + b.rd.nameOf(who)
		}
		if r.CreatedDateTime != "" {
			label += " at " + whenString(r.CreatedDateTime)
		}
		parts = append(parts, label)
	}
	if len(parts) == 0 {
		return ""
	}
	return "Reactions: " + strings.Join(parts, "; ") + "."
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
