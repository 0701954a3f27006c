package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/archive/transcript/export/exporttest"
)

// requests decodes every request the sandbox accepted after the first skip.
func (e *env) requests(skip int) []globalrelay.Conversation {
	e.t.Helper()
	var out []globalrelay.Conversation
	for _, c := range e.sb.Conversations()[skip:] {
		var conv globalrelay.Conversation
		if err := json.Unmarshal(c.Raw, &conv); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, conv)
	}
	return out
}

// writeExport writes an export beside the inbox and renames it in, so the watcher sees it
// complete.
func (e *env) writeExport(rel string, write func(string) error) {
	e.t.Helper()
	tmp := filepath.Join(e.dir, "tmp-"+filepath.Base(rel))
	if err := write(tmp); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(e.inbox, rel)); err != nil {
		e.t.Fatal(err)
	}
}

// findEvent is the first event whose text (or system text) contains s.
func findEvent(convs []globalrelay.Conversation, s string) (globalrelay.Event, bool) {
	for _, c := range convs {
		for _, ev := range c.Events {
			if (ev.Content != nil && strings.Contains(ev.Content.Message, s)) || strings.Contains(ev.SystemText, s) {
				return ev, true
			}
		}
	}
	return globalrelay.Event{}, false
}

// A Slack workspace export dropped as it is: every message once with its time, sender,
// recipients, text and files, no request mixing conversations, emails from the export or
// the identity directory (else the fallback, listed), a broken ZIP beside it held naming
// it; dropped again under another name nothing is sent; a later export with one more day
// sends that day only; the token reaches neither the archive, nor the log, nor the journal.
func TestE2ESlackExportDroppedAgainAndLater(t *testing.T) {
	e := newEnv(t, func(_ *sandbox.Options, v map[string]string) {
		v["extra"] = "    mode: transcripts\nidentities: people.csv\n"
	})
	os.WriteFile(filepath.Join(e.dir, "people.csv"), []byte("source,id,email,name\nslack,U02,jordan@example.com,Jordan Davies\n"), 0o644)
	d := e.start()
	e.write("broken.zip", []byte("PK\x03\x04 this ZIP was cut off"))
	e.writeExport("slack-export.zip", func(p string) error { return exporttest.WriteSlack(p, 2) })
	want := exporttest.SlackMessages(2)
	await(t, 30*time.Second, "the export archived", func() bool { return d.logCount("export archived") == 1 && e.eventCount() == want })
	await(t, 10*time.Second, "the broken ZIP held", func() bool { return d.logCount("file held") == 1 })
	first := e.requests(0)
	checkSlackRequests(t, first)
	checkSlackEvents(t, first)
	if !e.archived("report.pdf", exporttest.Report) {
		t.Error("report.pdf from __uploads not archived under its own key")
	}
	if out := e.cli("show", "teams:broken.zip"); !strings.Contains(out, "held") || !strings.Contains(out, "broken.zip") || !strings.Contains(out, "ZIP") {
		t.Errorf("broken ZIP record:\n%s", out)
	}
	if out := e.cli("identities", "unresolved", "--csv"); !strings.Contains(out, "slack,U03,,Sam Ortiz") || strings.Contains(out, "U02") {
		t.Errorf("unresolved participants:\n%s", out)
	}

	e.writeExport("copy of slack-export.zip", func(p string) error { return exporttest.WriteSlack(p, 2) })
	await(t, 30*time.Second, "the copy read", func() bool { return d.logCount("export archived") == 2 })
	if n := len(e.sb.Conversations()); n != len(first) {
		t.Fatalf("the same export under another name sent %d more requests", n-len(first))
	}
	e.writeExport("slack-export-later.zip", func(p string) error { return exporttest.WriteSlack(p, 3) })
	await(t, 30*time.Second, "the later export read", func() bool { return d.logCount("export archived") == 3 })
	later := e.requests(len(first))
	if len(later) != 1 || len(later[0].Events) != 2 || !strings.HasPrefix(later[0].Events[0].Content.Message, "Day 3") {
		t.Fatalf("the later export sent %+v, want the 2 messages of its new day", later)
	}
	report := e.cli("report")
	sum := fileSHA256(t, filepath.Join(e.inbox, "slack-export.zip"))
	if !strings.Contains(report, "slack-export.zip") || !strings.Contains(report, sum) {
		t.Errorf("the custody report does not name the export with its SHA-256 %s:\n%s", sum, report)
	}
	d.stop()
	e.checkJournal()
	assertNowhere(t, exporttest.Token, d.output(), filepath.Join(e.dir, "sandbox"), filepath.Dir(e.journal))
}

