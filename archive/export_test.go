package archive

import (
	azip "archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/archive/transcript/export/exporttest"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
)

// dropExport writes an export with write into the watch and hands it to Intake.
func (h *harness) dropExport(rel string, write func(path string) error) {
	h.t.Helper()
	p := filepath.Join(h.root, filepath.FromSlash(rel))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := write(p); err != nil {
		h.t.Fatal(err)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat(rel)}); err != nil {
		h.t.Fatal(err)
	}
}

// awaitDone waits until the record of rel is posted or held.
func (h *harness) awaitDone(rel string) *journal.Record {
	h.t.Helper()
	var r *journal.Record
	await(h.t, rel+" posted or held", func() bool {
		r = h.record(rel)
		return r.State == journal.Posted || r.State == journal.Held
	})
	return r
}

// conversationOf names the conversation of a Slack fixture event by its text.
func conversationOf(ev globalrelay.Event) string {
	text := ""
	if ev.Content != nil {
		text = ev.Content.Message
	}
	return exporttest.SlackConversation(text)
}

func slackWriter(days int) func(string) error {
	return func(p string) error { return exporttest.WriteSlack(p, days) }
}

// A Slack export is read in place: every message once, in requests of one conversation
// each, its fetched file PUT by content, the ZIP never uploaded and its token nowhere; the
// same export under another name sends nothing; a later one with one more day sends only
// that day's messages.
func TestSlackExportArchivesEachMessageOnce(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour), func(po *Options, _ *sandbox.Options) { po.MaxEventsPerRequest = 4 })
	h.start(nil)
	h.dropExport("slack-2023-05.zip", slackWriter(2))
	r := h.awaitDone("slack-2023-05.zip")
	want := exporttest.SlackMessages(2)
	if r.State != journal.Posted || r.Events != want || r.EventsPosted != want || r.FileKey != "" ||
		!strings.Contains(r.Reason, r.SHA256) || r.SHA256 == "" {
		t.Fatalf("export record: %+v", r)
	}
	convs := h.conversations()
	events := 0
	for i, c := range convs {
		for _, ev := range c.Events {
			if conversationOf(ev) != conversationOf(c.Events[0]) {
				t.Errorf("request %d mixes conversations: %+v", i, c.Events)
			}
		}
		events += len(c.Events)
	}
	if events != want {
		t.Errorf("%d events archived, want %d", events, want)
	}
	files := h.sb.Files()
	if len(files) != 1 || !strings.HasSuffix(files[0].Key, "/report.pdf") || files[0].ContentType != "application/pdf" {
		t.Errorf("stored files %+v: want only report.pdf, sniffed", files)
	}
	h.assertNoToken()

	h.dropExport("copy of the export.zip", slackWriter(2))
	again := h.awaitDone("copy of the export.zip")
	if again.State != journal.Posted || again.EventsPosted != want || len(h.conversations()) != len(convs) {
		t.Fatalf("dropped again: %d requests (was %d), record %+v", len(h.conversations()), len(convs), again)
	}
	h.dropExport("slack-2023-05-later.zip", slackWriter(3))
	h.awaitDone("slack-2023-05-later.zip")
	later := h.conversations()[len(convs):]
	if len(later) != 1 || len(later[0].Events) != 2 || !strings.HasPrefix(later[0].Events[0].Content.Message, "Day 3") {
		t.Fatalf("later export sent %+v, want the 2 messages of day 3", later)
	}
	people, err := h.j.Unresolved()
	if err != nil || len(people) != 2 || people[0].ID != "U02" || people[1].ID != "U03" {
		t.Errorf("unresolved %+v, %v: want U02 and U03 (no directory here)", people, err)
	}
}

