package archive

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archivist-project/archivist/archive/globalrelay"
	"github.com/archivist-project/archivist/archive/sandbox"
	"github.com/archivist-project/archivist/journal"
	"github.com/archivist-project/archivist/watcher"
)

func transcriptsMode(wait, unreferenced time.Duration) harnessOpt {
	return func(po *Options, _ *sandbox.Options) {
		po.Watches[0].Mode = ModeTranscripts
		po.Watches[0].AttachmentWait = wait
		po.Watches[0].UnreferencedAfter = unreferenced
	}
}

const exampleTranscript = `{"version":1,
 "conversation":{"id":"c-1","title":"Q3 review","createdAt":"2023-05-24T10:00:00Z"},
 "participants":[{"id":"jordan","displayName":"Jordan Davies","email":"jordan.davies@greenvaultcapital.com"},
                 {"id":"lisa","displayName":"Lisa Holmes","email":"lisa.holmes@greenvaultcapital.com"}],
 "events":[
  {"id":"m1","time":"2023-05-24T10:05:18Z","type":"message","from":"jordan","text":"see attached"},
  {"id":"f1","time":"2023-05-24T10:05:20Z","type":"file","from":"jordan","to":["lisa"],
   "files":[{"path":"attachments/Q3-report-2023.pdf"}],"text":"take a look","systemText":"User shared a file."},
  {"id":"f2","time":"2023-05-24T10:06:00Z","type":"file","from":"lisa",
   "files":[{"href":"https://files.example.com/big.zip","name":"big.zip"}]}%s]}`

// dropAll writes files and hands them to Intake together, as one settled batch.
func (h *harness) dropAll(files map[string][]byte) {
	h.t.Helper()
	var settled []watcher.File
	for rel, content := range files {
		p := filepath.Join(h.root, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			h.t.Fatal(err)
		}
		settled = append(settled, h.stat(rel))
	}
	if err := h.p.Intake(h.ctx, settled); err != nil {
		h.t.Fatal(err)
	}
}

// conversations decodes every accepted request.
func (h *harness) conversations() []globalrelay.Conversation {
	var out []globalrelay.Conversation
	for _, c := range h.sb.Conversations() {
		var conv globalrelay.Conversation
		if err := json.Unmarshal(c.Raw, &conv); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, conv)
	}
	return out
}