// checkSlackRequests checks no request mixes the fixture's conversations (told by their
// texts: "Private:" is #deals, "DM:" the DM, the rest #general).
func checkSlackRequests(t *testing.T, convs []globalrelay.Conversation) {
	t.Helper()
	of := func(ev globalrelay.Event) string {
		text := ev.SystemText
		if ev.Content != nil {
			text = ev.Content.Message
		}
		return exporttest.SlackConversation(text)
	}
	for i, c := range convs {
		for _, ev := range c.Events {
			if of(ev) != of(c.Events[0]) {
				t.Errorf("request %d mixes %s and %s", i, of(c.Events[0]), of(ev))
			}
		}
	}
}

// checkSlackEvents checks the mapping of the fixture's messages as archived.
func checkSlackEvents(t *testing.T, convs []globalrelay.Conversation) {
	t.Helper()
	must := func(s string) globalrelay.Event {
		ev, ok := findEvent(convs, s)
		if !ok {
			t.Errorf("no event with %q", s)
		}
		return ev
	}
	at := func(ev globalrelay.Event, min int) {
		if want := time.Date(2023, 5, 24, 10, min, 0, 0, time.UTC).UnixMilli(); ev.EventTime != want {
			t.Errorf("event %+v at %d, want %d", ev.Content, ev.EventTime, want)
		}
	}
	ev := must("Hello @Jordan Davies & @here, see #general and the plan (https://example.com/plan)")
	at(ev, 2)
	if ev.EventType != "Message" || !strings.Contains(ev.SystemText, "Edited") || ev.Participants[0].CorporateEmail != "lisa@example.com" {
		t.Errorf("edited message %+v", ev)
	}
	if ev := must("has joined the channel"); ev.EventType != "User_joined" || ev.Participants[0].CorporateEmail != "u03.slack@unresolved.invalid" {
		t.Errorf("join %+v", ev)
	}
	if ev := must("I will"); !strings.Contains(ev.SystemText, "Reply in the thread of Lisa Holmes") || ev.Participants[0].CorporateEmail != "jordan@example.com" {
		t.Errorf("thread reply %+v (Jordan's email comes from the identity directory)", ev)
	}
	if ev := must("Deployed v1.2"); ev.Participants[0].DisplayName != "deploybot" {
		t.Errorf("bot message %+v", ev)
	}
	if ev := must("The report"); ev.EventType != "File_transfer" || len(ev.Files) != 1 || !strings.HasSuffix(ev.Files[0].FileKey, "/report.pdf") {
		t.Errorf("file in the export %+v", ev)
	}
	if ev := must("The diagram"); len(ev.Files) != 1 || ev.Files[0].FileHref != "https://acme.slack.com/files/U02/F02/diagram.png" ||
		!strings.Contains(ev.SystemText, "the export did not contain it") {
		t.Errorf("file outside the export %+v", ev)
	}
	if ev := must("DM: lunch?"); len(ev.Participants) != 2 || ev.Participants[1].UserType != "recipient" || ev.Participants[1].DisplayName != "Sam Ortiz" {
		t.Errorf("DM %+v", ev)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// assertNowhere fails if secret is in logs or in any file under dirs.
func assertNowhere(t *testing.T, secret, logs string, dirs ...string) {
	t.Helper()
	if strings.Contains(logs, secret) {
		t.Error("the secret is in the daemon's log")
	}
	for _, dir := range dirs {
		n := 0
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			n++
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(secret)) {
				t.Errorf("the secret is in %s", filepath.Base(p))
			}
			return nil
		})
		if n == 0 {
			t.Errorf("no file under %s to look into", filepath.Base(dir))
		}
	}
}