// assertNoToken checks the Slack fixture's token is in none of the archive's stored data
// and none of the journal's records and audit entries.
func (h *harness) assertNoToken() {
	h.t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(filepath.Dir(h.root), "sandbox"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(exporttest.Token)) {
				h.t.Errorf("the token reached the archive: %s", p)
			}
		}
		return nil
	})
	if n == 0 {
		h.t.Error("no stored file of the sandbox to look into")
	}
	for _, c := range h.sb.Conversations() {
		if bytes.Contains(c.Raw, []byte("xoxe")) {
			h.t.Errorf("a request carries the token: %s", c.Raw)
		}
	}
	h.j.Each(func(r *journal.Record) bool {
		trail, _ := h.j.Audit(r.ID)
		all := r.Reason + r.LastError
		for _, e := range trail {
			all += e.Detail
		}
		if strings.Contains(all, "xoxe") {
			h.t.Errorf("the token reached the journal: record %s", r)
		}
		return true
	})
}

// A broken ZIP is held naming it; a Slack export whose fetched files lack one is archived
// (the message links to the permalink) and then held naming the ZIP and the entry; a ZIP
// that is no export is archived like any other file. The lane keeps working throughout.
func TestBadExportsAreHeldWithTheZipAndEntry(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, 50*time.Millisecond))
	h.start(nil)
	h.dropExport("broken.zip", func(p string) error { return os.WriteFile(p, []byte("PK\x03\x04 cut off"), 0o644) })
	h.dropExport("missing.zip", func(p string) error { return writeSlackMissingUpload(p) })
	h.dropExport("photos.zip", func(p string) error { return writeZip(p, map[string][]byte{"a.txt": []byte("hello")}) })
	h.dropExport("good.zip", slackWriter(1))

	if r := h.awaitDone("good.zip"); r.State != journal.Posted {
		t.Errorf("good export next to bad ones: %s %s", r.State, r.Reason)
	}
	if r := h.awaitDone("broken.zip"); r.State != journal.Held || !strings.Contains(r.Reason, "broken.zip") || !strings.Contains(r.Reason, "ZIP") ||
		r.SHA256 != fmt.Sprintf("%x", sha256.Sum256([]byte("PK\x03\x04 cut off"))) {
		t.Errorf("broken ZIP: %s %q, sha256 %q", r.State, r.Reason, r.SHA256)
	}
	r := h.awaitDone("missing.zip")
	if r.State != journal.Held || !strings.Contains(r.Reason, "missing.zip") || !strings.Contains(r.Reason, "general/2023-05-24.json") ||
		!strings.Contains(r.Reason, "F09") || r.EventsPosted != 1 {
		t.Errorf("missing upload: %s %d events posted, %q", r.State, r.EventsPosted, r.Reason)
	}
	if _, err := os.Stat(filepath.Join(h.root, "missing.zip")); err != nil {
		t.Errorf("the held export must stay on disk: %v", err)
	}
	var linked bool
	for _, ev := range h.events() {
		for _, f := range ev.Files {
			linked = linked || f.FileHref == "https://acme.slack.com/files/U01/F09/gone.pdf"
		}
	}
	if !linked {
		t.Error("the message whose file is missing does not link to its permalink")
	}
	if r := h.awaitState(h.record("photos.zip").ID, journal.Posted); r.FileKey == "" || r.Role != journal.RoleAttachment {
		t.Errorf("a ZIP that is no export: %+v", r)
	}
}

func writeZip(p string, files map[string][]byte) error {
	var buf bytes.Buffer
	zw := azip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			return err
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(p, buf.Bytes(), 0o644)
}

// writeSlackMissingUpload is an export with fetched files (__uploads/) that lacks the one
// its only message references.
func writeSlackMissingUpload(p string) error {
	msg := `[{"type":"message","user":"U01","ts":"1684922460.000100","text":"the contract","files":[{"id":"F09","name":"gone.pdf",` +
		`"permalink":"https://acme.slack.com/files/U01/F09/gone.pdf","url_private":"https://files.slack.com/F09/gone.pdf?t=` + exporttest.Token + `"}]}]`
	return writeZip(p, map[string][]byte{
		"users.json":              []byte(`[{"id":"U01","team_id":"T01","name":"lisa","profile":{"real_name":"Lisa Holmes","email":"lisa@example.com"}}]`),
		"channels.json":           []byte(`[{"id":"C01","name":"general","members":["U01"]}]`),
		"general/2023-05-24.json": []byte(msg),
		"__uploads/F01/other.pdf": exporttest.Report,
	})
}

