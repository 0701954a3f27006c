package whatsapp

import "strings"

// PhoneID is the E.164 form ("+" and digits) of an author shown as a phone number
// ("+49 151 1234 5678", "+1 (555) 010-0199", with or without the bidi marks Android puts
// around it); ok is false for a name.
func PhoneID(author string) (string, bool) {
	s := strings.TrimFunc(author, func(r rune) bool { return isMark(r) || r == ' ' || r == '\u00A0' || r == '\u202F' })
	rest, ok := strings.CutPrefix(s, "+")
	if !ok {
		return "", false
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range rest {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '\u00A0' || r == '\u202F' || isMark(r):
		default:
			return "", false
		}
	}
	if n := b.Len() - 1; n < 7 || n > 15 {
		return "", false
	}
	return b.String(), true
}

// shownName is an author as the phone showed it, without invisible marks and the "~" newer
// versions put before people who are not in the exporter's contacts.
func shownName(author string) string {
	s := strings.TrimFunc(author, func(r rune) bool { return isMark(r) || r == ' ' || r == '\u00A0' || r == '\u202F' })
	if rest, ok := strings.CutPrefix(s, "~"); ok {
		s = strings.TrimLeftFunc(rest, func(r rune) bool { return isMark(r) || r == ' ' || r == '\u00A0' || r == '\u202F' })
	}
	return strings.Map(func(r rune) rune {
		if isMark(r) {
			return -1
		}
		return r
	}, s)
}

// participantID is the identity directory id of an author: the phone number in E.164 form,
// else the name exactly as shown.
func participantID(author string) string {
	if p, ok := PhoneID(author); ok {
		return p
	}
	return shownName(author)
}
