package main

// Generated exports for the export workloads, in the layouts of docs/transcript-format.md:
// nothing of a real workspace or chat. Every message is one event: plain messages, thread
// replies, edits with reactions, mentions and links; Slack messages with files (one file
// each, its bytes under __uploads/) count once too, as their File_transfer.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

type jobj = map[string]any

const benchTeam = "T0BENCH01"

// benchUsers is how many people the generated exports have.
const benchUsers = 200

func benchUser(i int) string { return fmt.Sprintf("U%05d", i%benchUsers) }

// writeSlackExport writes a Slack workspace export of messages messages in channels public
// channels (whole days of at most 500 messages), files of them with a file in __uploads/.
func writeSlackExport(path string, messages, channels, files int) error {
	z, err := newZip(path)
	if err != nil {
		return err
	}
	users := make([]jobj, benchUsers)
	for i := range users {
		users[i] = jobj{"id": benchUser(i), "team_id": benchTeam, "name": fmt.Sprintf("user%d", i),
			"profile": jobj{"real_name": fmt.Sprintf("User Number %d", i), "email": fmt.Sprintf("user%d@example.com", i)}}
	}
	chans := make([]jobj, channels)
	for c := range chans {
		chans[c] = jobj{"id": fmt.Sprintf("C%05d", c), "name": fmt.Sprintf("channel-%d", c), "created": 1704067200}
	}
	if err := z.json("users.json", users); err != nil {
		return err
	}
	if err := z.json("channels.json", chans); err != nil {
		return err
	}
	fileEvery := 0
	if files > 0 {
		fileEvery = max(messages/files, 1)
	}
	n := 0
	for c := range channels {
		share := messages/channels + btoi(c < messages%channels)
		if err := writeSlackChannel(z, c, share, &n, fileEvery); err != nil {
			return err
		}
	}
	return z.close()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeSlackChannel writes the day files of channel c: count messages, n numbering them
// across the export.
func writeSlackChannel(z *zipWriter, c, count int, n *int, fileEvery int) error {
	const perDay = 500
	start := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	for d := 0; d*perDay < count; d++ {
		day := start.AddDate(0, 0, d)
		msgs := make([]jobj, 0, perDay)
		var uploads []jobj
		for m := 0; m < perDay && d*perDay+m < count; m++ {
			msg := slackMessage(day, c, m)
			if fileEvery > 0 && *n%fileEvery == fileEvery-1 {
				f := jobj{"id": fmt.Sprintf("F%07d", *n), "name": fmt.Sprintf("note-%d.txt", *n), "mimetype": "text/plain", "size": 64,
					"permalink": fmt.Sprintf("https://bench.slack.com/files/%s/F%07d/note.txt", benchUser(m), *n)}
				msg["subtype"], msg["files"] = "file_share", []jobj{f}
				uploads = append(uploads, f)
			}
			msgs = append(msgs, msg)
			*n++
		}
		if err := z.json(fmt.Sprintf("channel-%d/%s.json", c, day.Format("2006-01-02")), msgs); err != nil {
			return err
		}
		for _, f := range uploads {
			w, err := z.entry(fmt.Sprintf("__uploads/%s/%s", f["id"], f["name"]))
			if err != nil {
				return err
			}
			if _, err := io.WriteString(w, fmt.Sprintf("%-63s\n", "file "+f["id"].(string))); err != nil {
				return err
			}
		}
	}
	return nil
}

func slackMessage(day time.Time, c, m int) jobj {
	sec := day.Unix() + int64(m*60)
	msg := jobj{"type": "message", "user": benchUser(c*7 + m), "ts": fmt.Sprintf("%d.%06d", sec, m),
		"text": fmt.Sprintf("Message %d in channel %d for <@%s>: see <https://example.com/doc/%d|doc %d> &amp; reply", m, c, benchUser(m), m, m)}
	if m%10 == 1 {
		msg["thread_ts"] = fmt.Sprintf("%d.%06d", sec-60, m-1)
		msg["parent_user_id"] = benchUser(c*7 + m - 1)
	}
	if m%25 == 0 {
		msg["edited"] = jobj{"user": msg["user"], "ts": fmt.Sprintf("%d.000000", sec+5)}
		msg["reactions"] = []jobj{{"name": "eyes", "users": []string{benchUser(1), benchUser(2)}, "count": 2}}
	}
	return msg
}

// writeWhatsAppExport writes an iOS "Export chat" ZIP of one group chat of messages
// messages, day/month/year with 24-hour times, some of them on several lines.
func writeWhatsAppExport(path string, messages int) error {
	z, err := newZip(path)
	if err != nil {
		return err
	}
	w, err := z.entry("_chat.txt")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	t := time.Date(2024, 3, 13, 8, 0, 0, 0, time.UTC) // the 13th: the day/month order shows
	for i := range messages {
		author := fmt.Sprintf("Person %d", i%20)
		if i%7 == 3 {
			author = fmt.Sprintf("+49 151 %08d", 2000+i%20)
		}
		text := fmt.Sprintf("Message %d about the order book", i)
		if i%13 == 5 {
			text += "\nand a second line\n" + strings.Repeat("with more detail ", 3)
		}
		fmt.Fprintf(bw, "[%s] %s: %s\n", t.Format("02/01/2006, 15:04:05"), author, text)
		t = t.Add(17 * time.Second)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return z.close()
}

// writeTeamsExport writes a Graph list response of messages chatMessages of one chat.
func writeTeamsExport(path string, messages int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	const chat = "19:bench0000000000000000000000000001@thread.v2"
	fmt.Fprintf(bw, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#chats('%s')/messages","value":[`, chat)
	t := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range messages {
		if i > 0 {
			bw.WriteByte(',')
		}
		user := fmt.Sprintf("8ea0e38b-efb3-4757-924a-%012d", i%benchUsers)
		fmt.Fprintf(bw, `{"id":"%d","messageType":"message","createdDateTime":"%s","chatId":"%s",`+
			`"from":{"user":{"id":"%s","displayName":"Person %d","userIdentityType":"aadUser"}},`+
			`"body":{"contentType":"html","content":"<p>Message %d about <b>the order book</b> &amp; more</p>"},"attachments":[],"mentions":[],"reactions":[]}`,
			1700000000000+i, t.Format("2006-01-02T15:04:05.000Z"), chat, user, i%benchUsers, i)
		t = t.Add(3 * time.Second)
	}
	bw.WriteString("]}\n")
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
