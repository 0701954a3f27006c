package archive

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
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
	switch {
	case strings.HasPrefix(text, "Private:"):
		return "deals"
	case strings.HasPrefix(text, "DM:"):
		return "dm"
	}
	return "general"
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
	filepath.WalkDir(h.sb.FilePath(""), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(exporttest.Token)) {
				h.t.Errorf("the token reached the archive: %s", p)
			}
		}
		return nil
	})
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