// A WhatsApp export ZIP and a Teams dump through the real binary: the chat's local times
// in the watch's zone, its photo stored by content; the Teams messages with their people
// (the directory names one); each dropped twice, sent once.
func TestE2EWhatsAppAndTeamsExports(t *testing.T) {
	e := newEnv(t, func(_ *sandbox.Options, v map[string]string) {
		v["extra"] = "    mode: transcripts\n    timezone: Europe/Berlin\nidentities: people.csv\n"
	})
	os.WriteFile(filepath.Join(e.dir, "people.csv"), []byte("source,id,email,name\n"+
		"whatsapp,+4915112345678,anna@example.com,Anna Weber\nteams,8ea0e38b-efb3-4757-924a-5f94061cf8c2,robin@example.com,Robin Kline\n"), 0o644)
	teamsDump, err := os.ReadFile(filepath.Join("..", "..", "archive", "transcript", "teams", "testdata", "chat.teams.json"))
	if err != nil {
		t.Fatal(err)
	}
	channelDump, err := os.ReadFile(filepath.Join("..", "..", "archive", "transcript", "teams", "testdata", "channel.teams.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := e.start()
	e.writeExport("WhatsApp Chat - Deal desk.zip", exporttest.WriteWhatsApp)
	e.write("desk.teams.json", teamsDump)
	e.write("channel.teams.json", channelDump)
	await(t, 30*time.Second, "the three exports archived", func() bool { return d.logCount("export archived") == 3 })
	n, events := len(e.sb.Conversations()), e.eventCount()
	convs := e.requests(0)
	ev, ok := findEvent(convs, "Hello from the deal desk")
	if want := time.Date(2023, 5, 24, 7, 15, 2, 0, time.UTC).UnixMilli(); !ok || ev.EventTime != want {
		t.Errorf("WhatsApp message %+v: want it at %d (09:15:02 in Berlin)", ev, want)
	}
	if ev, ok := findEvent(convs, "Hi Lisa\nsecond line"); !ok || ev.Participants[0].CorporateEmail != "anna@example.com" {
		t.Errorf("the phone-number author's continued message %+v: want the directory's address", ev)
	}
	if !e.archived("00000012-PHOTO-2023-05-24-09-17-00.jpg", exporttest.PNG) {
		t.Error("the WhatsApp photo is not archived under its own key and referenced")
	}
	robin, invited := false, false
	for _, c := range convs {
		for _, ev := range c.Events {
			robin = robin || ev.Participants[0].CorporateEmail == "robin@example.com"
			invited = invited || ev.EventType == "Invitation" && len(ev.Participants) > 1 && ev.Participants[1].UserType == "affectedUser"
		}
	}
	if !robin || !invited {
		t.Errorf("Teams events: one from Robin Kline with the directory's address %v, an Invitation with its added members %v", robin, invited)
	}
	e.writeExport("WhatsApp Chat - Deal desk (2).zip", exporttest.WriteWhatsApp)
	e.write("desk-again.teams.json", teamsDump)
	await(t, 30*time.Second, "both copies read", func() bool { return d.logCount("export archived") == 5 })
	if len(e.sb.Conversations()) != n || e.eventCount() != events {
		t.Errorf("copies sent %d more requests", len(e.sb.Conversations())-n)
	}
	d.stop()
	e.checkJournal()
}

// Killed (SIGKILL) while an export is being posted, restarted: every message is archived, and
// at most the one request whose commit the kill interrupted is sent twice.
func TestE2ESlackExportSurvivesAKill(t *testing.T) {
	e := newEnv(t, func(_ *sandbox.Options, v map[string]string) { v["extra"] = "    mode: transcripts\n" })
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("  conversation_type: "+e2eType+"\n"), []byte("  conversation_type: "+e2eType+"\n  max_events_per_request: 2\n"), 1)
	if err := os.WriteFile(e.config, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	e.sb.SetFaults(sandbox.Faults{SlowRate: 1, Slow: 100 * time.Millisecond})
	d := e.start()
	e.writeExport("slack-export.zip", func(p string) error { return exporttest.WriteSlack(p, 2) })
	await(t, 30*time.Second, "the first requests accepted", func() bool { return len(e.sb.Conversations()) >= 2 })
	if d.logCount("export archived") != 0 {
		t.Fatal("the export was done before the kill: the test proves nothing")
	}
	d.kill()
	e.sb.SetFaults(sandbox.Faults{})
	d = e.start()
	await(t, 30*time.Second, "the export archived after the restart", func() bool { return d.logCount("export archived") == 1 })
	d.stop()
	seen, twice := map[string]int{}, 0
	for _, c := range e.requests(0) {
		for _, ev := range c.Events {
			id := fmt.Sprintf("%d %s", ev.EventTime, ev.SystemText)
			if seen[id]++; seen[id] == 2 {
				twice++
			}
		}
	}
	if want := exporttest.SlackMessages(2); len(seen) != want || twice > 2 {
		t.Errorf("%d distinct messages (want %d), %d sent twice (at most one request of 2)", len(seen), want, twice)
	}
}

// A WhatsApp export in a watch without timezone: is held, its record naming the key; once the
// key is set and the configuration reloaded (SIGHUP), it is archived.
func TestE2EWhatsAppHeldUntilTheWatchHasATimezone(t *testing.T) {
	e := newEnv(t, func(_ *sandbox.Options, v map[string]string) { v["extra"] = "    mode: transcripts\n" })
	d := e.start()
	e.writeExport("WhatsApp Chat - Deal desk.zip", exporttest.WriteWhatsApp)
	await(t, 30*time.Second, "the chat held", func() bool { return d.logCount("file held") == 1 })
	if out := e.cli("show", "teams:WhatsApp Chat - Deal desk.zip"); !strings.Contains(out, "held") || !strings.Contains(out, "timezone:") {
		t.Fatalf("held chat's record does not name timezone:\n%s", out)
	}
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("    mode: transcripts\n"), []byte("    mode: transcripts\n    timezone: Europe/Berlin\n"), 1)
	if err := os.WriteFile(e.config, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	await(t, 30*time.Second, "the chat archived after the reload", func() bool { return d.logCount("export archived") == 1 })
	if n := e.eventCount(); n != exporttest.WhatsAppMessages {
		t.Errorf("%d events, want %d", n, exporttest.WhatsAppMessages)
	}
	d.stop()
}