// A WhatsApp export without a time zone is held naming the timezone: key; with one, its
// messages and its photo are archived.
func TestWhatsAppExportNeedsItsTimezone(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour))
	h.start(nil)
	h.dropExport("WhatsApp Chat - Deal desk.zip", exporttest.WriteWhatsApp)
	r := h.awaitDone("WhatsApp Chat - Deal desk.zip")
	if r.State != journal.Held || !strings.Contains(r.Reason, "timezone:") {
		t.Fatalf("without timezone: %s %q", r.State, r.Reason)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	ws := h.po.Watches
	ws[0].Mode, ws[0].Location = ModeTranscripts, berlin
	h.p.SetWatches(ws)
	if _, err := h.j.ReleaseHeld("timezone set", time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	h.p.Wake()
	await(t, "the WhatsApp export archived", func() bool { return h.record("WhatsApp Chat - Deal desk.zip").State == journal.Posted })
	evs := h.events()
	if len(evs) != exporttest.WhatsAppMessages {
		t.Fatalf("%d events, want %d", len(evs), exporttest.WhatsAppMessages)
	}
	if want := time.Date(2023, 5, 24, 7, 15, 2, 0, time.UTC).UnixMilli(); evs[0].EventTime != want {
		t.Errorf("first message at %d, want %d (09:15:02 in Berlin)", evs[0].EventTime, want)
	}
	files := h.sb.Files()
	if len(files) != 1 || files[0].ContentType != "image/png" {
		t.Errorf("stored files %+v: want the photo, sniffed as PNG", files)
	}
}

// With the archive failing half the requests, an export still arrives whole and each
// message exactly once: only committed requests count as sent.
func TestExportUnderFaultsSendsEachMessageOnce(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour), func(po *Options, so *sandbox.Options) { po.MaxEventsPerRequest = 1 })
	h.start(nil)
	h.sb.SetFaults(sandbox.Faults{FailRate: 0.5}) // 15 requests or more: none failing is a chance of 1 in 30,000
	h.dropExport("slack.zip", slackWriter(2))
	await(t, "the export archived", func() bool { return h.record("slack.zip").State == journal.Posted })
	seen := map[int64]int{}
	for _, ev := range h.events() {
		seen[ev.EventTime]++
	}
	if len(seen) != exporttest.SlackMessages(2) {
		t.Errorf("%d distinct messages archived, want %d", len(seen), exporttest.SlackMessages(2))
	}
	for at, n := range seen {
		if n != 1 {
			t.Errorf("the message at %d was archived %d times", at, n)
		}
	}
	if st := h.sb.Stats(); st.FaultsInjected == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
}

// A loose Android chat text waits for the media beside it, then posts them with its
// messages: the photo's own record is posted as referenced by the chat, not as a loose file.
func TestLooseWhatsAppTextTakesTheMediaBesideIt(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour), berlinTime)
	h.start(nil)
	chat := "24/05/2023, 09:15 - Anna Weber: Hello\n24/05/2023, 09:16 - Anna Weber: IMG-20230524-WA0001.jpg (file attached)\nthe site\n"
	h.dropAll(map[string][]byte{"anna/WhatsApp Chat with Anna Weber.txt": []byte(chat), "anna/IMG-20230524-WA0001.jpg": png})
	tr := h.awaitDone("anna/WhatsApp Chat with Anna Weber.txt")
	img := h.awaitState(h.record("anna/IMG-20230524-WA0001.jpg").ID, journal.Posted)
	if tr.State != journal.Posted || img.ReferencedBy != tr.ID {
		t.Fatalf("chat %s %q; photo referenced by %d", tr.State, tr.Reason, img.ReferencedBy)
	}
	evs := h.events()
	if len(evs) != 2 || evs[1].EventType != "File_transfer" || evs[1].Files[0].FileKey != img.FileKey {
		t.Errorf("events %+v", evs)
	}
}

