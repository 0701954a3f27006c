package whatsapp

import (
	"regexp"
	"strings"
)

type kind int

const (
	kindText     kind = iota
	kindSystem        // a line without author, or iOS's notices from the chat's name
	kindAttached      // a media file the export includes (or should)
	kindOmitted       // a media file exported "without media"
	kindDeleted       // "This message was deleted"
)

// msg is a message understood, independent of the date order.
type msg struct {
	line   int
	author string // as shown ("" for a system line)
	kind   kind
	text   string // what was typed (the caption of a file)
	file   string // kindAttached: the media file's name; kindOmitted: the placeholder
	edited bool
}

// The localised texts WhatsApp writes, compared in lower case without a final ".".
var (
	deletedTexts = set("this message was deleted", "you deleted this message",
		"diese nachricht wurde gelöscht", "du hast diese nachricht gelöscht",
		"ce message a été supprimé", "vous avez supprimé ce message",
		"se eliminó este mensaje", "eliminaste este mensaje", "este mensaje fue eliminado")
	editedMarks = set("<this message was edited>", "<diese nachricht wurde bearbeitet>",
		"<ce message a été modifié>", "<se editó este mensaje>", "<se editó este mensaje.>")
	attachedIOS     = set("attached", "anhang", "pièce jointe", "joint", "adjunto", "archivo adjunto")
	attachedAndroid = set("file attached", "datei angehängt", "fichier joint", "archivo adjunto")
	omittedWords    = set("omitted", "weggelassen", "ausgeschlossen", "omis", "omise", "omises", "absente", "absent",
		"omitido", "omitida", "omitidos", "retiré", "retirée")
)

func set(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

var (
	iosAttachRE     = regexp.MustCompile(`^<([\p{L} ]{1,24}):[ \x{00A0}]*([^<>]+?)[ \x{00A0}]*>$`)
	androidAttachRE = regexp.MustCompile(`^(.+?) \(([\p{L} ]{1,24})\)$`)
)

// understand splits a message into author and text and says what kind it is.
func (c *Chat) understand(m *rawMsg, st style) msg {
	out := msg{line: m.line}
	author, text, ok := splitAuthor(m.body)
	if !ok {
		out.kind, out.text = kindSystem, trimMarks(m.body)
		return out
	}
	out.author = author
	// iOS writes its notices (encryption, security code, group changes) as messages from
	// the chat's name, their text starting with U+200E.
	if st == styleIOS && strings.HasPrefix(text, "\u200E") && shownName(author) == c.title {
		first, _, _ := strings.Cut(trimMarks(text), "\n")
		if !isMediaLine(first) {
			out.author, out.kind, out.text = "", kindSystem, trimMarks(text)
			return out
		}
	}
	text = trimMarks(text)
	if body, cut := cutEdited(text); cut {
		text, out.edited = body, true
	}
	first, rest, _ := strings.Cut(text, "\n")
	first = trimMarks(first)
	switch {
	case deletedTexts[norm(text)]:
		out.kind = kindDeleted
	case attachment(first) != "":
		out.kind, out.file, out.text = kindAttached, attachment(first), rest
	case omitted(first) && rest == "":
		out.kind, out.file = kindOmitted, first
	default:
		out.text = text
	}
	return out
}

// splitAuthor cuts "author: text"; ok is false for a system line. A colon in a system
// text ('changed the subject to "Q3: deal"') is not an author: names hold no quotes.
func splitAuthor(body string) (author, text string, ok bool) {
	first, _, _ := strings.Cut(body, "\n")
	i := strings.Index(first, ": ")
	if i < 0 {
		if !strings.HasSuffix(first, ":") || first != body {
			return "", "", false
		}
		i = len(first) - 1 // "name:" with an empty message
	}
	author = body[:i]
	text = strings.TrimPrefix(body[i+1:], " ")
	if strings.TrimSpace(shownName(author)) == "" || len(author) > 128 || strings.ContainsAny(author, "\"“”«»„") {
		return "", "", false
	}
	return author, text, true
}

func norm(s string) string {
	s = strings.ToLower(strings.TrimSpace(trimMarks(s)))
	return strings.TrimSuffix(s, ".")
}

// cutEdited removes the "<This message was edited>" WhatsApp appends to an edited message.
func cutEdited(text string) (string, bool) {
	i := strings.LastIndex(text, "<")
	if i < 0 || !editedMarks[strings.ToLower(strings.TrimSpace(text[i:]))] {
		return text, false
	}
	return strings.TrimRightFunc(text[:i], func(r rune) bool { return r == ' ' || isMark(r) }), true
}

// attachment is the media file a message's first line attaches, "" if none.
func attachment(first string) string {
	if m := iosAttachRE.FindStringSubmatch(first); m != nil && attachedIOS[strings.ToLower(strings.TrimSpace(m[1]))] {
		return m[2]
	}
	if m := androidAttachRE.FindStringSubmatch(first); m != nil && attachedAndroid[strings.ToLower(m[2])] {
		return trimMarks(m[1])
	}
	return ""
}

// omitted reports a media placeholder: Android "<Media omitted>", iOS "image omitted",
// "Term sheet.pdf • 3 pages ‎document omitted", and their translations.
func omitted(first string) bool {
	s := strings.ToLower(strings.TrimSpace(first))
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		words := strings.Fields(s[1 : len(s)-1])
		return len(words) > 0 && len(words) <= 3 && omittedWords[words[len(words)-1]]
	}
	if i := strings.LastIndex(s, "\u200E"); i >= 0 {
		s = s[i+len("\u200E"):]
	}
	words := strings.Fields(s)
	return len(words) > 0 && len(words) <= 3 && omittedWords[words[len(words)-1]]
}

func isMediaLine(first string) bool { return attachment(first) != "" || omitted(first) }
