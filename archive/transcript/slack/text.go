package slack

import "strings"

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// render turns Slack's message markup into plain text: <@U1> and <@U1|name> become
// "@Real Name", <#C1|name> "#name", <!here> "@here" (also channel, everyone),
// <!subteam^S1|@team> "@team", <https://x|label> "label (https://x)", and &amp; &lt; &gt;
// are unescaped.
func (x *Export) render(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(unescaper.Replace(s[:i]))
		b.WriteString(x.markup(s[i+1 : i+j]))
		s = s[i+j+1:]
	}
	b.WriteString(unescaper.Replace(s))
	return strings.TrimSpace(b.String())
}

// markup renders the inside of one <...>.
func (x *Export) markup(inner string) string {
	target, label, _ := strings.Cut(inner, "|")
	label = unescaper.Replace(label)
	switch {
	case strings.HasPrefix(target, "@"):
		id := target[1:]
		if u := x.users[id]; u != nil {
			return "@" + u.displayName()
		}
		return "@" + firstOf(strings.TrimPrefix(label, "@"), id)
	case strings.HasPrefix(target, "#"):
		id := target[1:]
		if label == "" {
			label = x.channels[id]
		}
		return "#" + firstOf(label, id)
	case strings.HasPrefix(target, "!"):
		cmd := target[1:]
		switch {
		case cmd == "here" || cmd == "channel" || cmd == "everyone":
			return "@" + cmd
		case label != "":
			return label
		case strings.HasPrefix(cmd, "subteam^"):
			return "@" + strings.TrimPrefix(cmd, "subteam^")
		}
		return "@" + unescaper.Replace(cmd)
	}
	target = unescaper.Replace(target)
	plain := strings.TrimPrefix(target, "mailto:")
	if label == "" || label == target || label == plain {
		return plain
	}
	return label + " (" + target + ")"
}