// An export deleted before the conv lane reads it vanishes; one rewritten since it settled is
// superseded and the watcher asked to look again: neither is left due, neither is uploaded.
func TestExportDeletedOrChangedBeforeItIsRead(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour))
	h.start(nil)
	for _, name := range []string{"gone.zip", "changed.zip"} {
		if err := exporttest.WriteSlack(filepath.Join(h.root, name), 1); err != nil {
			t.Fatal(err)
		}
	}
	gone, changed := h.stat("gone.zip"), h.stat("changed.zip")
	os.Remove(filepath.Join(h.root, "gone.zip"))
	if err := exporttest.WriteSlack(filepath.Join(h.root, "changed.zip"), 2); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{gone, changed}); err != nil {
		t.Fatal(err)
	}
	g := h.awaitState(h.record("gone.zip").ID, journal.Vanished)
	c := h.awaitState(h.record("changed.zip").ID, journal.Superseded)
	if len(g.Lanes) != 0 || len(c.Lanes) != 0 {
		t.Errorf("lanes left: gone %v, changed %v", g.Lanes, c.Lanes)
	}
	await(t, "the watcher asked to look at changed.zip again", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return slices.Contains(h.recheck, "teams:changed.zip")
	})
	if n := len(h.sb.Files()) + len(h.sb.Conversations()); n != 0 {
		t.Errorf("%d files or requests sent for exports that were never read", n)
	}
}

// Entries that climb out, symlink entries and a day file that is not a JSON array are each
// a reason naming the ZIP and the entry; the good day is archived all the same.
func TestUnsafeEntriesAreReasonsTheRestIsArchived(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour))
	h.start(nil)
	h.dropExport("hostile.zip", func(p string) error {
		var buf bytes.Buffer
		zw := azip.NewWriter(&buf)
		add := func(name string, mode fs.FileMode, data string) {
			hdr := &azip.FileHeader{Name: name, Method: azip.Deflate}
			if mode != 0 {
				hdr.SetMode(mode)
			}
			w, err := zw.CreateHeader(hdr)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(data))
		}
		add("users.json", 0, `[{"id":"U01","team_id":"T01","name":"lisa","profile":{"real_name":"Lisa Holmes","email":"lisa@example.com"}}]`)
		add("channels.json", 0, `[{"id":"C01","name":"general","members":["U01"]}]`)
		add("general/2023-05-24.json", 0, `[{"type":"message","user":"U01","ts":"1684922460.000100","text":"kept"}]`)
		add("general/2023-05-25.json", 0, `{"not": "an array"}`)
		add("../outside/2023-05-24.json", 0, `[]`)
		add("general/2023-05-26.json", fs.ModeSymlink|0o777, "/etc/passwd")
		if err := zw.Close(); err != nil {
			return err
		}
		return os.WriteFile(p, buf.Bytes(), 0o644)
	})
	r := h.awaitDone("hostile.zip")
	for _, want := range []string{"hostile.zip: general/2023-05-25.json", "hostile.zip: ../outside/2023-05-24.json", "hostile.zip: general/2023-05-26.json", "symbolic link"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason lacks %q: %s", want, r.Reason)
		}
	}
	if evs := h.events(); r.State != journal.Held || len(evs) != 1 || evs[0].Content.Message != "kept" {
		t.Errorf("state %s, events %+v: want held, the good day archived", r.State, evs)
	}
}

// While a loose chat text waits for its media, its trail says so once, not at every look.
func TestWaitingChatNotesItOnce(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour), berlinTime)
	h.start(nil)
	os.WriteFile(filepath.Join(h.root, "IMG-20230524-WA0001.jpg"), png, 0o644) // there, but not recorded yet
	h.dropAll(map[string][]byte{"WhatsApp Chat with Anna Weber.txt": []byte("24/05/2023, 09:16 - Anna Weber: IMG-20230524-WA0001.jpg (file attached)\n")})
	id := h.record("WhatsApp Chat with Anna Weber.txt").ID
	await(t, "the chat waiting", func() bool {
		return strings.HasPrefix(h.record("WhatsApp Chat with Anna Weber.txt").LastError, "waiting for attachments")
	})
	for look := 0; look < 2; look++ { // two more looks: each reschedules it
		before := h.record("WhatsApp Chat with Anna Weber.txt").Lanes[journal.LaneConv]
		await(t, "another look", func() bool {
			return h.record("WhatsApp Chat with Anna Weber.txt").Lanes[journal.LaneConv].After(before)
		})
	}
	trail, err := h.j.Audit(id)
	if err != nil {
		t.Fatal(err)
	}
	waits := 0
	for _, e := range trail {
		if e.Result == "waiting" {
			waits++
		}
	}
	if waits != 1 {
		t.Errorf("%d waiting entries, want 1: %+v", waits, trail)
	}
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("IMG-20230524-WA0001.jpg")}); err != nil {
		t.Fatal(err)
	}
	if r := h.awaitDone("WhatsApp Chat with Anna Weber.txt"); r.State != journal.Posted {
		t.Errorf("after the photo arrived: %s %q", r.State, r.Reason)
	}
}

