package teams

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// renderer turns a Teams HTML body into readable text: block elements become line breaks,
// <at id="N"> the mention's text (resolved through mentions[]), <attachment id="..."> a
// reference to the attachment, <emoji> its alt text, <img> "[image]", links their text and
// address, entities their characters.
type renderer struct {
	b         *builder
	out       []byte
	space     bool   // a space is pending
	pre       int    // inside <pre>
	skip      string // inside this element, whose content is not shown
	skipDepth int
	at        *atState
	links     []link
	quotes    []int  // where each open <blockquote> began in out
	lastWho   string // the entity of the last mention, for names split over several <at>
	lastEnd   int    // len(out) after the last mention
	mentioned []string
	seenWho   map[string]bool
}

type atState struct {
	id       string
	start    int
	adjacent bool
}

type link struct {
	href  string
	start int
}

func newRenderer(b *builder) *renderer {
	return &renderer{b: b, lastEnd: -1, seenWho: map[string]bool{}}
}

func (r *renderer) render(s string) string {
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			r.text(s)
			break
		}
		r.text(s[:i])
		s = r.tag(s[i:])
	}
	return tidy(string(r.out))
}

// tag handles the markup at the start of s ("<..."), returning what follows it.
func (r *renderer) tag(s string) string {
	if strings.HasPrefix(s, "<!--") {
		if j := strings.Index(s, "-->"); j >= 0 {
			return s[j+3:]
		}
		return ""
	}
	end := tagEnd(s)
	switch end {
	case noTagEnd: // no tag can follow
		r.text(s)
		return ""
	case -1: // a lone "<": text
		r.text("<")
		return s[1:]
	}
	name, closing, selfClosing, attrs := parseTag(s[1:end])
	rest := s[end+1:]
	if name == "" {
		r.text(s[:end+1])
		return rest
	}
	if r.skip != "" {
		r.skipping(name, closing, selfClosing)
		return rest
	}
	if closing {
		r.close(name)
	} else {
		r.open(name, attrs, selfClosing)
	}
	return rest
}

func (r *renderer) skipping(name string, closing, selfClosing bool) {
	switch {
	case name != r.skip || selfClosing:
	case closing:
		if r.skipDepth--; r.skipDepth == 0 {
			r.skip = ""
		}
	default:
		r.skipDepth++
	}
}

// tagEnd is the index of the '>' closing the tag at the start of s, quotes respected near
// the first '>' (so that a stray quote cannot make the scan quadratic); -1 if s does not
// start a tag, noTagEnd if s holds no '>' at all.
func tagEnd(s string) int {
	if len(s) < 2 || !(s[1] == '/' || isLetter(s[1])) {
		return -1
	}
	gt := strings.IndexByte(s, '>')
	if gt < 0 {
		return noTagEnd
	}
	var quote byte
	for i := 1; i < len(s) && i < gt+1024; i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return gt
}

const noTagEnd = -2

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// parseTag splits the inside of a tag into its lowercase name and attributes.
func parseTag(s string) (name string, closing, selfClosing bool, attrs map[string]string) {
	if closing = strings.HasPrefix(s, "/"); closing {
		s = s[1:]
	}
	if selfClosing = strings.HasSuffix(s, "/"); selfClosing {
		s = s[:len(s)-1]
	}
	i := 0
	for i < len(s) && (isLetter(s[i]) || s[i] >= '0' && s[i] <= '9' || s[i] == '-' || s[i] == ':') {
		i++
	}
	name, s = strings.ToLower(s[:i]), s[i:]
	attrs = map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t\r\n/")
		if s == "" {
			return name, closing, selfClosing, attrs
		}
		j := strings.IndexAny(s, "= \t\r\n")
		if j < 0 {
			attrs[strings.ToLower(s)] = ""
			return name, closing, selfClosing, attrs
		}
		key := strings.ToLower(s[:j])
		s = strings.TrimLeft(s[j:], " \t\r\n")
		if !strings.HasPrefix(s, "=") {
			attrs[key] = ""
			continue
		}
		var val string
		val, s = attrValue(strings.TrimLeft(s[1:], " \t\r\n"))
		attrs[key] = unescapeEntities(val)
	}
}

func attrValue(s string) (val, rest string) {
	if s != "" && (s[0] == '"' || s[0] == '\'') {
		if j := strings.IndexByte(s[1:], s[0]); j >= 0 {
			return s[1 : j+1], s[j+2:]
		}
		return s[1:], ""
	}
	j := strings.IndexAny(s, " \t\r\n")
	if j < 0 {
		return s, ""
	}
	return s[:j], s[j:]
}

// unescapeEntities decodes character references; a non-breaking space is a space.
func unescapeEntities(s string) string {
	if strings.IndexByte(s, '&') >= 0 {
		s = html.UnescapeString(s)
	}
	return strings.ReplaceAll(s, "\u00a0", " ")
}

// text writes character data, whitespace collapsed as a browser shows it (kept in <pre>).
func (r *renderer) text(s string) {
	if r.skip != "" || s == "" {
		return
	}
	s = unescapeEntities(s)
	if r.pre > 0 {
		r.flushSpace()
		r.out = append(r.out, strings.ReplaceAll(s, "\r", "")...)
		return
	}
	for _, c := range s {
		if unicode.IsSpace(c) {
			r.space = true
			continue
		}
		r.flushSpace()
		r.out = utf8.AppendRune(r.out, c)
	}
}

func (r *renderer) flushSpace() {
	if r.space && len(r.out) > 0 && r.out[len(r.out)-1] != '\n' && r.out[len(r.out)-1] != ' ' {
		r.out = append(r.out, ' ')
	}
	r.space = false
}

func (r *renderer) write(s string) {
	r.flushSpace()
	r.out = append(r.out, s...)
}

// newline ends the line; block ends it unless it is empty.
func (r *renderer) newline() {
	r.space = false
	r.out = append(r.out, '\n')
}

func (r *renderer) block() {
	if len(r.out) > 0 && r.out[len(r.out)-1] != '\n' {
		r.newline()
	}
	r.space = false
}

// tidy trims every line and keeps at most one empty line in a row.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if blank++; blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