func TestTranscriptBecomesAConversation(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour))
	h.start(nil)
	imageEvent := `,
  {"id":"f3","time":"2023-05-24T10:07:00Z","type":"file","from":"lisa","files":[{"path":"attachments/chart.png"}]}`
	// The transcript settles before its attachments: it must wait for them.
	h.dropAll(map[string][]byte{"exports/c1/c1.transcript.json": []byte(fmt.Sprintf(exampleTranscript, imageEvent))})
	h.dropAll(map[string][]byte{"exports/c1/attachments/Q3-report-2023.pdf": pdf, "exports/c1/attachments/chart.png": png})

	tr := h.awaitState(h.record("exports/c1/c1.transcript.json").ID, journal.Posted)
	pdfRec := h.awaitState(h.record("exports/c1/attachments/Q3-report-2023.pdf").ID, journal.Posted)
	pngRec := h.awaitState(h.record("exports/c1/attachments/chart.png").ID, journal.Posted)
	if tr.EventsPosted != 4 || tr.Conversation != "c-1" {
		t.Errorf("transcript record: %d events posted, conversation %q", tr.EventsPosted, tr.Conversation)
	}
	if pdfRec.ReferencedBy != tr.ID {
		t.Errorf("attachment not linked to its transcript: %+v", pdfRec)
	}
	convs := h.conversations()
	if len(convs) != 1 {
		t.Fatalf("%d requests, want 1", len(convs))
	}
	c := convs[0]
	if c.Overview.ConversationType != testType || c.Overview.CreatedAt != time.Date(2023, 5, 24, 10, 0, 0, 0, time.UTC).UnixMilli() ||
		len(c.Overview.InitialParticipants) != 2 || c.Overview.InitiatorEmail != "jordan.davies@greenvaultcapital.com" {
		t.Errorf("overview %+v", c.Overview)
	}
	if len(c.Events) != 4 {
		t.Fatalf("%d events, want 4", len(c.Events))
	}
	m1, f1, f2, f3 := c.Events[0], c.Events[1], c.Events[2], c.Events[3]
	if m1.EventType != "Message" || m1.Content == nil || m1.Content.Message != "see attached" ||
		m1.EventTime != time.Date(2023, 5, 24, 10, 5, 18, 0, time.UTC).UnixMilli() ||
		len(m1.Participants) != 1 || m1.Participants[0].UserType != "initiator" || m1.Participants[0].DisplayName != "Jordan Davies" {
		t.Errorf("message event %+v", m1)
	}
	if f1.EventType != "File_transfer" || f1.SystemText != "User shared a file." || f1.Content == nil || f1.Content.Message != "take a look" ||
		len(f1.Participants) != 2 || f1.Participants[1].UserType != "recipient" || f1.Participants[1].CorporateEmail != "lisa.holmes@greenvaultcapital.com" ||
		len(f1.Files) != 1 || f1.Files[0].FileKey != pdfRec.FileKey || f1.Files[0].Filename != "Q3-report-2023.pdf" || f1.Files[0].IsInlined {
		t.Errorf("file event %+v", f1)
	}
	if len(f2.Files) != 1 || f2.Files[0].FileHref != "https://files.example.com/big.zip" || f2.Files[0].Filename != "big.zip" ||
		!strings.HasPrefix(f2.Files[0].FileKey, "default/teams/external/") || len(f2.Participants) != 1 {
		t.Errorf("href event %+v", f2)
	}
	if len(f3.Files) != 1 || !f3.Files[0].IsInlined || f3.Files[0].FileKey != pngRec.FileKey {
		t.Errorf("image event %+v", f3)
	}

	// The same transcript again (touched): nothing new is sent.
	later := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(h.root, "exports/c1/c1.transcript.json"), later, later)
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("exports/c1/c1.transcript.json")}); err != nil {
		t.Fatal(err)
	}
	again := h.awaitState(h.record("exports/c1/c1.transcript.json").ID, journal.Posted)
	if again.ID == tr.ID || !strings.Contains(again.Reason, "nothing new") {
		t.Fatalf("dropped again: %+v", again)
	}

	// Re-exported with one more event: only that event is sent.
	more := `,
  {"id":"f3","time":"2023-05-24T10:07:00Z","type":"file","from":"lisa","files":[{"path":"attachments/chart.png"}]},
  {"id":"m2","time":"2023-05-24T10:08:00Z","type":"message","from":"lisa","text":"thanks"}`
	h.dropAll(map[string][]byte{"exports/c1/c1.transcript.json": []byte(fmt.Sprintf(exampleTranscript, more))})
	h.awaitState(h.record("exports/c1/c1.transcript.json").ID, journal.Posted)
	convs = h.conversations()
	if len(convs) != 2 || len(convs[1].Events) != 1 || convs[1].Events[0].Content.Message != "thanks" {
		t.Fatalf("re-export sent %d requests, last %+v", len(convs), convs[len(convs)-1].Events)
	}
}

func TestTranscriptChunksAreCommittedOnce(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, time.Hour), func(po *Options, _ *sandbox.Options) { po.MaxEventsPerRequest = 2 })
	h.start(nil)
	var events []string
	for i := range 5 {
		events = append(events, fmt.Sprintf(`{"id":"m%d","time":%d,"type":"message","from":"a","text":"msg %d"}`, i, 1700000000000+int64(i)*1000, i))
	}
	tr := fmt.Sprintf(`{"version":1,"conversation":{"id":"big"},"participants":[{"id":"a","displayName":"A"}],"events":[%s]}`, strings.Join(events, ","))
	h.dropAll(map[string][]byte{"big.transcript.json": []byte(tr)})
	r := h.awaitState(h.record("big.transcript.json").ID, journal.Posted)
	convs := h.conversations()
	if len(convs) != 3 || len(convs[0].Events) != 2 || len(convs[2].Events) != 1 {
		t.Fatalf("%d requests for 5 events at 2 per request", len(convs))
	}
	state, _ := h.j.Conversation("teams", "big")
	if len(state.Posted) != 5 || len(state.Requests) != 3 {
		t.Fatalf("journal conversation %+v", state)
	}
	if r.EventsPosted != 5 {
		t.Fatalf("events posted %d", r.EventsPosted)
	}
}