// A Teams dump that is not JSON and a text named like a WhatsApp chat that is none are held,
// each with a reason naming the file.
func TestNotReallyExportsAreHeldNamingTheFile(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour), berlinTime)
	h.start(nil)
	h.dropAll(map[string][]byte{"q3.teams.json": []byte("Dear team, see below"), "WhatsApp Chat with Bob.txt": []byte("Dear Bob,\nsee you\n")})
	for name, want := range map[string]string{"q3.teams.json": "not JSON", "WhatsApp Chat with Bob.txt": "not a WhatsApp message line"} {
		r := h.awaitDone(name)
		if r.State != journal.Held || !strings.Contains(r.Reason, name) || !strings.Contains(r.Reason, want) {
			t.Errorf("%s: %s %q, want held naming it and %q", name, r.State, r.Reason, want)
		}
	}
	if n := len(h.sb.Files()) + len(h.sb.Conversations()); n != 0 {
		t.Errorf("%d files or requests sent", n)
	}
}

// An export is never uploaded, so it may be larger than the archive's file limit; a ZIP that
// is no export is held for its size, as any file.
func TestExportsAreNotBoundByTheFileLimit(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour), func(po *Options, _ *sandbox.Options) { po.MaxFileSize = 500 })
	h.start(nil)
	h.dropExport("slack.zip", slackWriter(1))
	noise := make([]byte, 2000) // does not compress: the ZIP is over the limit
	rand.Read(noise)
	h.dropExport("photos.zip", func(p string) error { return writeZip(p, map[string][]byte{"a.jpg": noise}) })
	if r := h.awaitDone("slack.zip"); r.State != journal.Posted || r.Size <= 500 {
		t.Errorf("export of %d bytes: %s %q", r.Size, r.State, r.Reason)
	}
	if r := h.awaitDone("photos.zip"); r.State != journal.Held || !strings.Contains(r.Reason, "limit") {
		t.Errorf("a ZIP that is no export, %d bytes: %s %q", r.Size, r.State, r.Reason)
	}
}

// A Slack export in a files watch is not uploaded as a file (its JSON carries the export's
// token): it is held saying where it belongs, and a retry holds it again; other ZIPs go up.
func TestSlackExportInAFilesWatchIsHeldNotUploaded(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	h.dropExport("workspace.zip", slackWriter(1))
	h.dropExport("other.zip", func(p string) error { return writeZip(p, map[string][]byte{"notes.txt": []byte("no Slack here")}) })
	r := h.awaitDone("workspace.zip")
	if r.State != journal.Held || !strings.Contains(r.Reason, "access token") || !strings.Contains(r.Reason, "mode: transcripts") {
		t.Fatalf("Slack export in a files watch: %s %q", r.State, r.Reason)
	}
	h.awaitState(h.record("other.zip").ID, journal.Posted)
	if ok, err := h.j.Release(r.ID, "operator", time.Now()); err != nil || !ok {
		t.Fatalf("release: %v %v", ok, err)
	}
	h.p.Wake()
	await(t, "held again after the retry", func() bool { return h.record("workspace.zip").State == journal.Held })
	for _, f := range h.sb.Files() {
		if strings.HasSuffix(f.Key, "/workspace.zip") {
			t.Fatalf("the export was uploaded: %s", f.Key)
		}
	}
	h.assertNoToken()
}

// berlinTime sets the watch's timezone: to Europe/Berlin, the zone of WhatsApp's local times.
func berlinTime(po *Options, _ *sandbox.Options) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err) // the Go distribution's zone database is missing
	}
	po.Watches[0].Location = loc
}
