// Package exporttest writes small chat exports for tests, made from the formats' public
// descriptions (no real workspace data): a Slack workspace export with fetched files, a
// WhatsApp iOS export ZIP.
package exporttest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Token is the export access token the Slack fixture's file URLs carry: it must never reach
// the archive, a log, an error or the journal.
const Token = "xoxe-1-FIXTURETOKEN7f3a9c2e11"

// Report is the bytes of the Slack fixture's report.pdf (in __uploads/F01/).
var Report = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// PNG is a tiny PNG image (the WhatsApp fixture's photo).
var PNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

type obj = map[string]any

// SlackDays are the days of the Slack fixture's #general, in order; the first day also has
// messages in the private channel #deals and the DM.
var SlackDays = []string{"2023-05-24", "2023-05-25", "2023-05-26"}

// SlackMessages is how many messages an export of the first n days holds.
func SlackMessages(days int) int {
	n := 0
	for d := range days {
		n += len(generalDay(d))
	}
	return n + len(dealsDay()) + len(dmDay())
}

// WriteSlack writes a Slack export ZIP of the first days days to path: users with an email
// in the export (Lisa, U01), one whose email only an identity directory knows (Jordan, U02),
// one nobody knows (Sam, U03) and a bot; #general with a join, an edited message with
// mentions and a link, a thread, a bot message, a file fetched into __uploads and one the
// exporter could not access; the private #deals; a DM.
func WriteSlack(path string, days int) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name string, v any) error {
		w, err := zw.Create("export/" + name)
		if err != nil {
			return err
		}
		return json.NewEncoder(w).Encode(v)
	}
	files := []struct {
		name string
		v    any
	}{{"users.json", slackUsers()}, {"channels.json", []obj{{"id": "C01", "name": "general", "members": []string{"U01", "U02", "U03"}}}},
		{"groups.json", []obj{{"id": "G01", "name": "deals", "members": []string{"U01", "U02"}}}},
		{"dms.json", []obj{{"id": "D01", "members": []string{"U01", "U03"}}}},
		{"deals/2023-05-24.json", dealsDay()}, {"D01/2023-05-24.json", dmDay()}}
	for d := range days {
		files = append(files, struct {
			name string
			v    any
		}{"general/" + SlackDays[d] + ".json", generalDay(d)})
	}
	for _, f := range files {
		if err := put(f.name, f.v); err != nil {
			return err
		}
	}
	w, err := zw.Create("export/__uploads/F01/report.pdf")
	if err != nil {
		return err
	}
	if _, err := w.Write(Report); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func slackUsers() []obj {
	user := func(id, name, real, email string) obj {
		return obj{"id": id, "team_id": "T01", "name": name, "real_name": real,
			"profile": obj{"real_name": real, "display_name": name, "email": email}}
	}
	return []obj{user("U01", "lisa", "Lisa Holmes", "lisa@example.com"), user("U02", "jordan", "Jordan Davies", ""),
		user("U03", "sam", "Sam Ortiz", ""),
		{"id": "U04", "team_id": "T01", "name": "deploybot", "is_bot": true, "profile": obj{"real_name": "Deploy Bot", "bot_id": "B01"}}}
}

func msg(user, ts, text string) obj {
	return obj{"type": "message", "user": user, "ts": ts, "text": text}
}

func ts(day, n int) string { return fmt.Sprintf("%d.%06d", 1684922400+day*86400+n*60, n*100) }

// generalDay is the messages of #general on SlackDays[d].
func generalDay(d int) []obj {
	if d > 0 {
		return []obj{msg("U01", ts(d, 1), fmt.Sprintf("Day %d: status please", d+1)), msg("U03", ts(d, 2), fmt.Sprintf("Day %d: all green", d+1))}
	}
	edited := msg("U01", ts(0, 2), "Hello <@U02> &amp; <!here>, see <#C01|general> and <https://example.com/plan|the plan>")
	edited["edited"] = obj{"user": "U01", "ts": ts(0, 3)}
	parent := msg("U01", ts(0, 4), "Who takes the Q2 review?")
	parent["thread_ts"], parent["reply_count"] = ts(0, 4), 1
	reply := msg("U02", ts(0, 5), "I will")
	reply["thread_ts"], reply["parent_user_id"] = ts(0, 4), "U01"
	join := msg("U03", ts(0, 1), "<@U03> has joined the channel")
	join["subtype"] = "channel_join"
	bot := obj{"type": "message", "subtype": "bot_message", "bot_id": "B01", "username": "deploybot", "ts": ts(0, 6), "text": "Deployed v1.2"}
	withFile := msg("U01", ts(0, 7), "The report")
	withFile["files"] = []obj{{"id": "F01", "name": "report.pdf", "title": "Q2 report", "mimetype": "application/pdf",
		"size": len(Report), "url_private": "https://files.slack.com/files-pri/T01-F01/report.pdf?t=" + Token,
		"url_private_download": "https://files.slack.com/files-pri/T01-F01/download/report.pdf?t=" + Token,
		"permalink":            "https://acme.slack.com/files/U01/F01/report.pdf"}}
	outside := msg("U02", ts(0, 8), "The diagram")
	outside["files"] = []obj{{"id": "F02", "name": "", "title": "diagram", "mode": "hidden_by_limit",
		"permalink": "https://acme.slack.com/files/U02/F02/diagram.png"}}
	return []obj{join, edited, parent, reply, bot, withFile, outside}
}

func dealsDay() []obj {
	return []obj{msg("U01", ts(0, 10), dealsPrefix+"the term sheet is final"), msg("U02", ts(0, 11), dealsPrefix+"agreed")}
}

func dmDay() []obj {
	return []obj{msg("U01", ts(0, 12), dmPrefix+"lunch?"), msg("U03", ts(0, 13), dmPrefix+"sure")}
}

// The texts of the messages of #deals and of the DM start with these.
const dealsPrefix, dmPrefix = "Private: ", "DM: "

// SlackConversation names the conversation of the Slack fixture a message's text belongs to:
// "deals" (the private channel), "dm", or "general".
func SlackConversation(text string) string {
	switch {
	case strings.HasPrefix(text, dealsPrefix):
		return "deals"
	case strings.HasPrefix(text, dmPrefix):
		return "dm"
	}
	return "general"
}

// WhatsAppMessages is the number of messages of the WhatsApp fixture.
const WhatsAppMessages = 4

// WriteWhatsApp writes an iOS "Export chat" ZIP (24-hour English dates, day first) with a
// photo to path.
func WriteWhatsApp(path string) error {
	chat := "[24/05/2023, 09:15:02] Lisa Holmes: Hello from the deal desk\n" +
		"[24/05/2023, 09:16:10] +49 151 1234 5678: Hi Lisa\nsecond line\n" +
		"\u200e[24/05/2023, 09:17:00] Lisa Holmes: \u200e<attached: 00000012-PHOTO-2023-05-24-09-17-00.jpg>\n" +
		"[24/05/2023, 09:18:30] +49 151 1234 5678: Thanks\n"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{{"_chat.txt", []byte(chat)}, {"00000012-PHOTO-2023-05-24-09-17-00.jpg", PNG}} {
		w, err := zw.Create(e.name)
		if err != nil {
			return err
		}
		if _, err := w.Write(e.data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