func TestBadTranscriptsAreHeldWithFileAndPath(t *testing.T) {
	h := newHarness(t, transcriptsMode(300*time.Millisecond, time.Hour))
	h.start(nil)
	outside := filepath.Join(t.TempDir(), "secret.pdf")
	os.WriteFile(outside, []byte("%PDF secret outside the watch"), 0o644)
	os.MkdirAll(filepath.Join(h.root, "x"), 0o755)
	os.Symlink(outside, filepath.Join(h.root, "x/linked.pdf"))
	if err := h.p.Intake(h.ctx, []watcher.File{h.stat("x/linked.pdf")}); err != nil {
		t.Fatal(err)
	}
	one := func(file string) string {
		return fmt.Sprintf(`{"version":1,"conversation":{"id":"c"},"participants":[{"id":"a","displayName":"A"}],
		"events":[{"id":"e","time":"2023-05-24T10:05:18Z","type":"file","from":"a","files":[{"path":%q}]}]}`, file)
	}
	h.dropAll(map[string][]byte{
		"x/climb.transcript.json":   []byte(one("../../etc/passwd")),
		"x/link.transcript.json":    []byte(one("linked.pdf")),
		"x/missing.transcript.json": []byte(one("nope.pdf")),
		"x/broken.transcript.json":  []byte(`{"version":1,"conversation":`),
		"x/who.transcript.json":     []byte(strings.Replace(one("nope.pdf"), `"from":"a"`, `"from":"stranger"`, 1)),
	})
	want := map[string][]string{
		"x/climb.transcript.json":   {"x/climb.transcript.json", "$.events[0].files[0].path", "climbs out"},
		"x/link.transcript.json":    {"x/link.transcript.json", "$.events[0].files[0]", "symbolic link"},
		"x/missing.transcript.json": {"x/missing.transcript.json", "missing: x/nope.pdf ($.events[0].files[0])"},
		"x/broken.transcript.json":  {"x/broken.transcript.json"},
		"x/who.transcript.json":     {"x/who.transcript.json", "$.events[0].from", "stranger"},
	}
	for rel, parts := range want {
		r := h.awaitState(h.record(rel).ID, journal.Held)
		for _, part := range parts {
			if !strings.Contains(r.Reason, part) {
				t.Errorf("%s: reason %q does not contain %q", rel, r.Reason, part)
			}
		}
	}
	for _, f := range h.sb.Files() {
		b, _ := os.ReadFile(h.sb.FilePath(f.Key))
		if strings.Contains(string(b), "secret outside") {
			t.Fatal("a file outside the watch left the machine")
		}
	}
	if h.sb.Stats().Posts != 0 {
		t.Fatal("events of a held transcript were posted")
	}
}

func TestUnreferencedFileIsArchivedAsLooseFile(t *testing.T) {
	h := newHarness(t, transcriptsMode(time.Minute, 150*time.Millisecond))
	h.start(nil)
	h.drop("stray/orphan.pdf", pdf)
	r := h.awaitState(h.record("stray/orphan.pdf").ID, journal.Posted)
	if !strings.Contains(r.Reason, "no transcript referenced it") {
		t.Fatalf("reason %q", r.Reason)
	}
	evs := h.events()
	if len(evs) != 1 || evs[0].Files[0].FileKey != r.FileKey {
		t.Fatalf("loose events %+v", evs)
	}
}
